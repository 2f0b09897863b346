// `collect` over many blobs, through a storage outage (Azurite stopped and started again while
// a polling collector runs), and into Fluent Bit (the real one in ../shared, when it is there).
import { BlobServiceClient } from "@azure/storage-blob";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Azurite } from "./azurite.js";
import { NetworkWatcher, type FlowLogBlob } from "./network-watcher.js";
import {
  completeLines, expectedLines, fileSize, killLeftovers, outputLines, runCollect, sameEvents, startCollect, until,
} from "./collect-helpers.js";

let azurite: Azurite;
let watcher: NetworkWatcher;
let dir: string;

beforeEach(async () => {
  azurite = await Azurite.start();
  watcher = new NetworkWatcher(BlobServiceClient.fromConnectionString(azurite.connectionString));
  dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-collect-"));
});

afterEach(async () => {
  killLeftovers();
  await azurite.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const OPEN_HOUR = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);

/** Runs `work` over the items, `width` at a time. */
async function inParallel<T>(items: T[], width: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  }));
}

test("500 blobs: every tuple once, then only the blobs that grew are read (three blobs at a time, then one)", async () => {
  const blobs: FlowLogBlob[] = new Array(500);
  await inParallel([...blobs.keys()], 16, async (i) => {
    const blob = await watcher.blob({
      kind: i % 4 === 0 ? "vnet" : "nsg", hour: new Date(OPEN_HOUR.getTime() - (i % 3) * 3_600_000),
      resource: `NSG-${Math.floor(i / 10)}`, mac: `000D3A${String(i).padStart(6, "0")}`,
    });
    await blob.addRecord(2);
    if (i % 2 === 0) await blob.addRecord(3);
    blobs[i] = blob;
  });
  const out = join(dir, "out.ndjson");
  const args = ["--connection-string", azurite.connectionString, "--state", join(dir, "state"), "--out", out, "--once"];
  // Three mapping threads (more than CI's cores: the reads wait on storage too), then one.
  const first = await runCollect([...args, "--threads", "3"]);
  expect(first.code).toBe(0);
  expect(first.stderr).toMatch(/500 blobs \(500 read\), 1750 records, 1750 events, 0 errors/);
  const grown = blobs.filter((_, i) => i % 10 === 3);
  await inParallel(grown, 16, (b) => b.addRecord(1));
  const second = await runCollect([...args, "--threads", "1"]);
  expect(second.stderr).toMatch(/500 blobs \(50 read\), 50 records, 50 events, 0 errors/);
  expect(sameEvents(outputLines(out), await expectedLines(blobs))).toEqual({ missing: [], extra: [] });
}, 180_000);

test("Azurite stopped and started again mid-run: the error is named, retried, and nothing is lost or repeated", async () => {
  const blobs = [
    await watcher.blob({ kind: "nsg", hour: OPEN_HOUR, resource: "WEB-NSG", mac: "000D3AF00001" }),
    await watcher.blob({ kind: "vnet", hour: OPEN_HOUR, resource: "VNET-FLOWLOG", mac: "000D3AF00002" }),
  ];
  await blobs[0].addRecord(3);
  const out = join(dir, "out.ndjson");
  const run = startCollect(["--connection-string", azurite.connectionString, "--state", join(dir, "state"), "--out", out,
    "--interval", "0.2"]);
  await until("the first events", () => completeLines(out).length === 3);
  await azurite.stop();
  await until("the outage to be reported", () => /storage account unreachable \(.*\); retrying in/.test(run.stderr()));
  await azurite.start();
  await blobs[0].addRecord(2);
  await blobs[1].addRecord(4);
  await until("the events written after the outage", () => completeLines(out).length === 9, 120_000);
  run.child.kill("SIGTERM");
  const done = await run.done;
  expect(done.code).toBe(0);
  expect(sameEvents(outputLines(out), await expectedLines(blobs))).toEqual({ missing: [], extra: [] });
}, 180_000);

const fluentBit = join(dirname(fileURLToPath(import.meta.url)), "../../shared/fluent-bit/bin/fluent-bit");

(existsSync(fluentBit) ? test : test.skip)("piped into Fluent Bit's stdin input: every event arrives as a record", async () => {
  const blobs = [
    await watcher.blob({ kind: "nsg", hour: OPEN_HOUR, resource: "WEB-NSG", mac: "000D3AF00001" }),
    await watcher.blob({ kind: "vnet", hour: OPEN_HOUR, resource: "VNET-FLOWLOG", mac: "000D3AF00002" }),
  ];
  for (const b of blobs) for (let i = 0; i < 20; i++) await b.addRecord(50);
  const collector = startCollect(["--connection-string", azurite.connectionString, "--state", join(dir, "state"), "--once"]);
  const shipper = spawn(fluentBit, ["-q", "-i", "stdin", "-o", "stdout", "-p", "format=json_lines"], { stdio: ["pipe", "pipe", "inherit"] });
  collector.child.stdout!.pipe(shipper.stdin);
  let shipped = "";
  shipper.stdout.on("data", (d: Buffer) => (shipped += d.toString()));
  const [collected, shipperExit] = await Promise.all([collector.done, new Promise((r) => shipper.once("close", r))]);
  expect([collected.code, shipperExit]).toEqual([0, 0]);
  const records = shipped.split("\n").filter((l) => l !== "").map((l) => {
    const { date: _date, ...record } = JSON.parse(l);
    return record;
  });
  const expected = (await expectedLines(blobs)).map((l) => JSON.parse(l));
  expect(records).toHaveLength(2000);
  // The two blobs are read at once, so their events interleave; each blob's stay in order.
  const ofBlob = (mac: string) => (r: { message: string }) => r.message.includes(`"macAddress":"${mac}"`);
  for (const mac of ["000D3AF00001", "000D3AF00002"]) {
    expect(records.filter(ofBlob(mac))).toEqual(expected.filter(ofBlob(mac)));
  }
}, 120_000);

test("Azurite stopped in the middle of a large read: what was written is kept, the rest read after the restart, exactly once", async () => {
  const blob = await watcher.blob({ kind: "nsg", hour: OPEN_HOUR, resource: "BIG-NSG", mac: "000D3AF00003" });
  for (let i = 0; i < 30; i++) await blob.addRecord(3000);
  const expected = await expectedLines([blob]);
  const out = join(dir, "out.ndjson");
  const run = startCollect(["--connection-string", azurite.connectionString, "--state", join(dir, "state"), "--out", out,
    "--interval", "0.2"]);
  await until("the first events", () => fileSize(out) > 0, 60_000, 1);
  await azurite.stop();
  await until("the outage to be reported", () => /retrying in/.test(run.stderr()));
  await azurite.start();
  await until("every event", () => completeLines(out).length >= expected.length, 120_000, 200);
  run.child.kill("SIGTERM");
  const done = await run.done;
  expect(done.code).toBe(0);
  expect(done.stderr).toMatch(/(was cut while reading|storage account unreachable) \(.*\); retrying in \d+ s/);
  expect(sameEvents(outputLines(out), expected)).toEqual({ missing: [], extra: [] });
}, 180_000);
