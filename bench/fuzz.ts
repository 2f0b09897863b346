#!/usr/bin/env node
// `npm run fuzz`: generated and mutated inputs through the core's batch ABI, the Fluent Bit
// filter ABI and the blob splitter, on every core, with the checks of bench/fuzz-checks.ts.
//
//   node dist/bench/fuzz.js [--records N] [--seed S] [--workers N] [--batch B] [--out DIR]
//
// The run is cut into batches of BATCH_RECORDS records, each made from (seed, batch number)
// alone, so any batch can be run again with --seed S --batch B. Progress goes to stderr every few
// seconds; the summary to stdout. A failing input is shrunk to the smallest one that fails the
// same check, and written to DIR (default fuzz-results/) with what failed; the exit status is
// then 1.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { BATCH_RECORDS, Fuzzer, failsAlike, makeBatch, shrink, type Failure } from "./fuzz-checks.js";

export interface FuzzOptions {
  records: number;
  seed: number;
  workers: number;
  out: string;
  /** Only this batch. */
  batch?: number;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
}

export interface FoundFailure {
  /** The batch, or -1 for the warm-up every worker runs first. */
  batch: number;
  kind: string;
  check: string;
  detail: string;
  /** Bytes of the original and of the shrunk input, and where they were written. */
  originalBytes: number;
  shrunkBytes: number;
  file?: string;
}

/** Linear memory of one worker's instances: after its warm-up, at the end, and each growth
 * after the warm-up (after which of the worker's batches, to what size). */
export interface MemoryWatch {
  warm: Record<string, number>;
  end: Record<string, number>;
  growth: Record<string, [batch: number, bytes: number][]>;
  batches: number;
}

export interface FuzzSummary {
  records: number;
  batches: number;
  seconds: number;
  failures: FoundFailure[];
  memory: MemoryWatch[];
  /** Some instance's memory more than doubled after it settled (see memoryGrew()). */
  memoryGrew: boolean;
  /** Events written with threat.enrichments (map_one, both builds): the indicator option sets'
   * checks saw matches, not only misses. */
  enriched: number;
}

const USAGE = `Usage: node dist/bench/fuzz.js [options]   (npm run fuzz -- [options])
  --records N   records to generate and check (default 1000000; rounded up to whole batches of ${BATCH_RECORDS})
  --seed S      the run's seed (default: a random one, printed)
  --workers N   worker threads (default: the number of cores)
  --batch B     run only batch B of the seed (to reproduce a failure)
  --out DIR     where failing inputs are written (default fuzz-results/)
`;

