#!/usr/bin/env node
// `npm run bench`: every figure of the benchmark in one run (a few minutes on a 2-core machine).
//
//   node dist/bench/bench.js [--records N] [--runs N] [--fluent-bit-records N] [--no-fluent-bit] [--no-enrichment] [--keep]
//
// A deterministic corpus (bench/corpus.ts) is written to a temporary directory, then:
//  (1)  the WASM core: FlowTransform.push over 1 MiB chunks + end(), SIMD build (the default);
//  (1b) the same with the portable build (the file Fluent Bit loads);
//  (1d) the full-ECS profile (profile "ecs"), SIMD build, as (1); (1e) the documented profile
//       with event.id (which the full profile always writes), for what that costs alone;
//  (2)  the plain-TS reference, referenceMap(bytes) per line: the test oracle, which validates
//       more than a user's mapper would (strict UTF-8, depth, field types, 2^64 counters);
//  (2b) the naive mapping, JSON.parse → object → JSON.stringify per line (bench/node-mapper.ts);
//  (3)  the copy roof: FlowTransform.copyThrough, same framing, each record copied, not mapped;
//  (4)  blob splitting of a native PT1H.json blob (FlowTransform.pushBlob/endBlob, once built),
//       the corpus's NSG flows grouped into records; (4c) the CLI on that blob, whole process,
//       on every core, (4d) on one thread (--threads 1);
//  (5)  the CLI, whole process, on the corpus file to /dev/null, on every core; (5b) on one thread;
//       (5c), (5d) the same with the file given 7 times in one run (a backfill: threads start once);
//  (5e) the CLI reading stdin (`< FILE`), (5f) writing into a pipe (`| cat > /dev/null`), (5g) both,
//       (5h) reading a pipe too (`cat FILE |`): the paths users run;
//  (6)  the plain Node mapper (readline + JSON.parse + JSON.stringify), whole process, likewise;
//       (6b) on (5g)'s path;
//  (1f) the corpus with a million indicators (a list file, bench/enrichment.ts) against the same
//       runs without, interleaved in one child process; the load's CPU, linear memory, match rate;
//  (5i) (5g) with --indicators (the same million);
//  (7)  the filter in a real Fluent Bit, when one is found (bench/fluent-bit.ts): µs per record of
//       CPU above no filter, for a copy floor, the same mapping in Lua, the .wasm and the .aot;
//       and the enrichment rows: Fluent Bit's checklist and geoip2 filters, our .aot with a
//       million indicators and with City + ASN (--no-enrichment leaves out (1f), (5i) and these).
// Rows (1)-(4) run each in a child process of their own (their peak RSS is that child's), after
// warm-up; every figure is the median of --runs runs. Every mapped path must map every record:
// error events or a wrong record count are printed as PROBLEMS and make the exit status 1 (a
// missed target never does). Results: a table on stdout, JSON and an SVG chart in bench-results/.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FlowTransform, builtWasm, type MapOptions, type TransformResult } from "../host/transform/loader.js";
import { referenceMap } from "../host/reference/map.js";
import { PARALLEL_FROM } from "../host/pool/pool.js";
import { naiveMap } from "./node-mapper.js";
import { generateCorpus, describeCorpus, DEFAULT_SEED, type Corpus } from "./corpus.js";
import { barChart } from "./svg.js";
import { benchFluentBit, printFluentBit, BASE_ROWS, type FluentBitBench } from "./fluent-bit.js";
import { eventAddresses, indicatorList } from "./enrichment.js";

const HERE = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = path.resolve(HERE, "..", "..");
const HOST = path.join(ROOT, "dist", "host");
const RESULTS_DIR = path.join(ROOT, "bench-results");
const CHUNK = 1 << 20;
const MB = 1e6;
/** Files in the backfill rows (5c), (5d): the corpus file given this many times in one run. */
const BACKFILL_FILES = 7;

// ─── Options ────────────────────────────────────────────────────────────────────────────────

interface Options {
  records: number;
  runs: number;
  fluentBitRecords: number;
  fluentBit: boolean;
  fluentBitOnly: boolean;
  keep: boolean;
  seed: number;
  child?: string;
  corpus?: string;
  blob?: string;
  /** The indicator list of row (1f) (a child's option). */
  indicators?: string;
  /** Rows (1f), (5i) and the Fluent Bit enrichment rows (issues 18, 19). */
  enrichment: boolean;
}

const USAGE = `Usage: node dist/bench/bench.js [options]   (npm run bench -- [options])
  --records N          corpus size in records (default 300000)
  --runs N             timed runs per row, median reported (default 5)
  --fluent-bit-records N  flattened events through Fluent Bit in (7) (default 100000)
  --no-fluent-bit      skip the Fluent Bit rows (7)
  --fluent-bit-only    only the Fluent Bit rows (7)
  --no-enrichment      skip the enrichment rows: (1f), (5i) and the Fluent Bit rows (a)-(d)
  --seed N             corpus seed (default ${DEFAULT_SEED})
  --keep               keep the corpus files in bench-results/
`;

