// Several collectors sharing one storage account through leased checkpoints
// (--state-container): three instances, Network Watcher writing meanwhile, one instance killed
// with -9 midway. The union of their outputs, collapsed by event.id, must be every tuple once.
import { BlobServiceClient } from "@azure/storage-blob";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Azurite } from "./azurite.js";
import { NetworkWatcher } from "./network-watcher.js";
import { completeLines, expectedLines, killLeftovers, startCollect, until } from "./collect-helpers.js";
import { threeCollectorsShareTheWork } from "./collect-scenarios.js";

let azurite: Azurite;
let dir: string;
/** Set when a test failed: its outputs stay for a look. */

beforeAll(async () => {
  azurite = await Azurite.start();
  dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-leases-"));
});

afterAll(async () => {
  killLeftovers();
  await azurite.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("three collectors, Network Watcher writing, one killed with -9: every tuple once by event.id", async () => {
  const watcher = new NetworkWatcher(BlobServiceClient.fromConnectionString(azurite.connectionString));
  await threeCollectorsShareTheWork(watcher, ["--connection-string", azurite.connectionString], dir);
}, 300_000);

test("a blob leased by a collector that died waits for the lease to expire, then another continues from its checkpoint", async () => {
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const watcher = new NetworkWatcher(service);
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
  const blob = await watcher.blob({ kind: "nsg", hour, resource: "DEAD-NSG", mac: "000D3AD00001" });
  await blob.addRecord(2);
  const out = join(dir, "takeover.ndjson");
  const common = ["--connection-string", azurite.connectionString, "--state-container", "takeover-checkpoints",
    "--prefix", blob.name.slice(0, blob.name.indexOf("/y="))];
  const first = startCollect([...common, "--out", out, "--once"]);
  expect((await first.done).code).toBe(0);
  expect(completeLines(out)).toHaveLength(2);
  await blob.addRecord(3);
  // A collector that took the lease and died: nobody renews or releases it.
  const checkpoint = service.getContainerClient("takeover-checkpoints").getBlobClient(`${blob.container}/${blob.name}`);
  const dead = await checkpoint.getBlobLeaseClient().acquireLease(15);
  const leasedAt = Date.now();
  const next = startCollect([...common, "--out", out, "--interval", "0.3"]);
  await until("the new record", () => completeLines(out).length === 5, 60_000);
  // Not before the lease expired, and from the checkpoint: the first two events are not repeated.
  expect(Date.now() - leasedAt).toBeGreaterThanOrEqual(14_000);
  expect(next.stderr()).toMatch(/1 blobs \(0 read\)/);
  next.child.kill("SIGTERM");
  expect((await next.done).code).toBe(0);
  const lines = completeLines(out);
  expect(lines.sort()).toEqual((await expectedLines([blob])).sort());
  expect(dead.leaseId).toBeDefined();
  // The blob gone, its checkpoint goes too.
  await blob.delete();
  const last = startCollect([...common, "--out", out, "--once"]);
  expect((await last.done).code).toBe(0);
  expect(await checkpoint.exists()).toBe(false);
}, 120_000);