function parseArgs(argv: string[]): FuzzOptions {
  const o: FuzzOptions = { records: 1_000_000, seed: (Math.random() * 2 ** 31) >>> 0, workers: availableParallelism(), out: "fuzz-results" };
  const int = (v: string | undefined, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--records") o.records = int(argv[++i], a, 1);
    else if (a === "--seed") o.seed = int(argv[++i], a, 0) >>> 0;
    else if (a === "--workers") o.workers = int(argv[++i], a, 1);
    else if (a === "--batch") o.batch = int(argv[++i], a, 0);
    else if (a === "--out") o.out = argv[++i] ?? o.out;
    else if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

// ─── One batch, wherever it runs ────────────────────────────────────────────────────────────

interface BatchResult {
  batch: number;
  failures: FoundFailure[];
  memory: Record<string, number>;
  /** Events of the batch written with threat.enrichments. */
  enriched: number;
}

/** Runs one batch; each distinct failing check is shrunk and written to `out`. */
function runBatch(fuzzer: Fuzzer, seed: number, batch: number, out: string): BatchResult {
  const before = fuzzer.enriched;
  const failures = fuzzer.batch(makeBatch(seed, batch));
  if (batch === 0) failures.push(...fuzzer.hostile());
  return { batch, failures: reportFailures(fuzzer, failures, seed, batch, out), memory: fuzzer.memory(), enriched: fuzzer.enriched - before };
}

/** Watches one worker's memory: its warm-up first (whose failures are reported too), then
 * after each batch. */
class Watch {
  readonly failures: FoundFailure[];
  private readonly m: MemoryWatch;
  constructor(fuzzer: Fuzzer, seed: number, out: string) {
    this.failures = reportFailures(fuzzer, fuzzer.warmUp(), seed, -1, out);
    const warm = fuzzer.memory();
    this.m = { warm, end: { ...warm }, growth: Object.fromEntries(Object.keys(warm).map((k) => [k, []])), batches: 0 };
  }
  after(memory: Record<string, number>): void {
    this.m.batches++;
    for (const [k, v] of Object.entries(memory)) {
      if (v !== this.m.end[k]) this.m.growth[k]!.push([this.m.batches, v]);
      this.m.end[k] = v;
    }
  }
  get memory(): MemoryWatch {
    return this.m;
  }
}

/** Each distinct failing check of a batch, shrunk and written to `out` (input, original, what
 * failed and how to run the batch again). */
export function reportFailures(fuzzer: Fuzzer, failures: Failure[], seed: number, batch: number, out: string): FoundFailure[] {
  const seen = new Set<string>();
  const found: FoundFailure[] = [];
  for (const f of failures) {
    // One report per check and batch: a misaligned output fails every record after the first.
    if (seen.has(f.check)) continue;
    seen.add(f.check);
    const small = failsAlike(fuzzer, f, f.input) ? shrink(f.input, (c) => failsAlike(fuzzer, f, c)) : f.input;
    const base = path.join(out, `failure-s${seed}-${batch < 0 ? "warmup" : `b${batch}`}-${found.length}`);
    mkdirSync(out, { recursive: true });
    writeFileSync(`${base}.bin`, small);
    writeFileSync(`${base}.original.bin`, f.input);
    writeFileSync(`${base}.txt`, [
      `check:  ${f.check}`, `kind:   ${f.kind}`, `detail: ${f.detail}`,
      `input:  ${base}.bin (${small.length} bytes, shrunk from ${f.input.length}: ${base}.original.bin)`,
      batch < 0 ? "again:  any run (the warm-up every worker runs first)" : `again:  npm run fuzz -- --seed ${seed} --batch ${batch}`, "",
    ].join("\n"));
    found.push({ batch, kind: f.kind, check: f.check, detail: f.detail, originalBytes: f.input.length, shrunkBytes: small.length, file: `${base}.bin` });
  }
  return found;
}

/** The run in this thread, batch after batch (the short run the test suite makes). */
export function fuzzInProcess(o: Omit<FuzzOptions, "workers">): FuzzSummary {
  const started = process.hrtime.bigint();
  const fuzzer = new Fuzzer();
  const batches = o.batch !== undefined ? [o.batch] : Array.from({ length: Math.ceil(o.records / BATCH_RECORDS) }, (_, i) => i);
  const watch = new Watch(fuzzer, o.seed, o.out);
  const failures = [...watch.failures];
  let enriched = 0;
  for (const b of batches) {
    const r = runBatch(fuzzer, o.seed, b, o.out);
    failures.push(...r.failures);
    enriched += r.enriched;
    watch.after(r.memory);
  }
  return summary(batches.length, started, failures, [watch.memory], enriched);
}

/** Whether an instance's memory kept growing: more than doubled from its size once settled (after
 * the first tenth of its worker's batches) to the end. AssemblyScript's heap doubles when a
 * large block does not fit, so a run of the largest inputs may grow it once more, late; a leak
 * of a few bytes a record doubles it again and again over millions of records. */
export function memoryGrew(m: MemoryWatch): boolean {
  return Object.keys(m.end).some((k) => {
    let settled = m.warm[k]!;
    for (const [batch, bytes] of m.growth[k]!) if (batch <= m.batches / 10) settled = bytes;
    return m.end[k]! > 2 * settled;
  });
}

function summary(batches: number, started: bigint, failures: FoundFailure[], memory: MemoryWatch[], enriched: number): FuzzSummary {
  const memoryGrew_ = memory.some(memoryGrew);
  return { records: batches * BATCH_RECORDS, batches, seconds: Number(process.hrtime.bigint() - started) / 1e9, failures, memory, memoryGrew: memoryGrew_, enriched };
}

// ─── On every core ──────────────────────────────────────────────────────────────────────────

type ToWorker = { batch: number } | { done: true };
type FromWorker = { ready: true; failures: FoundFailure[] } | BatchResult | { finished: true; memory: MemoryWatch };

export async function fuzz(o: FuzzOptions): Promise<FuzzSummary> {
  if (o.batch !== undefined || o.workers <= 1) return fuzzInProcess(o);
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const started = process.hrtime.bigint();
  const total = Math.ceil(o.records / BATCH_RECORDS);
  let next = 0;
  let done = 0;
  let enriched = 0;
  const failures: FoundFailure[] = [];
  const memory: FuzzSummary["memory"] = [];
  let lastLog = 0;
  const progress = (force = false) => {
    const s = Number(process.hrtime.bigint() - started) / 1e9;
    if (!force && s - lastLog < 5) return;
    lastLog = s;
    const records = done * BATCH_RECORDS;
    const rate = records / s;
    log(`fuzz: ${records.toLocaleString("en-US")} / ${(total * BATCH_RECORDS).toLocaleString("en-US")} records ` +
      `(${((100 * done) / total).toFixed(1)}%), ${Math.round(rate).toLocaleString("en-US")} records/s, ${clock(s)} elapsed, ` +
      `${done < total ? `about ${clock((total - done) * BATCH_RECORDS / rate)} to go, ` : ""}${failures.length} failures`);
  };
  await Promise.all(Array.from({ length: Math.min(o.workers, total) }, (_, w) => new Promise<void>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { seed: o.seed, out: o.out } });
    const feed = () => worker.postMessage((next < total ? { batch: next++ } : { done: true }) satisfies ToWorker);
    let finished = false;
    worker.on("message", (m: FromWorker) => {
      if ("ready" in m) {
        failures.push(...m.failures);
        // Two batches in hand: the worker never waits for the next.
        feed();
        feed();
      } else if ("finished" in m) {
        if (finished) return;
        finished = true;
        memory.push(m.memory);
        void worker.terminate().then(() => resolve());
      } else {
        done++;
        enriched += m.enriched;
        failures.push(...m.failures);
        for (const f of m.failures) log(`fuzz: FAILED ${f.check} (batch ${f.batch}, ${f.kind}): ${f.detail}\n      input ${f.file}`);
        progress();
        feed();
      }
    });
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 || code === 1 ? undefined : reject(new Error(`fuzz worker ${w} exited with ${code}`))));
  })));
  progress(true);
  return summary(total, started, failures, memory, enriched);
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function workerMain(): void {
  const { seed, out } = workerData as { seed: number; out: string };
  const port = parentPort!;
  const fuzzer = new Fuzzer();
  const watch = new Watch(fuzzer, seed, out);
  port.on("message", (m: ToWorker) => {
    if ("done" in m) {
      // Messages come in order: every batch this worker was given is done.
      port.postMessage({ finished: true, memory: watch.memory } satisfies FromWorker);
      return;
    }
    const r = runBatch(fuzzer, seed, m.batch, out);
    watch.after(r.memory);
    port.postMessage(r satisfies FromWorker);
  });
  port.postMessage({ ready: true, failures: watch.failures } satisfies FromWorker);
}