function parseOptions(argv: string[]): Options {
  const o: Options = { records: 300_000, runs: 5, fluentBitRecords: 100_000, fluentBit: true, fluentBitOnly: false, keep: false, seed: DEFAULT_SEED, enrichment: true };
  const int = (s: string | undefined, name: string, min: number) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--records") o.records = int(argv[++i], a, 1000);
    else if (a === "--runs") o.runs = int(argv[++i], a, 1);
    else if (a === "--fluent-bit-records") o.fluentBitRecords = int(argv[++i], a, 1000);
    else if (a === "--no-fluent-bit") o.fluentBit = false;
    else if (a === "--fluent-bit-only") o.fluentBitOnly = true;
    else if (a === "--seed") o.seed = int(argv[++i], a, 0);
    else if (a === "--keep") o.keep = true;
    else if (a === "--child") o.child = argv[++i];
    else if (a === "--corpus") o.corpus = argv[++i];
    else if (a === "--blob") o.blob = argv[++i];
    else if (a === "--indicators") o.indicators = argv[++i];
    else if (a === "--no-enrichment") o.enrichment = false;
    else if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

// ─── Measuring ──────────────────────────────────────────────────────────────────────────────

interface Pass {
  records: number;
  errors: number;
  inBytes: number;
  outBytes: number;
}

interface Measured extends Pass {
  seconds: number[];
  maxRssKb: number;
  notAvailable?: string;
  /** Row (1f): the same instance's figures without indicators, and the load. */
  indicators?: IndicatorFigures;
}

interface IndicatorFigures {
  /** Indicators the core loaded (and duplicates it skipped). */
  loaded: number;
  duplicates: number;
  /** Seconds of each run of the same corpus without indicators, interleaved with the row's. */
  baselineSeconds: number[];
  /** CPU seconds of building the transform with the set minus without (median). */
  loadCpuSeconds: number;
  /** Linear memory of the instance after the load, and of one without indicators. */
  memoryBytes: number;
  baselineMemoryBytes: number;
  /** Events that got threat.enrichments. */
  matched: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function seconds(from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e9;
}

/** `warmups` untimed passes (the first one's counts are kept: later passes may count less
 * precisely), then `runs` timed ones; `prepare` runs untimed before each pass. */
function measure<S>(prepare: () => S, pass: (state: S, exact: boolean) => Pass, warmups: number, runs: number): Measured {
  let first: Pass | undefined;
  for (let i = 0; i < warmups; i++) {
    const p = pass(prepare(), i === 0);
    first ??= p;
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const state = prepare();
    const t0 = process.hrtime.bigint();
    const p = pass(state, false);
    times.push(seconds(t0));
    first ??= p;
  }
  return { ...first!, seconds: times, maxRssKb: peakRssKb() };
}

// ─── Rows (1)-(4): one child process each ──────────────────────────────────────────────────

function wasmPass(t: FlowTransform, buf: Buffer): Pass {
  let records = 0, errors = 0, outBytes = 0;
  for (let off = 0; off < buf.length; off += CHUNK) {
    const r = t.push(buf.subarray(off, off + CHUNK));
    records += r.records;
    errors += r.errors;
    outBytes += r.output.length;
  }
  const r = t.end();
  return { records: records + r.records, errors: errors + r.errors, inBytes: buf.length, outBytes: outBytes + r.output.length };
}

function copyPass(t: FlowTransform, buf: Buffer, records: number): Pass {
  let outBytes = 0;
  for (let off = 0; off < buf.length; off += CHUNK) {
    outBytes += t.copyThrough(buf.subarray(off, off + CHUNK), off + CHUNK >= buf.length);
  }
  return { records, errors: 0, inBytes: buf.length, outBytes };
}

const ERROR_TAIL = '"event":{"kind":"pipeline_error"}}';

/** Per line: `map` gets the line and returns its output line (no newline). */
function perLinePass(buf: Buffer, exact: boolean, map: (buf: Buffer, start: number, end: number) => string): Pass {
  let records = 0, errors = 0, outBytes = 0;
  for (let s = 0; s < buf.length;) {
    let e = buf.indexOf(0x0a, s);
    if (e < 0) e = buf.length;
    if (e > s) {
      const out = map(buf, s, e);
      records++;
      if (out.endsWith(ERROR_TAIL)) errors++;
      // The exact UTF-8 size costs an encoding pass: only in the first (untimed) pass.
      outBytes += (exact ? Buffer.byteLength(out) : out.length) + 1;
    }
    s = e + 1;
  }
  return { records, errors, inBytes: buf.length, outBytes };
}

/** The blob is read from the file in 1 MiB chunks (page cache) and its events are taken slice by
 * slice and let go, as the CLI does, so that only what the splitter keeps counts in the peak RSS,
 * as when streaming a blob from storage. `flattenOnly`: the splitting alone (the flattened raw
 * events a collector forwards); otherwise splitting and mapping. */
function blobPass(t: FlowTransform, file: string, flattenOnly: boolean): Pass {
  t.startBlob({ flattenOnly });
  const fd = openSync(file, "r");
  let records = 0, errors = 0, inBytes = 0, outBytes = 0;
  const chunk = Buffer.allocUnsafe(CHUNK);
  const take = (r: TransformResult) => {
    records += r.records;
    errors += r.errors;
    outBytes += r.output.length;
  };
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, inBytes);
      if (n === 0) break;
      inBytes += n;
      for (const r of t.blobSlices(chunk.subarray(0, n))) take(r);
    }
  } finally {
    closeSync(fd);
  }
  for (const r of t.blobSlices(new Uint8Array(0), true)) take(r);
  return { records, errors, inBytes, outBytes };
}

const MATCH = Buffer.from(',"threat":{"enrichments":[');

/** Row (1f): the corpus mapped with the million indicators (a list file, as a user gives it)
 * and, interleaved in the same process, without them; the load's CPU time and the instance's
 * linear memory. */
