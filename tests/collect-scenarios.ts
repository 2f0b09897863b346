// The collector's hardest scenarios, run as they are against each way of signing in (a
// connection string in collect.test.ts and collect-leases.test.ts, Microsoft Entra ID in
// collect-entra.test.ts): exactly once into a file across kill -9, and several instances sharing
// the blobs through leases with one killed. Each prints its seed; COLLECT_SEED replays it.
import { join } from "node:path";
import type { FlowLogBlob, NetworkWatcher } from "./network-watcher.js";
import {
  completeLines, expectedLines, fileSize, outputLines, runCollect, sameEvents, seededRandom, startCollect, until, type Running,
} from "./collect-helpers.js";

/** Collectors run with `--once` over and over (`collectorArgs`: the account, `--state`, `--out
 * out`, `--once`), most of them killed with -9 at random moments, while Network Watcher writes
 * the blobs (records, some cut by a commit) between runs: `out` ends with every tuple once. */
export async function exactlyOnceAcrossKills(collectorArgs: string[], out: string, all: FlowLogBlob[],
  env?: NodeJS.ProcessEnv): Promise<void> {
  const seed = Number(process.env.COLLECT_SEED) || Date.now() % 1_000_000;
  process.stdout.write(`collect kill test: seed ${seed} (replay with COLLECT_SEED=${seed})\n`);
  const random = seededRandom(seed);
  // Three blobs read at once (mapped on three threads): a save must account for every one.
  const args = [...collectorArgs, "--threads", "3"];
  const pending = new Set<FlowLogBlob>();
  const STEPS = 24;
  let killed = 0;
  let cut = 0;
  for (let step = 0; step < STEPS; step++) {
    const actions = 1 + Math.floor(random() * 3);
    for (let a = 0; a < actions; a++) {
      const blob = all[Math.floor(random() * all.length)];
      if (pending.has(blob)) {
        await blob.completeRecord();
        pending.delete(blob);
      } else if (random() < 0.2) {
        await blob.addPartialRecord(1 + Math.floor(random() * 200), 20 + Math.floor(random() * 100));
        pending.add(blob);
      } else {
        await blob.addRecord(20 + Math.floor(random() * 200));
      }
    }
    const run = startCollect(args, env);
    const kill = random();
    if (kill < 0.75) {
      const sizeBefore = fileSize(out);
      const extra = random();
      if (kill < 0.25) {
        // At any moment of the run, start-up included.
        await new Promise((r) => setTimeout(r, extra * 1500));
      } else {
        // While it writes: once the file grows, a few milliseconds later.
        await until("output", () => fileSize(out) > sizeBefore || run.child.exitCode !== null);
        await new Promise((r) => setTimeout(r, extra * 10));
      }
      if (run.child.exitCode === null) {
        run.child.kill("SIGKILL");
        killed++;
      }
    }
    const result = await run.done;
    if (result.signal !== "SIGKILL") expect([result.code, result.stderr]).toEqual([0, expect.stringContaining("blobs")]);
    if (/cutting \d+ bytes written after the last checkpoint/.test(result.stderr)) cut++;
  }
  process.stdout.write(`collect kill test: ${killed} of ${STEPS} runs killed, ${cut} restarts cut the file back\n`);
  for (const blob of pending) await blob.completeRecord();
  expect((await runCollect(args, env)).code).toBe(0);
  expect(sameEvents(outputLines(out), await expectedLines(all))).toEqual({ missing: [], extra: [] });
  expect(killed).toBeGreaterThan(0);
}

const idOf = (line: string): string => JSON.parse(line).event.id;

/** Three collectors sharing the blobs through leased checkpoints (--state-container), Network
 * Watcher writing meanwhile, one of them killed with -9 midway: the union of their outputs,
 * collapsed by event.id, is every tuple once. `accountArgs` name the account (and how to sign
 * in); the default containers must hold only the blobs made here. */
export async function threeCollectorsShareTheWork(watcher: NetworkWatcher, accountArgs: string[], dir: string,
  env?: NodeJS.ProcessEnv): Promise<void> {
  const seed = Number(process.env.COLLECT_SEED) || Date.now() % 1_000_000;
  process.stdout.write(`collect lease test: seed ${seed} (replay with COLLECT_SEED=${seed})\n`);
  const random = seededRandom(seed);
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
  const blobs: FlowLogBlob[] = [];
  for (let i = 0; i < 12; i++) {
    blobs.push(await watcher.blob({ kind: i % 3 === 2 ? "vnet" : "nsg", hour, resource: `APP-${i % 4}`, mac: `000D3AE000${String(i).padStart(2, "0")}` }));
  }
  const outs = [0, 1, 2].map((i) => join(dir, `out-${i}.ndjson`));
  const instances: Running[] = outs.map((out) => startCollect([...accountArgs,
    "--state-container", "collect-checkpoints", "--out", out, "--interval", "0.3"], env));
  try {
    await shareTheWork(instances, outs, blobs, random);
  } catch (err) {
    // What each collector said, to tell a slow machine from a collector that stopped reading.
    const said = instances.map((inst, i) => `--- collector ${i}:\n${inst.stderr().slice(-3000)}`).join("\n");
    throw new Error(`${(err as Error).message}\n${said}`);
  }
}

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
    .catch((err) => {
      const got = seen();
      const missing = expected.filter((l) => !got.has(idOf(l)));
      throw new Error(`${err.message}: ${missing.length} missing, e.g. ${missing[0]}`);
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