async function main(): Promise<void> {
  let o: FuzzOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fuzz: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const batches = o.batch !== undefined ? 1 : Math.ceil(o.records / BATCH_RECORDS);
  console.log(`nsg-flow-ecs fuzz — seed ${o.seed}, ${(batches * BATCH_RECORDS).toLocaleString("en-US")} records in ${batches} batches, ` +
    `${o.batch !== undefined ? 1 : Math.min(o.workers, batches)} worker(s); failing inputs go to ${o.out}/`);
  const s = await fuzz(o);
  console.log("");
  console.log(`records:  ${s.records.toLocaleString("en-US")} (${BATCH_RECORDS - 24} events and a blob of 24 records a batch; each event through ` +
    "the batch ABI as NDJSON and alone, both builds, and the Fluent Bit filter ABI; batches take turns with the default mapping, " +
    "event.id, the full-ECS profile, the full-ECS profile with a Community ID seed, and both profiles with the indicator sets of bench/fuzz-feeds/)");
  console.log(`matches:  ${s.enriched.toLocaleString("en-US")} events written with threat.enrichments (map_one, both builds)`);
  console.log(`time:     ${clock(s.seconds)} (${Math.round(s.records / s.seconds).toLocaleString("en-US")} records/s)`);
  for (const [i, m] of s.memory.entries()) {
    console.log(`memory:   worker ${i} (${m.batches} batches), after its warm-up → at the end: ` + Object.keys(m.end).map((k) =>
      `${k} ${mib(m.warm[k])} → ${mib(m.end[k])}` + (m.growth[k]!.length ? ` (grew after batch ${m.growth[k]!.map(([b, v]) => `${b} to ${mib(v)}`).join(", ")})` : "")).join("; "));
  }
  console.log(`linear memory ${s.memoryGrew ? "KEPT GROWING (more than doubled after settling)" : "stopped growing (at most one doubling after settling)"}`);
  console.log(s.failures.length === 0 ? "no failures" : `${s.failures.length} FAILURES:`);
  for (const f of s.failures) console.log(`  ${f.check} (batch ${f.batch}, ${f.kind}): shrunk ${f.originalBytes} → ${f.shrunkBytes} bytes: ${f.file}`);
  process.exitCode = s.failures.length > 0 || s.memoryGrew ? 1 : 0;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "?" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

if (!isMainThread) workerMain();
else if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) void main();
