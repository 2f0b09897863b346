// `nsg-flow-ecs collect` against a real Azurite, with a Network Watcher stand-in writing the
// blobs: exactly once into --out FILE across kill -9, re-created blobs, empty hours, records cut
// by a commit, wrong credentials, usage errors, SIGTERM.
import { BlobServiceClient } from "@azure/storage-blob";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Azurite } from "./azurite.js";
import { NetworkWatcher, type FlowLogBlob } from "./network-watcher.js";
import {
  completeLines, expectedLines, fileSize, killLeftovers, mapBlobs, outputLines, runCollect, sameEvents, seededRandom, startCollect, until,
} from "./collect-helpers.js";
import { exactlyOnceAcrossKills } from "./collect-scenarios.js";

// Each test has an Azurite of its own: the default containers, no prefix, nothing shared.
let azurite: Azurite;
let watcher: NetworkWatcher;
const dirs: string[] = [];

beforeEach(async () => {
  azurite = await Azurite.start();
  watcher = new NetworkWatcher(BlobServiceClient.fromConnectionString(azurite.connectionString));
});

afterEach(async () => {
  killLeftovers();
  await azurite.dispose();
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh state directory and output file, and the arguments of a collector using them. */
function workspace(...more: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-collect-"));
  dirs.push(dir);
  const state = join(dir, "state");
  const out = join(dir, "out.ndjson");
  return { state, out, dir, args: ["--connection-string", azurite.connectionString, "--state", state, "--out", out, ...more] };
}

// Blobs of an hour still being written (a day ahead: never closed during a test), and of an hour
// long over (closed once read, with --grace 0).
const OPEN_HOUR = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
const PAST_HOUR = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 86_400_000);

async function blobs(hour: Date, nsg: number, vnet: number): Promise<FlowLogBlob[]> {
  const made: FlowLogBlob[] = [];
  for (let i = 0; i < nsg; i++) made.push(await watcher.blob({ kind: "nsg", hour, resource: "WEB-NSG", mac: `000D3A0000${String(i).padStart(2, "0")}` }));
  for (let i = 0; i < vnet; i++) made.push(await watcher.blob({ kind: "vnet", hour, resource: "VNET-FLOWLOG", mac: `00224800${String(i).padStart(4, "0")}` }));
  return made;
}

test("exactly once into --out FILE across kill -9 at random moments, Network Watcher writing between runs", async () => {
  const ws = workspace("--once");
  await exactlyOnceAcrossKills(ws.args, ws.out, await blobs(OPEN_HOUR, 3, 2));
}, 300_000);

test("a record cut by a commit is read once it is complete; at the end of a closed hour it is one error event", async () => {
  const ws = workspace("--once", "--grace", "0");
  const [open] = await blobs(OPEN_HOUR, 1, 0);
  const [closed] = await watcherBlobs(PAST_HOUR);
  await open.addRecord(4);
  // Cut just after a comma between two members: `…,` then the tail `]}` would close the record
  // if the reader took the tail for part of it.
  await open.addPartialRecord((text) => text.indexOf('"category"'), 5);
  await closed.addRecord(2);
  await closed.addPartialRecord((text) => text.indexOf('"category"'), 2);
  const first = await runCollect(ws.args);
  expect(first.code).toBe(0);
  const afterFirst = outputLines(ws.out);
  // The open blob: its complete record only. The closed one: its complete record and one
  // truncated_blob error event for the record Network Watcher never finished.
  const errors = afterFirst.map((l) => JSON.parse(l)).filter((e) => e.error);
  expect(errors.map((e) => e.error.type)).toEqual(["truncated_blob"]);
  expect(errors[0].error.message).toMatch(/ends inside the record that starts at byte \d+/);
  expect(afterFirst.length).toBe(4 + 2 + 1);

  await open.completeRecord();
  await open.addRecord(3);
  const second = await runCollect(ws.args);
  expect(second.code).toBe(0);
  // Every tuple of the open blob once; the closed blob was not read again (it did not change).
  const events = outputLines(ws.out).filter((l) => !l.includes('"pipeline_error"'));
  expect(sameEvents(events.filter((l) => l.includes("WEB-NSG")), await expectedLines([open]))).toEqual({ missing: [], extra: [] });
  expect(second.stderr).toMatch(/2 blobs \(1 read\)/);

  // A late block completing the closed hour's record: the blob changed, so it is read again
  // from before that record, and its events come out after the error event.
  await closed.completeRecord();
  expect((await runCollect(ws.args)).code).toBe(0);
  const late = outputLines(ws.out).filter((l) => !l.includes('"pipeline_error"') && l.includes("PAST-NSG"));
  expect(sameEvents(late, await expectedLines([closed]))).toEqual({ missing: [], extra: [] });
}, 120_000);

async function watcherBlobs(hour: Date): Promise<FlowLogBlob[]> {
  return [await watcher.blob({ kind: "nsg", hour, resource: "PAST-NSG", mac: "000D3AFFFF01" })];
}

test("a blob re-created under the same name is read again from the start", async () => {
  const ws = workspace("--once");
  const [blob, other] = await blobs(OPEN_HOUR, 2, 0);
  await blob.addRecord(3);
  await blob.addRecord(3);
  await other.addRecord(2);
  expect((await runCollect(ws.args)).code).toBe(0);
  const firstLife = await blob.text();

  // Deleted and written anew at once (the same creation second is likely: then the bytes before
  // the checkpoint's offset, or the shorter length, give it away), then once more after a
  // second has passed (a new creation time). Each life is read whole, once.
  await blob.recreate();
  await blob.addRecord(4);
  await blob.addRecord(4);
  await blob.addRecord(4);
  const second = await runCollect(ws.args);
  expect(second.code).toBe(0);
  expect(second.stderr).toMatch(/was re-created: reading it again from the start/);
  const secondLife = await blob.text();
  await new Promise((r) => setTimeout(r, 1100));
  await blob.recreate();
  await blob.addRecord(1);
  const third = await runCollect(ws.args);
  expect(third.stderr).toMatch(/was re-created/);
  await other.addRecord(2);
  expect((await runCollect(ws.args)).code).toBe(0);

  const expected = [...mapBlobs([firstLife, secondLife]), ...(await expectedLines([blob, other]))];
  expect(sameEvents(outputLines(ws.out), expected)).toEqual({ missing: [], extra: [] });
}, 120_000);

test("an empty hour gives no event and no error, and is closed after the grace period", async () => {
  const ws = workspace("--once", "--grace", "0");
  const empty = await blobs(PAST_HOUR, 1, 1); // head and tail only: {"records":[]}
  const first = await runCollect(ws.args);
  expect(first.code).toBe(0);
  expect(first.stderr).toMatch(/2 blobs \(2 read\), 0 records, 0 events, 0 errors/);
  expect(outputLines(ws.out)).toEqual([]);
  const state = JSON.parse(readFileSync(join(ws.state, "checkpoints.json"), "utf8"));
  const checkpoints = Object.values(state.accounts.devstoreaccount1) as { offset: number; closed: boolean }[];
  expect(checkpoints.map((c) => [c.offset, c.closed])).toEqual([[12, true], [12, true]]);
  // Closed and unchanged: not read again.
  expect((await runCollect(ws.args)).stderr).toMatch(/2 blobs \(0 read\)/);
  // A blob that is gone (retention deleted it) takes its checkpoint with it.
  await empty[0].delete();
  expect((await runCollect(ws.args)).stderr).toMatch(/1 blobs \(0 read\)/);
  const pruned = JSON.parse(readFileSync(join(ws.state, "checkpoints.json"), "utf8"));
  expect(Object.keys(pruned.accounts.devstoreaccount1)).toEqual([`${empty[1].container}/${empty[1].name}`]);
}, 60_000);

test("wrong credentials: named, retried with backoff, exit 1, no checkpoint moves; an unreadable state file is named", async () => {
  const [blob] = await blobs(OPEN_HOUR, 1, 0);
  await blob.addRecord(3);
  const ws = workspace("--once", "--retries", "1");
  const bad = ws.args.map((a) => (a === azurite.connectionString ? azurite.wrongKeyConnectionString : a));
  const r = await runCollect(bad);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/authentication failed \(HTTP 403 \w+\): check the connection string's account key/);
  expect(r.stderr).toMatch(/retrying in 1 s \(attempt 1 failed\)/);
  expect(r.stderr).toMatch(/giving up after 2 attempts/);
  expect(outputLines(ws.out)).toEqual([]);
  const state = JSON.parse(readFileSync(join(ws.state, "checkpoints.json"), "utf8"));
  expect(state.accounts.devstoreaccount1).toEqual({});
  // An unreadable state file is said, and the lock is not left behind.
  const good = readFileSync(join(ws.state, "checkpoints.json"));
  writeFileSync(join(ws.state, "checkpoints.json"), "{\"version\":1,");
  const broken = await runCollect(ws.args);
  expect([broken.code, broken.stderr]).toEqual([1, expect.stringMatching(/checkpoints\.json cannot be read .*move it away/)]);
  expect(existsSync(join(ws.state, "lock"))).toBe(false);
  writeFileSync(join(ws.state, "checkpoints.json"), good);
  // The right key afterwards: everything, once.
  expect((await runCollect(ws.args)).code).toBe(0);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
}, 60_000);

test("usage errors exit 2; --help exits 0", async () => {
  const cs = azurite.connectionString;
  for (const bad of [
    [],                                                    // no account
    ["--connection-string", cs, "--state", "a", "--state-container", "b"],
    ["--connection-string", cs, "--once", "--interval", "5"],
    ["--connection-string", cs, "--interval", "soon"],
    ["--connection-string", cs, "--interval", "0"],
    ["--connection-string", cs, "--retries", "-1"],
    ["--connection-string", cs, "--profile", "splunk"],
    ["--connection-string", cs, "--community-id-seed", "70000"],
    ["--connection-string", cs, "--threads", "0"],
    ["--connection-string", cs, "--threads", "many"],
    ["--connection-string", cs, "--bogus"],
    ["--connection-string", cs, "stray"],
    ["--connection-string", "not a connection string"],
  ]) {
    const r = await runCollect(bad);
    expect([bad, r.code]).toEqual([bad, 2]);
    expect(r.stderr).toMatch(/^nsg-flow-ecs collect: /);
  }
  // Not a usage error, but said: a container that does not exist (yet).
  const missing = await runCollect(["--connection-string", cs, "--container", "no-such-container", "--once",
    "--state", workspace().state]);
  expect([missing.code, missing.stderr]).toEqual([0, expect.stringContaining("container no-such-container does not exist (yet)")]);
  const help = await runCollect(["--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("--state-container NAME");
}, 60_000);

test("polling to stdout: new records as they come, the summary line, SIGTERM exits 0 after a checkpoint", async () => {
  const [nsg, vnet] = await blobs(OPEN_HOUR, 1, 1);
  await nsg.addRecord(2);
  const ws = workspace();
  const stdoutArgs = ws.args.filter((a, i) => a !== "--out" && ws.args[i - 1] !== "--out");
  const run = startCollect([...stdoutArgs, "--interval", "0.2"]);
  const seen = () => run.stdout().slice(0, run.stdout().lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
  await until("the first record", () => seen().length === 2);
  await vnet.addRecord(3);
  await nsg.addRecord(1);
  await until("the new records", () => seen().length === 6);
  expect(run.stderr()).toMatch(/2 blobs \(\d read\), \d+ records, \d+ events, 0 errors, \d+ bytes read/);
  // One collector per state directory.
  const second = await runCollect([...stdoutArgs, "--once"]);
  expect([second.code, second.stdout]).toEqual([1, ""]);
  expect(second.stderr).toMatch(/another collector \(pid \d+\) uses the state directory/);
  run.child.kill("SIGTERM");
  const done = await run.done;
  expect(done.code).toBe(0);
  expect(done.stderr).toMatch(/\d+ passes, \d+ blob reads, 6 records, 6 events, 0 errors/);
  expect(sameEvents(seen(), await expectedLines([nsg, vnet]))).toEqual({ missing: [], extra: [] });
  // The checkpoints were kept: a new run has nothing to send.
  const again = await runCollect([...stdoutArgs, "--once"]);
  expect(again.stdout).toBe("");
  expect(again.stderr).toMatch(/2 blobs \(0 read\)/);
}, 60_000);

test("records committed while a read is under way all come out, the last one too", async () => {
  // A read that overlaps a commit: Azurite may then answer with the new version's ETag and the
  // old version's bytes. A checkpoint that took that ETag for "read to its end" skipped the blob
  // for good once the writing stopped, and its last record never came out (collect/read.ts).
  const [blob] = await blobs(OPEN_HOUR, 1, 0);
  await blob.addRecord(1);
  const ws = workspace("--interval", "0.02", "--threads", "1");
  const run = startCollect(ws.args);
  await until("the first record", () => fileSize(ws.out) > 0);
  // Each burst's last commit is the one that can be hidden: several bursts, several chances.
  for (let burst = 0; burst < 8; burst++) {
    for (let i = 0; i < 10; i++) await blob.addRecord(1);
    const expected = await expectedLines([blob]);
    await until(`every record of burst ${burst + 1}`, () => completeLines(ws.out).length >= expected.length, 20_000)
      .catch((err) => {
        throw new Error(`${err.message}: ${expected.length - completeLines(ws.out).length} of ${expected.length} missing`);
      });
  }
  run.child.kill("SIGTERM");
  expect((await run.done).code).toBe(0);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
}, 120_000);

test("--profile ecs writes the full ECS events, as the library maps them", async () => {
  const [nsg, vnet] = await blobs(OPEN_HOUR, 1, 1);
  await nsg.addRecord(2);
  await vnet.addRecord(2);
  const ws = workspace("--once", "--profile", "ecs");
  expect((await runCollect(ws.args)).code).toBe(0);
  const out = outputLines(ws.out);
  expect(sameEvents(out, await expectedLines([nsg, vnet], { profile: "ecs" }))).toEqual({ missing: [], extra: [] });
  // Not the default profile's events: the profile reached the transform.
  expect(sameEvents(out, await expectedLines([nsg, vnet])).extra).toHaveLength(4);
}, 60_000);

test("--flatten writes the flattened raw events", async () => {
  const [nsg, vnet] = await blobs(OPEN_HOUR, 1, 1);
  await nsg.addRecord(2);
  await vnet.addRecord(2);
  const ws = workspace("--once", "--flatten");
  expect((await runCollect(ws.args)).code).toBe(0);
  expect(sameEvents(outputLines(ws.out), await expectedLines([nsg, vnet], { flatten: true }))).toEqual({ missing: [], extra: [] });
}, 60_000);

test("SIGTERM in the middle of a large blob: the write is finished, checkpointed, exit 0; the next run goes on from there", async () => {
  const [blob] = await blobs(OPEN_HOUR, 1, 0);
  for (let i = 0; i < 30; i++) await blob.addRecord(3000);
  const ws = workspace("--once");
  const run = startCollect(ws.args);
  await until("the first events", () => fileSize(ws.out) > 0, 60_000, 1);
  run.child.kill("SIGTERM");
  const stopped = await run.done;
  expect(stopped.code).toBe(0);
  const partial = outputLines(ws.out).length;
  const rest = await runCollect(ws.args);
  expect(rest.code).toBe(0);
  expect(rest.stderr).not.toMatch(/cutting/);
  const all = outputLines(ws.out);
  expect(sameEvents(all, await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
  // Stopped mid-way, not after the whole blob (else this test shows nothing).
  expect(partial).toBeLessThan(all.length);
}, 120_000);