function indicatorRow(o: Options, buf: Buffer): Measured {
  const module = new WebAssembly.Module(readFileSync(builtWasm("nsg-flow-ecs-simd.wasm")));
  const cpu = (f: () => void): number => {
    const t0 = process.cpuUsage();
    f();
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / 1e6;
  };
  let plain!: FlowTransform, withSet!: FlowTransform;
  const bare: number[] = [], loads: number[] = [];
  for (let i = 0; i < Math.max(3, o.runs); i++) {
    bare.push(cpu(() => (plain = new FlowTransform(module))));
    loads.push(cpu(() => (withSet = new FlowTransform(module, { indicators: [{ name: "bench", path: o.indicators! }] }))));
  }
  // The instance is the transform's own: read its memory as the benchmark, not as an API.
  const memoryOf = (t: FlowTransform) => (t as unknown as { exports: { memory: WebAssembly.Memory } }).exports.memory.buffer.byteLength;
  const memoryBytes = memoryOf(withSet), baselineMemoryBytes = memoryOf(plain);
  plain.outputViews = withSet.outputViews = true;
  // Untimed: the matching events, counted in the output.
  let matched = 0;
  const counting = (t: FlowTransform): Pass => {
    let records = 0, errors = 0, outBytes = 0;
    const take = (r: TransformResult) => {
      records += r.records;
      errors += r.errors;
      outBytes += r.output.length;
      for (let at = r.output.indexOf(MATCH); at >= 0; at = r.output.indexOf(MATCH, at + 1)) matched++;
    };
    for (let off = 0; off < buf.length; off += CHUNK) take(t.push(buf.subarray(off, off + CHUNK)));
    take(t.end());
    return { records, errors, inBytes: buf.length, outBytes };
  };
  const first = counting(withSet);
  wasmPass(plain, buf);
  for (let i = 0; i < 2; i++) {
    wasmPass(plain, buf);
    wasmPass(withSet, buf);
  }
  const seconds_: number[] = [], baselineSeconds: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    let t0 = process.hrtime.bigint();
    wasmPass(plain, buf);
    baselineSeconds.push(seconds(t0));
    t0 = process.hrtime.bigint();
    wasmPass(withSet, buf);
    seconds_.push(seconds(t0));
  }
  const report = withSet.indicatorReports[0]!;
  return {
    ...first, seconds: seconds_, maxRssKb: peakRssKb(),
    indicators: { loaded: report.loaded, duplicates: report.duplicates, baselineSeconds, loadCpuSeconds: median(loads) - median(bare), memoryBytes, baselineMemoryBytes, matched },
  };
}

function runChildRow(o: Options): Measured {
  const row = o.child!;
  if (row === "blob" || row === "blob-split") {
    // One instance for all passes (startBlob begins each), as a long-running shipper would.
    const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs-simd.wasm"));
    return measure(() => t, (tt) => blobPass(tt, o.blob!, row === "blob-split"), 2, o.runs);
  }
  const buf = readFileSync(o.corpus!);
  switch (row) {
    case "wasm":
    case "wasm-copies":
    case "wasm-portable":
    case "wasm-ecs":
    case "wasm-event-id": {
      const options: MapOptions = row === "wasm-ecs" ? { profile: "ecs" } : row === "wasm-event-id" ? { eventId: true } : {};
      const t = FlowTransform.fromFile(builtWasm(row === "wasm-portable" ? "nsg-flow-ecs.wasm" : "nsg-flow-ecs-simd.wasm"), options);
      // (1) and (1b) read each batch's output as a view of the module's buffer, as the CLI does;
      // (1c) takes a copy of each, the library's default (output safe to keep).
      t.outputViews = row !== "wasm-copies";
      return measure(() => t, (tt) => wasmPass(tt, buf), 3, o.runs);
    }
    case "wasm-indicators":
      return indicatorRow(o, buf);
    case "copy": {
      const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs-simd.wasm"));
      const records = perLinePass(buf, false, () => "").records;
      return measure(() => t, (tt) => copyPass(tt, buf, records), 3, o.runs);
    }
    case "reference":
      return measure(() => buf, (b, exact) => perLinePass(b, exact, (bb, s, e) => referenceMap(bb.subarray(s, e))), 1, o.runs);
    case "naive":
      return measure(() => buf, (b, exact) => perLinePass(b, exact, (bb, s, e) => naiveMap(bb.toString("utf8", s, e))), 1, o.runs);
    default:
      throw new Error(`unknown row ${row}`);
  }
}

// ─── Whole processes: rows (4c), (5), (6) ─────────────────────────────────────────────────────────

// Peak RSS from the kernel's high-water mark of this process image (VmHWM). Not getrusage's
// maxRSS: on Linux that survives exec, so a child spawned (forked) from a parent holding the
// corpus would report at least the parent's size.
function peakRssKb(): number {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

// Loaded into the measured process with --import: reports its peak RSS as it exits.
const RSS_MARK = "__bench_maxrss_kb=";
const RSS_HOOK = "data:text/javascript," + encodeURIComponent(
  `import { readFileSync } from "node:fs";
const peakRssKb = ${peakRssKb.toString()};
process.on("exit", () => process.stderr.write("\\n${RSS_MARK}" + peakRssKb() + "\\n"));`);

interface ProcessRun {
  seconds: number;
  maxRssKb: number;
  code: number | null;
  stderr: string;
}

/** Where a measured process reads and writes, as a user's shell would set it up: stdin from a
 * file (`< FILE`) or from `cat FILE |`, stdout into `| cat > /dev/null` (a pipe) or /dev/null. */
interface Io {
  stdin?: string;
  catIn?: string;
  pipeOut?: boolean;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function runProcess(args: string[], io: Io = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const out = openSync("/dev/null", "w");
    const t0 = process.hrtime.bigint();
    const argv = [process.execPath, "--import", RSS_HOOK, ...args];
    // A pipeline runs under bash with pipefail, so that the mapper's exit status counts.
    const command = (io.catIn ? `cat ${shellQuote(io.catIn)} | ` : "") + argv.map(shellQuote).join(" ") +
      (io.stdin ? ` < ${shellQuote(io.stdin)}` : "") + (io.pipeOut ? " | cat" : "");
    const child = io.stdin || io.catIn || io.pipeOut
      ? spawn("bash", ["-o", "pipefail", "-c", command], { stdio: ["ignore", out, "pipe"] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const s = seconds(t0);
      closeSync(out);
      const m = new RegExp(`${RSS_MARK}(\\d+)`).exec(stderr);
      resolve({ seconds: s, maxRssKb: m ? Number(m[1]) : 0, code, stderr: stderr.replace(new RegExp(`\\n?${RSS_MARK}\\d+\\n`), "") });
    });
  });
}

async function measureProcess(args: string[], runs: number, expect: Pass, io: Io = {}): Promise<Measured> {
  const times: number[] = [];
  let maxRssKb = 0;
  for (let i = 0; i <= runs; i++) {
    const r = await runProcess(args, io);
    if (r.code !== 0) throw new Error(`node ${args.join(" ")} exited with ${r.code}: ${r.stderr.trim()}`);
    if (i === 0) continue; // warm-up: page cache, compile caches
    times.push(r.seconds);
    maxRssKb = Math.max(maxRssKb, r.maxRssKb);
  }
  return { ...expect, seconds: times, maxRssKb };
}

