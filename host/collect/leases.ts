// Checkpoints in a container of the storage account (`--state-container`), for several
// collectors sharing the blobs: one empty checkpoint blob per source blob, the checkpoint in its
// metadata, and the storage service's blob lease as the lock. A collector reads a blob only
// while it holds the lease on that blob's checkpoint and renews it while it works; when a
// collector dies its leases expire and another one continues from the checkpoint.
import { createHash } from "node:crypto";
import { RestError, type ContainerClient } from "@azure/storage-blob";
import type { SourceBlob } from "./azure.js";
import { blobKey, type Checkpoint, type CheckpointStore, type Claim } from "./checkpoints.js";

/** The shortest lease the service grants: a dead collector's blobs wait at most this long. */
export const LEASE_SECONDS = 15;
const RENEW_MS = 5_000;

export class LeasedCheckpoints implements CheckpointStore {
  readonly savesAreDurable = true;
  private snapshot = new Map<string, Checkpoint>();
  /** Checkpoint blob name → its source blob's key, as of the last refresh. */
  private sources = new Map<string, string>();
  private created = false;

  constructor(private readonly container: ContainerClient) {}

  async refresh(): Promise<void> {
    if (!this.created) {
      // Asked first, created only when missing: an identity given a role on this container alone
      // (Storage Blob Data Contributor) may read it but not create containers.
      if (!(await this.container.exists())) await this.container.createIfNotExists();
      this.created = true;
    }
    const snapshot = new Map<string, Checkpoint>();
    const sources = new Map<string, string>();
    for await (const item of this.container.listBlobsFlat({ includeMetadata: true })) {
      const checkpoint = fromMetadata(item.metadata);
      if (checkpoint) snapshot.set(item.name, checkpoint);
      if (item.metadata?.source) sources.set(item.name, decodeURIComponent(item.metadata.source));
    }
    this.snapshot = snapshot;
    this.sources = sources;
  }

  known(blob: SourceBlob): Checkpoint | undefined {
    return this.snapshot.get(checkpointName(blob.container, blob.name));
  }

  async claim(blob: SourceBlob): Promise<Claim | undefined> {
    const client = this.container.getBlockBlobClient(checkpointName(blob.container, blob.name));
    const source = encodeURIComponent(blobKey(blob.container, blob.name));
    try {
      // The checkpoint blob must exist to be leased; whoever creates it first wins.
      await client.upload("", 0, { metadata: { source }, conditions: { ifNoneMatch: "*" } });
    } catch (err) {
      if (!(err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412))) throw err;
    }
    const lease = client.getBlobLeaseClient();
    try {
      await lease.acquireLease(LEASE_SECONDS);
    } catch (err) {
      // Held by another collector (409), or pruned meanwhile (404): not ours this pass.
      if (err instanceof RestError && (err.statusCode === 409 || err.statusCode === 404)) return undefined;
      throw err;
    }
    const conditions = { leaseId: lease.leaseId };
    let checkpoint: Checkpoint | undefined;
    try {
      checkpoint = fromMetadata((await client.getProperties({ conditions })).metadata);
    } catch (err) {
      await lease.releaseLease().catch(() => undefined);
      throw err;
    }
    let renewal: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      // A renewal that fails (lease lost after a long stall) makes the next save fail: the
      // checkpoint then stays where it was, and what was read since may be read again.
      renewal = lease.renewLease().catch(() => undefined);
    }, RENEW_MS);
    timer.unref();
    return {
      checkpoint,
      save: async (next) => {
        await client.setMetadata({ ...toMetadata(next), source }, { conditions });
      },
      release: async () => {
        clearInterval(timer);
        await renewal;
        // A lease that cannot be released (network down) simply expires.
        await lease.releaseLease().catch(() => undefined);
      },
    };
  }

  async commit(): Promise<void> {}

  async prune(inScope: (container: string, name: string) => boolean, live: Set<string>): Promise<void> {
    for (const [name, source] of this.sources) {
      const slash = source.indexOf("/");
      if (!inScope(source.slice(0, slash), source.slice(slash + 1)) || live.has(source)) continue;
      // A leased checkpoint is being used: the delete fails and it waits for the next pass.
      await this.container.deleteBlob(name).catch(() => undefined);
    }
  }

  async close(): Promise<void> {}
}

/** The checkpoint blob of a source blob: its container and name, readable; hashed only when
 * that would exceed the service's 1,024-character limit. */
export function checkpointName(container: string, name: string): string {
  const key = blobKey(container, name);
  if (key.length <= 1000) return key;
  return `${container}/sha256-${createHash("sha256").update(name).digest("hex")}`;
}

// Metadata values must be ASCII: `source` (the source blob's container/name, any Unicode) is
// percent-encoded; it is what pruning compares with the listing.
function toMetadata(c: Checkpoint): Record<string, string> {
  const m: Record<string, string> = { offset: String(c.offset) };
  if (c.created) m.created = c.created;
  if (c.etag) m.etag = c.etag;
  if (c.tail) m.tail = c.tail;
  if (c.closed) m.closed = "1";
  return m;
}

function fromMetadata(m: Record<string, string> | undefined): Checkpoint | undefined {
  if (!m || m.offset === undefined || !/^[0-9]+$/.test(m.offset)) return undefined;
  return {
    offset: Number(m.offset),
    created: m.created || undefined,
    etag: m.etag || undefined,
    tail: m.tail || undefined,
    closed: m.closed === "1",
  };
}
