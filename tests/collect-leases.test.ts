// Several collectors sharing one storage account through leased checkpoints
// (--state-container): three instances, Network Watcher writing meanwhile, one instance killed
// with -9 midway. The union of their outputs, collapsed by event.id, must be every tuple once.
import { BlobServiceClient } from "@azure/storage-blob";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Azurite } from "./azurite.js";
import { NetworkWatcher, type FlowLogBlob } from "./network-watcher.js";
import {
  completeLines, expectedLines, fileSize, killLeftovers, seededRandom, startCollect, until, type Running,
} from "./collect-helpers.js";

let azurite: Azurite;
let dir: string;
/** Set when a test failed: its outputs stay for a look. */
let keepOutputs = false;

beforeAll(async () => {
  azurite = await Azurite.start();
  dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-leases-"));
});

afterAll(async () => {
  killLeftovers();
  await azurite.dispose();
  if (!keepOutputs) rmSync(dir, { recursive: true, force: true });
});

const idOf = (line: string): string => JSON.parse(line).event.id;

test("three collectors, Network Watcher writing, one killed with -9: every tuple once by event.id", async () => {
  const seed = Number(process.env.COLLECT_SEED) || Date.now() % 1_000_000;
  process.stdout.write(`collect lease test: seed ${seed} (replay with COLLECT_SEED=${seed})\n`);
  const random = seededRandom(seed);
  const watcher = new NetworkWatcher(BlobServiceClient.fromConnectionString(azurite.connectionString));
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
  const blobs: FlowLogBlob[] = [];
  for (let i = 0; i < 12; i++) {
    blobs.push(await watcher.blob({ kind: i % 3 === 2 ? "vnet" : "nsg", hour, resource: `APP-${i % 4}`, mac: `000D3AE000${String(i).padStart(2, "0")}` }));
  }
  const outs = [0, 1, 2].map((i) => join(dir, `out-${i}.ndjson`));
  const instances: Running[] = outs.map((out) => startCollect(["--connection-string", azurite.connectionString,
    "--state-container", "collect-checkpoints", "--out", out, "--interval", "0.3"]));
  try {
    await shareTheWork(instances, outs, blobs, random);
  } catch (err) {
    // What each collector said, to tell a slow machine from a collector that stopped reading.
    const said = instances.map((inst, i) => `--- collector ${i}:\n${inst.stderr().slice(-3000)}`).join("\n");
    throw new Error(`${(err as Error).message}\n${said}`);
  }
}, 300_000);

async function shareTheWork(instances: Running[], outs: string[], blobs: FlowLogBlob[], random: () => number): Promise<void> {
  const victim = Math.floor(random() * 3);
  let killedAt = -1;
  for (let step = 0; step < 30; step++) {
    const writes = 1 + Math.floor(random() * 3);
    for (let w = 0; w < writes; w++) await blobs[Math.floor(random() * blobs.length)].addRecord(5 + Math.floor(random() * 60));
    if (step === 10) {
      // Midway, once the victim has done some work, and the moment it writes again: it then
      // likely holds a lease and has not checkpointed what it wrote.
      await until("the victim's first events", () => completeLines(outs[victim]).length > 0, 60_000);
      const size = fileSize(outs[victim]);
      const deadline = Date.now() + 60_000;
      // Whichever collector gets a new record is chance: write until the victim writes.
      while (fileSize(outs[victim]) === size) {
        if (Date.now() > deadline) throw new Error("the victim wrote nothing more in 60 s");
        await blobs[Math.floor(random() * blobs.length)].addRecord(200);
        const wait = Date.now() + 500;
        while (fileSize(outs[victim]) === size && Date.now() < wait) await new Promise((r) => setTimeout(r, 1));
      }
      instances[victim].child.kill("SIGKILL");
      killedAt = step;
    }
    await new Promise((r) => setTimeout(r, 100 + random() * 200));
  }
  expect(killedAt).toBe(10);
  const expected = await expectedLines(blobs);
  const expectedIds = new Set(expected.map(idOf));
  expect(expectedIds.size).toBe(expected.length);
  const seen = () => new Set(outs.flatMap(completeLines).map(idOf));
  // The victim's leases expire (15 s) and the survivors take its blobs over from its checkpoints.
  await until("every tuple in the union of the outputs", () => {
    const got = seen();
    return [...expectedIds].every((id) => got.has(id));
  }, 120_000, 200)
    .catch(async (err) => {
      const got = seen();
      const missing = expected.filter((l) => !got.has(idOf(l)));
      throw new Error(`${err.message}: ${missing.length} missing, e.g. ${missing[0]}\n${await whereMissing(missing, blobs, outs)}`);
    });
  const survivors = instances.filter((_, i) => i !== victim);
  for (const s of survivors) s.child.kill("SIGTERM");
  for (const s of survivors) expect((await s.done).code).toBe(0);
  expect((await instances[victim].done).signal).toBe("SIGKILL");

  // Collapsed by event.id: every expected event once, the same bytes wherever it came from.
  const byId = new Map<string, string>();
  for (const line of outs.flatMap(completeLines)) {
    const id = idOf(line);
    expect(byId.get(id) ?? line).toBe(line);
    byId.set(id, line);
  }
  expect([...byId.values()].sort()).toEqual([...expected].sort());
  // More than one instance worked; copies only come from what the victim read and had not
  // checkpointed: the survivors never read the same tuple twice.
  expect(outs.filter((o) => completeLines(o).length > 0).length).toBeGreaterThan(1);
  const survivorIds = outs.filter((_, i) => i !== victim).flatMap((o) => completeLines(o).map(idOf));
  expect(new Set(survivorIds).size).toBe(survivorIds.length);
}

/** For each blob with missing events: where they stand in the blob, what its checkpoint says,
 * and how many of its events each output has — to tell a slow machine from a checkpoint that
 * moved past events nobody wrote. */
async function whereMissing(missing: string[], blobs: FlowLogBlob[], outs: string[]): Promise<string> {
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const tupleOf = (line: string) => JSON.parse(JSON.parse(line).message)["flow.0"] as string;
  const said: string[] = [];
  for (const blob of blobs) {
    const text = (await blob.text()).toString("latin1");
    const lost = missing.filter((l) => text.includes(tupleOf(l)));
    if (lost.length === 0) continue;
    const props = await service.getContainerClient(blob.container).getBlobClient(blob.name).getProperties();
    const checkpoint = await service.getContainerClient("collect-checkpoints").getBlobClient(`${blob.container}/${blob.name}`)
      .getProperties().then((p) => p.metadata, (e) => `none (${(e as Error).message.split("\n")[0]})`);
    const at = lost.map((l) => text.indexOf(tupleOf(l)));
    const perOutput = outs.map((o) => completeLines(o).filter((l) => text.includes(tupleOf(l))).length);
    said.push(`${blob.name.slice(-60)}: ${lost.length} missing at bytes ${Math.min(...at)}-${Math.max(...at)} of ${text.length}; ` +
      `blob etag ${props.etag}; checkpoint ${JSON.stringify(checkpoint)}; its events in each output: ${perOutput.join(", ")}; ` +
      `outputs kept in ${dir}`);
  }
  keepOutputs = true;
  return said.join("\n");
}

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