function runChild(o: Options, row: string, files: { corpus: string; blob: string; indicators: string }): Measured {
  const args = [path.join(HERE, "bench.js"), "--child", row, "--corpus", files.corpus, "--blob", files.blob, "--indicators", files.indicators, "--runs", String(o.runs)];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`row ${row} failed (exit ${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split("\n").pop()!;
  return JSON.parse(last) as Measured;
}

/** The first `records` lines of the corpus (newline included). */
function firstLines(buf: Buffer, records: number): Buffer {
  let end = 0;
  for (let n = 0; n < records; n++) {
    const nl = buf.indexOf(0x0a, end);
    if (nl < 0) return buf;
    end = nl + 1;
  }
  return buf.subarray(0, end);
}

// ─── Agreement on a sample ──────────────────────────────────────────────────────────────────

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

interface Agreement {
  sample: number;
  coreSameBytes: number;
  coreSameJson: number;
  naiveSameBytes: number;
  firstDifference?: { record: number; core: string; reference: string };
  /** The full-ECS profile's core output = its reference output. */
  fullProfileSameBytes: number;
  firstFullProfileDifference?: { record: number; core: string; reference: string };
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(canonical(JSON.parse(a))) === JSON.stringify(canonical(JSON.parse(b)));
  } catch {
    return false; // not JSON at all
  }
}

/** The core (SIMD build), the reference and the naive mapper on the first `n` records. */
function agreement(corpus: Buffer, n: number): Agreement {
  const sample = firstLines(corpus, n);
  const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs-simd.wasm"));
  // The full-ECS profile: the core and the reference, byte for byte.
  const full = FlowTransform.fromFile(builtWasm("nsg-flow-ecs-simd.wasm"), { profile: "ecs" });
  const fullCore = Buffer.concat([full.push(sample).output, full.end().output]).toString("utf8").split("\n");
  const a = t.push(sample);
  const core = Buffer.concat([a.output, t.end().output]).toString("utf8").split("\n");
  const result: Agreement = { sample: 0, coreSameBytes: 0, coreSameJson: 0, naiveSameBytes: 0, fullProfileSameBytes: 0 };
  let i = 0;
  for (let s = 0; s < sample.length;) {
    const e = sample.indexOf(0x0a, s);
    const ref = referenceMap(sample.subarray(s, e));
    const c = core[i++] ?? "";
    result.sample++;
    if (c === ref) result.coreSameBytes++;
    else if (sameJson(c, ref)) result.coreSameJson++;
    else result.firstDifference ??= { record: result.sample, core: c, reference: ref };
    if (naiveMap(sample.toString("utf8", s, e)) === ref) result.naiveSameBytes++;
    const fullRef = referenceMap(sample.subarray(s, e), { profile: "ecs" });
    if (fullCore[i - 1] === fullRef) result.fullProfileSameBytes++;
    else result.firstFullProfileDifference ??= { record: result.sample, core: fullCore[i - 1] ?? "", reference: fullRef };
    s = e + 1;
  }
  return result;
}

// ─── Report ─────────────────────────────────────────────────────────────────────────────────

/** Row (1f)'s indicators: the generated list's size. */
const INDICATORS = 1_000_000;

/** Issue 18's targets on rows (1f) and (5i): the mapping with the million at ≥ 90% of the same
 * run without (interleaved in one process), the load ≤ 2 s of CPU and ≤ 64 MiB of linear memory. */
function indicatorTargets(rows: Row[], records: number): Target[] {
  const row = rows.find((r) => r.id === "wasm-indicators");
  const x = row?.m.indicators;
  if (!row || !x) return [];
  const share = median(x.baselineSeconds) / median(row.m.seconds);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const targets: Target[] = [
    { what: "(1f) with 1M indicators vs the same without", target: "≥ 90%",
      value: `${(100 * share).toFixed(1)}% (${fmtInt((median(x.baselineSeconds) / records) * 1e9)} → ${fmtInt(row.nsPerRecord)} ns/record; ` +
        `${fmtInt(x.matched)} events matching, ${((100 * x.matched) / records).toFixed(2)}%)`, pass: share >= 0.9 },
    { what: "(1f) loading the million, CPU", target: "≤ 2 s", value: `${(x.loadCpuSeconds * 1000).toFixed(0)} ms (${fmtInt(x.loaded)} loaded, ${fmtInt(x.duplicates)} duplicates)`, pass: x.loadCpuSeconds <= 2 },
    { what: "(1f) linear memory with the million", target: "≤ 64 MiB", value: `${mib(x.memoryBytes)} (${mib(x.baselineMemoryBytes)} without: +${mib(x.memoryBytes - x.baselineMemoryBytes)})`, pass: x.memoryBytes <= 64 * 2 ** 20 },
  ];
  const cli = rows.find((r) => r.id === "cli-indicators-stdin-pipe");
  const plain = rows.find((r) => r.id === "cli-stdin-pipe");
  if (cli && plain && !cli.m.notAvailable) {
    targets.push({ what: "(5i) CLI with 1M indicators vs (5g) without", target: "(context)", value: `${(100 * cli.recordsPerSecond / plain.recordsPerSecond).toFixed(1)}% (load included)`, pass: undefined });
  }
  return targets;
}

interface Row {
  id: string;
  label: string;
  kind: "in-process" | "process";
  m: Measured;
  recordsPerSecond: number;
  inMBps: number;
  outMBps: number;
  nsPerRecord: number;
  peakRssMB: number;
  vsReference?: number;
  ofCopyRoof?: number;
}

function machine(): Record<string, string | number> {
  let cpu = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** The commit measured, and whether the tree differs from it ("" outside a git checkout). */
function sourceVersion(): string {
  const git = (...args: string[]) => spawnSync("git", ["-C", ROOT, ...args], { encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.error || head.status !== 0) return "";
  const dirty = git("status", "--porcelain", "--untracked-files=no").stdout.split("\n").filter((l) => l.trim() !== "").length;
  return `git ${head.stdout.trim()}` + (dirty > 0 ? ` + uncommitted changes in ${dirty} files` : "");
}

/** Sources newer than what was built from them: the figures would be of older code. */
function staleBuild(): string[] {
  const newest = (dir: string, ext: string): number => {
    let t = 0;
    try {
      for (const f of readdirSync(dir, { recursive: true }) as string[]) {
        if (f.endsWith(ext)) t = Math.max(t, statSync(path.join(dir, f)).mtimeMs);
      }
    } catch {
      // a packaged install without sources: nothing to compare
    }
    return t;
  };
  const warnings: string[] = [];
  const assembly = newest(path.join(ROOT, "assembly"), ".ts");
  for (const wasm of ["nsg-flow-ecs.wasm", "nsg-flow-ecs-simd.wasm"]) {
    const built = path.join(ROOT, "build", wasm);
    if (existsSync(built) && statSync(built).mtimeMs < assembly) warnings.push(`build/${wasm} is older than assembly/`);
  }
  for (const dir of ["host", "bench"]) {
    if (newest(path.join(ROOT, dir), ".ts") > newest(path.join(ROOT, "dist", dir), ".js")) warnings.push(`dist/${dir}/ is older than ${dir}/`);
  }
  return warnings;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function pad(s: string, w: number, left = false): string {
  return left ? s.padEnd(w) : s.padStart(w);
}

function toRow(id: string, label: string, kind: Row["kind"], m: Measured): Row {
  const s = m.seconds.length > 0 ? median(m.seconds) : NaN;
  return {
    id, label, kind, m,
    recordsPerSecond: m.records / s,
    inMBps: m.inBytes / MB / s,
    outMBps: m.outBytes / MB / s,
    nsPerRecord: (s / m.records) * 1e9,
    peakRssMB: m.maxRssKb / 1024,
  };
}

function printTable(rows: Row[]): void {
  const head = ["row", "records/s", "in MB/s", "out MB/s", "ns/record", "peak RSS", "× (2)", "of (3)"];
  const widths = [64, 12, 9, 9, 10, 10, 8, 8];
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!, i === 0)).join(" ");
  console.log(line(head));
  console.log("-".repeat(widths.reduce((a, b) => a + b + 1, -1)));
  for (const r of rows) {
    if (r.m.notAvailable) {
      console.log(line([r.label, r.m.notAvailable, "", "", "", "", "", ""]));
      continue;
    }
    console.log(line([
      r.label,
      fmtInt(r.recordsPerSecond),
      r.inMBps.toFixed(1),
      r.outMBps.toFixed(1),
      fmtInt(r.nsPerRecord),
      `${r.peakRssMB.toFixed(0)} MB`,
      r.vsReference === undefined ? "" : `${r.vsReference.toFixed(2)}×`,
      r.ofCopyRoof === undefined ? "" : `${(r.ofCopyRoof * 100).toFixed(1)}%`,
    ]));
  }
}

interface Target {
  what: string;
  target: string;
  value: string;
  pass: boolean | undefined;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.child) {
    process.stdout.write(JSON.stringify(runChildRow(o)) + "\n");
    return;
  }
  const started = process.hrtime.bigint();
  const host = machine();
  console.log(`nsg-flow-ecs benchmark — ${new Date().toISOString()}`);
  console.log(`machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGB} GB; Node ${host.node} (V8 ${host.v8}); ${host.os}`);
  const source = sourceVersion();
  if (source) console.log(`source: ${source}`);

  for (const w of staleBuild()) console.log(`WARNING: ${w}: run \`npm run build\` first, or these figures are of older code`);

  const dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-bench-"));
  try {
    let t0 = process.hrtime.bigint();
    if (o.fluentBitOnly) {
      printFluentBit(benchFluentBit(dir, o.fluentBitRecords, Math.max(3, o.runs), o.seed, (s) => process.stderr.write(s + "\n"), o.enrichment ? undefined : BASE_ROWS));
      return;
    }
    const corpus: Corpus = generateCorpus(o.records, o.seed);
    const files = { corpus: path.join(dir, "corpus.ndjson"), blob: path.join(dir, "PT1H.json"), indicators: path.join(dir, "indicators.txt") };
    writeFileSync(files.corpus, corpus.ndjson);
    writeFileSync(files.blob, corpus.blob);
    console.log(`corpus (seed ${o.seed}, generated in ${seconds(t0).toFixed(1)} s): ${describeCorpus(corpus)}`);
    if (o.enrichment) {
      // Rows (1f), (5i): a million indicators in a realistic mix matching about 1% of the
      // corpus's events (bench/enrichment.ts); the match rate is counted.
      t0 = process.hrtime.bigint();
      const list = indicatorList(eventAddresses(corpus.ndjson), INDICATORS);
      writeFileSync(files.indicators, list.text);
      console.log(`indicators for (1f), (5i): ${fmtInt(INDICATORS)} (exact IPv4 and IPv6, IPv4 CIDRs /8-/31, IPv6 /48s; ${list.picked} of them ` +
        `remote addresses of the corpus's events), ${(list.text.length / MB).toFixed(1)} MB as a list, generated in ${seconds(t0).toFixed(1)} s`);
    }
    console.log(`each row: median of ${o.runs} runs after warm-up; MB = 10^6 bytes; rows (1)-(4) in a child process each, ` +
      `(1)-(3) holding the ${(corpus.ndjson.length / MB).toFixed(0)} MB corpus in memory (it counts in their peak RSS)`);

    t0 = process.hrtime.bigint();
    const agree = agreement(corpus.ndjson, Math.min(20_000, o.records));
    console.log(`agreement on the first ${agree.sample} records: core = reference byte for byte ${agree.coreSameBytes}, ` +
      `same JSON in another key order ${agree.coreSameJson}, different ${agree.sample - agree.coreSameBytes - agree.coreSameJson}; ` +
      `naive mapper = reference byte for byte ${agree.naiveSameBytes}; full-ECS profile, core = reference byte for byte ` +
      `${agree.fullProfileSameBytes} (${seconds(t0).toFixed(1)} s)`);
    if (agree.firstFullProfileDifference) {
      const d = agree.firstFullProfileDifference;
      console.log(`  first full-ECS profile difference, record ${d.record}:\n    core:      ${d.core.slice(0, 3000)}\n    reference: ${d.reference.slice(0, 3000)}`);
    }
    if (agree.firstDifference) {
      const d = agree.firstDifference;
      console.log(`  first difference, record ${d.record}:\n    core:      ${d.core.slice(0, 2000)}\n    reference: ${d.reference.slice(0, 2000)}`);
    }
    console.log("");

    const rows: Row[] = [];
    const inProcess: [string, string][] = [
      ["wasm", "(1)  WASM core, SIMD build: FlowTransform.push, 1 MiB chunks"],
      ["wasm-portable", "(1b) WASM core, portable build (Fluent Bit's file)"],
      ["wasm-copies", "(1c) WASM core, SIMD build, each batch's output copied out"],
      ["wasm-ecs", "(1d) WASM core, SIMD build, full-ECS profile (profile \"ecs\")"],
      ["wasm-event-id", "(1e) WASM core, SIMD build, documented profile with event.id"],
      ["reference", "(2)  plain-TS reference: referenceMap(bytes) per line"],
      ["naive", "(2b) naive JSON.parse → object → JSON.stringify per line"],
      ["copy", "(3)  copy roof: FlowTransform.copyThrough, 1 MiB chunks"],
      ["blob-split", "(4)  blob splitting: a PT1H.json blob to flattened raw events"],
      ["blob", "(4b) blob splitting and mapping: a PT1H.json blob to ECS"],
    ];
    if (o.enrichment) inProcess.splice(5, 0, ["wasm-indicators", "(1f) WASM core, SIMD build, with 1M indicators (a list file)"]);
    for (const [id, label] of inProcess) {
      t0 = process.hrtime.bigint();
      const m = runChild(o, id, files);
      process.stderr.write(`  ${label.trim()}: ${seconds(t0).toFixed(1)} s\n`);
      rows.push(toRow(id, label, "in-process", m));
    }
    const byId = (id: string) => rows.find((r) => r.id === id)!;
    const wasmRow = byId("wasm");
    const naiveRow = byId("naive");

    // Output sizes are those of the same work in process: (1) for the CLI, (2b) for (6), (4) for (4c).
    const cliArgs = [path.join(HOST, "cli.js"), "--quiet"];
    const processRows: [string, string, string[], Pass, Io?][] = [
      ["cli", `(5)  CLI, whole process: cli.js --quiet FILE > /dev/null (${host.cores} threads)`, [...cliArgs, files.corpus], wasmRow.m],
      ["cli-1", "(5b) the same with --threads 1", [...cliArgs, "--threads", "1", files.corpus], wasmRow.m],
      ["cli-stdin", "(5e) CLI, stdin: cli.js < FILE > /dev/null", cliArgs, wasmRow.m, { stdin: files.corpus }],
      ["cli-pipe", "(5f) CLI into a pipe: cli.js FILE | cat > /dev/null", [...cliArgs, files.corpus], wasmRow.m, { pipeOut: true }],
      ["cli-stdin-pipe", "(5g) CLI, stdin into a pipe: cli.js < FILE | cat > /dev/null", cliArgs, wasmRow.m, { stdin: files.corpus, pipeOut: true }],
      ["cli-cat-pipe", "(5h) CLI, pipe to pipe: cat FILE | cli.js | cat > /dev/null", cliArgs, wasmRow.m, { catIn: files.corpus, pipeOut: true }],
      ["node-mapper", "(6)  plain Node mapper, whole process, > /dev/null", [path.join(HERE, "node-mapper.js"), files.corpus], naiveRow.m],
      ["node-mapper-stdin-pipe", "(6b) plain Node mapper, stdin into a pipe: < FILE | cat", [path.join(HERE, "node-mapper.js")], naiveRow.m, { stdin: files.corpus, pipeOut: true }],
    ];
    // A backfill: many files in one run, where the threads start once for all of them.
    const backfill = Array<string>(BACKFILL_FILES).fill(files.corpus);
    processRows.push(["cli-backfill", `(5c) the same, FILE given ${BACKFILL_FILES} times in one run (${host.cores} threads)`, [path.join(HOST, "cli.js"), "--quiet", ...backfill], wasmRow.m]);
    processRows.push(["cli-backfill-1", "(5d) the same with --threads 1", [path.join(HOST, "cli.js"), "--quiet", "--threads", "1", ...backfill], wasmRow.m]);
    processRows.push(["cli-blob", `(4c) CLI on the PT1H.json blob, whole process, > /dev/null (${host.cores} threads)`, [path.join(HOST, "cli.js"), "--quiet", files.blob], byId("blob").m]);
    processRows.push(["cli-blob-1", "(4d) the same with --threads 1", [path.join(HOST, "cli.js"), "--quiet", "--threads", "1", files.blob], byId("blob").m]);
    if (o.enrichment) {
      processRows.push(["cli-indicators-stdin-pipe", "(5i) the same as (5g) with --indicators bench=FILE (1M)", [...cliArgs, "--indicators", `bench=${files.indicators}`],
        byId("wasm-indicators").m, { stdin: files.corpus, pipeOut: true }]);
    }
    for (const [id, label, args, expect, io] of processRows) {
      t0 = process.hrtime.bigint();
      const copies = id.startsWith("cli-backfill") ? BACKFILL_FILES : 1;
      const m = await measureProcess(args, o.runs, id.startsWith("cli-blob")
        ? { records: corpus.blobTuples, errors: 0, inBytes: corpus.blob.length, outBytes: expect.outBytes }
        : { records: corpus.stats.records * copies, errors: 0, inBytes: corpus.ndjson.length * copies, outBytes: expect.outBytes * copies }, io);
      process.stderr.write(`  ${label.trim()}: ${seconds(t0).toFixed(1)} s\n`);
      rows.push(toRow(id, label, "process", m));
    }

    const ref = byId("reference");
    const roof = byId("copy");
    for (const r of rows) {
      if (r.m.notAvailable) continue;
      r.vsReference = r.recordsPerSecond / ref.recordsPerSecond;
      r.ofCopyRoof = r.recordsPerSecond / roof.recordsPerSecond;
    }

    // Every mapped path must map every generated event.
    const problems: string[] = [];
    if (agree.fullProfileSameBytes !== agree.sample) {
      problems.push(`full-ECS profile: core and reference differ on ${agree.sample - agree.fullProfileSameBytes} of ${agree.sample} records`);
    }
    for (const r of rows) {
      if (r.m.notAvailable) continue;
      const expected = r.id.startsWith("blob") || r.id.startsWith("cli-blob") ? corpus.blobTuples
        : corpus.stats.records * (r.id.startsWith("cli-backfill") ? BACKFILL_FILES : 1);
      if (r.m.errors !== 0) problems.push(`${r.label.trim()}: ${r.m.errors} error events (expected 0)`);
      if (r.m.records !== expected) problems.push(`${r.label.trim()}: ${r.m.records} records (expected ${expected})`);
    }

    let fluentBit: FluentBitBench = { skipped: "skipped: --no-fluent-bit", records: 0, runs: 0, rows: [], problems: [] };
    if (o.fluentBit) {
      t0 = process.hrtime.bigint();
      fluentBit = benchFluentBit(dir, o.fluentBitRecords, Math.max(3, o.runs), o.seed, (s) => process.stderr.write(s + "\n"), o.enrichment ? undefined : BASE_ROWS);
      process.stderr.write(`  (7) Fluent Bit rows: ${seconds(t0).toFixed(1)} s\n`);
      for (const p of fluentBit.problems) problems.push(`(7) ${p}`);
    }

    const ORDER = ["wasm", "wasm-portable", "wasm-copies", "wasm-ecs", "wasm-event-id", "wasm-indicators", "reference", "naive", "copy", "blob-split", "blob", "cli-blob", "cli-blob-1", "cli", "cli-1", "cli-backfill", "cli-backfill-1",
      "cli-stdin", "cli-pipe", "cli-stdin-pipe", "cli-indicators-stdin-pipe", "cli-cat-pipe", "node-mapper", "node-mapper-stdin-pipe"];
    rows.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
    console.log("");
    printTable(rows);
    console.log("");
    console.log("(2) is the test oracle: it also checks UTF-8, nesting depth and field types and writes 2^64 counters exactly;");
    console.log("    (2b) is the mapping as a user would write it (the code of (6)); (2) and (2b) return strings.");
    console.log("(1d) maps each record to the full-ECS event (event.id, Community ID, totals, cloud and resource context), (1e) to the");
    console.log("    documented event plus event.id (two SHA-1 blocks a tuple, the group's prefix hashed once): what the id alone costs.");
    console.log("(1), (1b) take each batch's output as a view of the module's buffer (what the CLI writes out); (1c) copies it into");
    console.log("    a new Buffer (the library's default); (3) copies each record inside the module and reads nothing back.");
    console.log("(4), (4b) read the blob file in 1 MiB chunks (page cache), records = flow tuples; MB/s in is of blob bytes.");
    console.log("    (4) is the splitting alone (what a collector does: every tuple to its flattened raw event); (4b) also maps each to ECS.");
    console.log("(4c) is the CLI reading the same blob file (it tells a blob from NDJSON by the first bytes); (4d) the same on one thread.");
    console.log("(5), (6): wall time of the whole process (start-up, WASM compile, reading, writing to /dev/null); peak RSS = the process's maxRSS.");
    console.log(`(4c), (5), (5c) map on every core (the CLI's default, for inputs of ${PARALLEL_FROM / 2 ** 20} MiB and more); (4d), (5b), (5d) on one thread.`);
    console.log("(5e)-(5h), (6b): as a shell runs them (bash -o pipefail -c …), the time of the whole pipeline, `cat` included;");
    console.log("    (5g) and (6b) are the same pipeline for the CLI and the plain mapper; (5h) reads a real pipe (its size unknown).");
    console.log(`(5c), (5d): ${BACKFILL_FILES} files in one run (a backfill), ${fmtInt(corpus.stats.records * BACKFILL_FILES)} events: the process and its threads start once.`);
    if (o.enrichment) {
      console.log("(1f) maps the corpus with a million indicators loaded from a list file (FlowTransform's indicators option), runs");
      console.log("    interleaved in one process with the same runs on an instance without them; (5i) is (5g) with --indicators: its time");
      console.log("    includes loading the million in every thread (the CLI's own start-up cost with a feed).");
    }

    const blob = byId("blob-split");
    const cli = byId("cli");
    const cliOne = byId("cli-1");
    const mapper = byId("node-mapper");
    const targets: Target[] = [
      { what: "WASM core (1) records/s", target: "≥ 1,000,000", value: fmtInt(wasmRow.recordsPerSecond), pass: wasmRow.recordsPerSecond >= 1e6 },
      { what: "WASM core (1) vs reference (2)", target: "≥ 15×", value: `${wasmRow.vsReference!.toFixed(2)}×`, pass: wasmRow.vsReference! >= 15 },
      { what: "WASM core (1) vs copy roof (3)", target: "≥ 30%", value: `${(wasmRow.ofCopyRoof! * 100).toFixed(1)}%`, pass: wasmRow.ofCopyRoof! >= 0.3 },
      { what: "full-ECS profile (1d) vs documented profile (1)", target: "≥ 75%", value: `${(100 * byId("wasm-ecs").recordsPerSecond / wasmRow.recordsPerSecond).toFixed(1)}% ` +
        `(${(100 * byId("wasm-ecs").recordsPerSecond / byId("wasm-event-id").recordsPerSecond).toFixed(1)}% of (1e), with event.id)`, pass: byId("wasm-ecs").recordsPerSecond >= 0.75 * wasmRow.recordsPerSecond },
      { what: "CLI (5) vs plain Node mapper (6), end to end", target: "≥ 10×", value: `${(cli.recordsPerSecond / mapper.recordsPerSecond).toFixed(2)}×`, pass: cli.recordsPerSecond / mapper.recordsPerSecond >= 10 },
      { what: `CLI (5), ${host.cores} threads, vs one thread (5b)`, target: "≥ 1.6×", value: `${(cli.recordsPerSecond / cliOne.recordsPerSecond).toFixed(2)}×`, pass: cli.recordsPerSecond / cliOne.recordsPerSecond >= 1.6 },
      { what: "CLI stdin into a pipe (5g) vs file into a pipe (5f)", target: "≥ 0.9×", value: `${(byId("cli-stdin-pipe").recordsPerSecond / byId("cli-pipe").recordsPerSecond).toFixed(2)}×`,
        pass: byId("cli-stdin-pipe").recordsPerSecond >= 0.9 * byId("cli-pipe").recordsPerSecond },
      { what: "CLI stdin into a pipe (5g) vs plain mapper (6b)", target: "≥ 7×", value: `${(byId("cli-stdin-pipe").recordsPerSecond / byId("node-mapper-stdin-pipe").recordsPerSecond).toFixed(2)}×`,
        pass: byId("cli-stdin-pipe").recordsPerSecond >= 7 * byId("node-mapper-stdin-pipe").recordsPerSecond },
      { what: "CLI pipe to pipe (5h) vs file into a pipe (5f)", target: "(context)", value: `${(byId("cli-cat-pipe").recordsPerSecond / byId("cli-pipe").recordsPerSecond).toFixed(2)}×`, pass: undefined },
      { what: `CLI (5c), ${host.cores} threads, vs one thread (5d), backfill`, target: "(context)", value: `${(byId("cli-backfill").recordsPerSecond / byId("cli-backfill-1").recordsPerSecond).toFixed(2)}×`, pass: undefined },
      ...indicatorTargets(rows, corpus.stats.records),
      { what: "blob splitting (4)", target: "≥ 200 MB/s, peak RSS < 200 MB", value: `${blob.inMBps.toFixed(1)} MB/s, ${blob.peakRssMB.toFixed(0)} MB`, pass: blob.inMBps >= 200 && blob.peakRssMB < 200 },
    ];
    console.log("");
    console.log("targets:");
    for (const t of targets) {
      const verdict = t.pass === undefined ? "n/a " : t.pass ? "pass" : "MISS";
      console.log(`  [${verdict}] ${pad(t.what, 48, true)} ${pad(t.target, 30, true)} ${t.value}`);
    }

    console.log("");
    console.log("(7) the filter in Fluent Bit:");
    printFluentBit(fluentBit);
    console.log("");

    if (problems.length > 0) {
      console.log("");
      console.log("PROBLEMS (the figures above are not comparable):");
      for (const p of problems) console.log(`  ${p}`);
      process.exitCode = 1;
    }

    const total = seconds(started);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const json = {
      date: new Date().toISOString(),
      machine: host,
      source,
      options: { records: o.records, runs: o.runs, seed: o.seed, fluentBitRecords: o.fluentBitRecords },
      corpus: { ...corpus.stats, averageBytes: corpus.stats.bytes / corpus.stats.records, blobBytes: corpus.blob.length, blobRecords: corpus.blobRecords, blobTuples: corpus.blobTuples },
      agreement: agree,
      rows: rows.map((r) => ({
        id: r.id, label: r.label.trim(), kind: r.kind, notAvailable: r.m.notAvailable,
        records: r.m.records, errors: r.m.errors, inBytes: r.m.inBytes, outBytes: r.m.outBytes, seconds: r.m.seconds,
        recordsPerSecond: r.m.notAvailable ? undefined : r.recordsPerSecond,
        inMBps: r.m.notAvailable ? undefined : r.inMBps,
        outMBps: r.m.notAvailable ? undefined : r.outMBps,
        nsPerRecord: r.m.notAvailable ? undefined : r.nsPerRecord,
        peakRssMB: r.m.notAvailable ? undefined : r.peakRssMB,
        vsReference: r.vsReference, ofCopyRoof: r.ofCopyRoof, indicators: r.m.indicators,
      })),
      targets,
      fluentBit,
      problems,
      totalSeconds: total,
    };
    const jsonFile = path.join(RESULTS_DIR, "bench.json");
    const svgFile = path.join(RESULTS_DIR, "bench.svg");
    writeFileSync(jsonFile, JSON.stringify(json, null, 2) + "\n");
    writeFileSync(svgFile, barChart(
      "nsg-flow-ecs: records per second",
      `${host.cpu}, ${host.cores} cores, Node ${host.node}; ${o.records} records, ${(corpus.stats.bytes / corpus.stats.records).toFixed(0)} B/event; ${json.date.slice(0, 10)}`,
      "records/s",
      rows.map((r) => ({ label: r.label.replace(/:.*$/, "").replace(", > /dev/null", "").replace(/\s+/g, " "), value: r.m.notAvailable ? 0 : r.recordsPerSecond, note: r.m.notAvailable })),
    ));
    if (o.keep) {
      writeFileSync(path.join(RESULTS_DIR, "corpus.ndjson"), corpus.ndjson);
      writeFileSync(path.join(RESULTS_DIR, "PT1H.json"), corpus.blob);
    }
    console.log("");
    console.log(`wrote ${path.relative(process.cwd(), jsonFile)}, ${path.relative(process.cwd(), svgFile)}` +
      (o.keep ? ", corpus.ndjson, PT1H.json" : "") + `; total ${total.toFixed(0)} s` + (total > 300 ? " (over the 5-minute budget: try --records)" : ""));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
