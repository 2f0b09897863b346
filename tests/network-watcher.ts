// A stand-in for Network Watcher, writing PT1H.json block blobs as it does: at the real paths,
// a head block `{"records":[`, one block per record (each after the first starting with a
// comma), a tail block `]}`, and the block list committed again after each new block, with the
// new block just before the tail, so that the blob is valid JSON after every commit.
import type { BlobServiceClient, BlockBlobClient } from "@azure/storage-blob";
import { nsgRecordJson, nsgTuple, vnetRecordJson, vnetTuple } from "./blob-builder.js";

export const NSG_CONTAINER = "insights-logs-networksecuritygroupflowevent";
export const VNET_CONTAINER = "insights-logs-flowlogflowevent";
const SUBSCRIPTION = "8F6C2A1E-3B4D-4E5F-9A0B-1C2D3E4F5A6B";

const HEAD = '{"records":[';
const TAIL = "]}";

/** Distinct tuples across every blob of a test run (each tuple is one expected event). */
let nextTuple = 1;

export interface BlobPlace {
  kind: "nsg" | "vnet";
  /** The hour the blob holds (its path; whole hours, UTC). */
  hour: Date;
  /** NSG name or VNet flow-log name. */
  resource: string;
  mac: string;
}

export function blobPath(place: BlobPlace): { container: string; name: string } {
  const h = place.hour;
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `y=${h.getUTCFullYear()}/m=${two(h.getUTCMonth() + 1)}/d=${two(h.getUTCDate())}/h=${two(h.getUTCHours())}/m=00`;
  if (place.kind === "nsg") {
    return {
      container: NSG_CONTAINER,
      name: `resourceId=/SUBSCRIPTIONS/${SUBSCRIPTION}/RESOURCEGROUPS/RG-FLOWS/PROVIDERS/MICROSOFT.NETWORK/` +
        `NETWORKSECURITYGROUPS/${place.resource}/${time}/macAddress=${place.mac}/PT1H.json`,
    };
  }
  return {
    container: VNET_CONTAINER,
    name: `flowLogResourceID=/SUBSCRIPTIONS/${SUBSCRIPTION}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/` +
      `MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/${place.resource}/${time}/` +
      `macAddress=${place.mac}/PT1H.json`,
  };
}

export class NetworkWatcher {
  private readonly containers = new Map<string, Promise<unknown>>();

  constructor(private readonly service: BlobServiceClient) {}

  async blob(place: BlobPlace): Promise<FlowLogBlob> {
    const { container, name } = blobPath(place);
    const containerClient = this.service.getContainerClient(container);
    if (!this.containers.has(container)) this.containers.set(container, containerClient.createIfNotExists());
    await this.containers.get(container);
    const blob = new FlowLogBlob(place, container, name, containerClient.getBlockBlobClient(name));
    await blob.begin();
    return blob;
  }
}

export class FlowLogBlob {
  /** Committed record blocks, in order (ids). */
  private blocks: string[] = [];
  private blockCount = 0;
  private minute = 0;
  /** The rest of a record whose first part is committed alone. */
  private pendingRest?: string;

  constructor(readonly place: BlobPlace, readonly container: string, readonly name: string,
    private readonly client: BlockBlobClient) {}

  /** A new blob: head and tail only (an hour with no flows yet). */
  async begin(): Promise<void> {
    this.blocks = [];
    this.minute = 0;
    await this.client.stageBlock(this.id("head"), HEAD, HEAD.length);
    await this.client.stageBlock(this.id("tail"), TAIL, TAIL.length);
    await this.commit();
  }

  /** One minute of flows: a record with `tuples` tuples, as one block. */
  async addRecord(tuples = 3): Promise<void> {
    await this.addBlock(this.nextRecordText(tuples));
  }

  /** A record whose block is cut at `at` bytes (or where `at` says, given the block's text):
   * the first part is committed now, the rest by completeRecord(). Between the two commits
   * the blob is not valid JSON. */
  async addPartialRecord(at: number | ((text: string) => number), tuples = 3): Promise<void> {
    const text = this.nextRecordText(tuples);
    const cut = typeof at === "number" ? at : at(text);
    this.pendingRest = text.slice(cut);
    await this.addBlock(text.slice(0, cut));
  }

  async completeRecord(): Promise<void> {
    const rest = this.pendingRest!;
    this.pendingRest = undefined;
    await this.addBlock(rest);
  }

  /** Deleted and written anew under the same name (Network Watcher restarting an hour). */
  async recreate(): Promise<void> {
    await this.delete();
    await this.begin();
  }

  /** Gone, as retention deletes old hours. */
  async delete(): Promise<void> {
    await this.client.delete();
  }

  async text(): Promise<Buffer> {
    return this.client.downloadToBuffer();
  }

  private nextRecordText(tuples: number): string {
    const minute = this.minute++;
    const time = new Date(this.place.hour.getTime() + (minute % 60) * 60_000 + 123).toISOString().replace("Z", "4567Z");
    const ids = Array.from({ length: tuples }, () => nextTuple++);
    const record = this.place.kind === "nsg"
      ? nsgRecordJson({
        time, macAddress: this.place.mac, version: 2,
        resourceId: `/SUBSCRIPTIONS/${SUBSCRIPTION}/RESOURCEGROUPS/RG-FLOWS/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${this.place.resource}`,
        rules: [{ rule: "UserRule_allow-https", flows: [{ mac: this.place.mac, flowTuples: ids.map((n) => nsgTuple(n, true, n % 7 === 0)) }] }],
      })
      : vnetRecordJson({
        time, flowLogGUID: "3c1f6d2a-6a6a-4b4b-8c8c-9d9d9d9d9d9d", macAddress: this.place.mac,
        flowLogResourceID: `/SUBSCRIPTIONS/${SUBSCRIPTION}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/${this.place.resource}`,
        targetResourceID: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-flows/providers/Microsoft.Network/virtualNetworks/vnet-1`,
        acls: [{ aclID: "00000000-1234-abcd-ef00-c1c2c3c4c5c6", flowGroups: [{ rule: "DefaultRule_AllowInternetOutBound", flowTuples: ids.map((n) => vnetTuple(n, n % 7 === 0)) }] }],
      });
    return (this.blocks.length === 0 ? "" : ",") + JSON.stringify(record);
  }

  private async addBlock(text: string): Promise<void> {
    const id = this.id(`r${this.blockCount++}`);
    await this.client.stageBlock(id, text, Buffer.byteLength(text));
    this.blocks.push(id);
    await this.commit();
  }

  private commit(): Promise<unknown> {
    return this.client.commitBlockList([this.id("head"), ...this.blocks, this.id("tail")]);
  }

  /** Block ids of one blob must all have the same length. */
  private id(name: string): string {
    return Buffer.from(name.padEnd(16, ".")).toString("base64");
  }
}
