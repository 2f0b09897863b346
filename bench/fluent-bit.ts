// The filter in a real Fluent Bit: finding the binary, writing a pipeline's configuration,
// running it (CPU time of the whole process), and the Fluent Bit rows of `npm run bench`:
//
//   tail + json parser → [filter] → null, over generated flattened events; per filter, the CPU
//   time (user + sys) of the whole Fluent Bit process minus that of the same run with no filter,
//   divided by the records: µs per record, the median of --runs runs.
//
// The filters: a copy floor (build of assembly/fluent-bit-probe.ts, interpreted and AOT), the two
// Lua peers — the strict one (examples/fluent-bit/nsg-flow-ecs.lua: checks what the module checks,
// the same error events) and the minimal one most users would write
// (examples/fluent-bit/nsg-flow-ecs-minimal.lua: the same ECS on valid events, no checks), the
// yardstick of the targets — build/nsg-flow-ecs.wasm (WAMR's interpreter) and
// build/nsg-flow-ecs.aot. The real-Fluent-Bit tests use the same helpers
// (tests/fluent-bit-real*.test.ts, tests/fluent-bit-lua.test.ts).
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateCorpus } from "./corpus.js";

/** The checkout (or installed package) root: the nearest folder up with our package.json. */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "nsg-flow-ecs") return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find the nsg-flow-ecs checkout");
    dir = up;
  }
})();

export interface FluentBit {
  bin: string;
  /** `Fluent Bit v5.1.1` */
  version: string;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $FLUENT_BIT, else ../shared/fluent-bit/bin/fluent-bit, else fluent-bit on PATH; or why none. */
export function findFluentBit(env: NodeJS.ProcessEnv = process.env): FluentBit | { why: string } {
  let bin: string | undefined;
  if (env.FLUENT_BIT) {
    if (!executable(env.FLUENT_BIT)) return { why: `FLUENT_BIT=${env.FLUENT_BIT} is not an executable file` };
    bin = env.FLUENT_BIT;
  } else {
    const shared = path.resolve(ROOT, "..", "shared", "fluent-bit", "bin", "fluent-bit");
    bin = executable(shared) ? shared
      : (env.PATH ?? "").split(path.delimiter).map((d) => path.join(d, "fluent-bit")).find((f) => f !== "fluent-bit" && executable(f));
  }
  if (!bin) return { why: "no Fluent Bit binary (set FLUENT_BIT, or put it in ../shared/fluent-bit/bin/ or on PATH)" };
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return { why: `${bin} --version failed: ${r.error?.message ?? r.stderr.trim()}` };
  return { bin, version: r.stdout.split("\n")[0]!.trim() };
}

/** The two Lua peers of the filter (examples/fluent-bit/README.md, "The Lua alternatives"). */
export const LUA_STRICT = path.join(ROOT, "examples", "fluent-bit", "nsg-flow-ecs.lua");
export const LUA_MINIMAL = path.join(ROOT, "examples", "fluent-bit", "nsg-flow-ecs-minimal.lua");

// ─── Pipelines ──────────────────────────────────────────────────────────────────────────────

export type Filter =
  /** `accessiblePaths`: the filter's Accessible_Paths (where it finds its nsg-flow-ecs.json). */
  | { kind: "wasm"; path: string; fn: string; accessiblePaths?: string }
  | { kind: "lua"; script: string; call: string }
  /** Fluent Bit's own list lookup: `key` looked up in `file` (exact mode), `record` added on a match. */
  | { kind: "checklist"; file: string; key: string; record: string }
  /** Fluent Bit's own MaxMind DB lookup: each of `keys` looked up, `records` ("KEY LOOKUP_KEY %{path}") added. */
  | { kind: "geoip2"; database: string; keys: string[]; records: string[] };

export interface Pipeline {
  /** A file read once from the top; `parser: true` = the json parser (record = the event),
   * false = no parser (record = {"log": "<line>"}). */
  input: { file: string; parser: boolean } | { stdin: true; parser: boolean };
  /** Seconds between flushes to the output (default 0.2). */
  flush?: number;
  filters: Filter[];
  output: "null" | "stdout" | "counter";
  /** json.escape_unicode (Fluent Bit's default: on). */
  escapeUnicode?: boolean;
  /** Drops error events before the output (a grep filter): a counter output then counts the
   * records that mapped. */
  dropErrorEvents?: boolean;
}

/** A classic-format configuration for the pipeline, and the parsers file it names. */
export function writePipeline(dir: string, name: string, p: Pipeline): string {
  mkdirSync(dir, { recursive: true });
  const parsers = path.join(dir, "parsers.conf");
  writeFileSync(parsers, "[PARSER]\n    Name   json\n    Format json\n");
  const lines = [
    "[SERVICE]",
    `    Flush        ${p.flush ?? 0.2}`,
    "    Grace        1",
    "    Log_Level    info",
    `    Parsers_File ${parsers}`,
  ];
  if (p.escapeUnicode !== undefined) lines.push(`    json.escape_unicode ${p.escapeUnicode ? "on" : "off"}`);
  if ("file" in p.input) {
    lines.push("[INPUT]", "    Name            tail", `    Path            ${p.input.file}`, "    Read_from_Head  On",
      "    Exit_On_Eof     On", "    Buffer_Max_Size 256K", "    Tag             flow");
  } else {
    lines.push("[INPUT]", "    Name            stdin", "    Buffer_Size     256K", "    Tag             flow");
  }
  if (p.input.parser) lines.push("    Parser          json");
  for (const f of p.filters) {
    if (f.kind === "wasm") {
      lines.push("[FILTER]", "    Name            wasm", "    Match           *", "    Event_Format    json",
        `    Wasm_Path       ${f.path}`, `    Function_Name   ${f.fn}`, "    Wasm_Heap_Size  512K", "    Wasm_Stack_Size 256K");
      if (f.accessiblePaths) lines.push(`    Accessible_Paths ${f.accessiblePaths}`);
    } else if (f.kind === "checklist") {
      lines.push("[FILTER]", "    Name       checklist", "    Match      *", `    File       ${f.file}`, "    Mode       exact",
        `    Lookup_Key ${f.key}`, `    Record     ${f.record}`);
    } else if (f.kind === "geoip2") {
      lines.push("[FILTER]", "    Name       geoip2", "    Match      *", `    Database   ${f.database}`,
        ...f.keys.map((k) => `    Lookup_Key ${k}`), ...f.records.map((r) => `    Record     ${r}`));
    } else {
      lines.push("[FILTER]", "    Name    lua", "    Match   *", `    script  ${f.script}`, `    call    ${f.call}`);
    }
  }
  if (p.dropErrorEvents) lines.push("[FILTER]", "    Name    grep", "    Match   *", "    Exclude $event['kind'] ^pipeline_error$");
  lines.push("[OUTPUT]", `    Name  ${p.output}`, "    Match *");
  if (p.output === "stdout") lines.push("    Format        json_lines", "    json_date_key false");
  const file = path.join(dir, `${name}.conf`);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** CPU seconds of the Fluent Bit process: user + sys. */
  cpuSeconds: number;
}

/** Runs `fluent-bit args…` to its end (from `cwd`), its stdin from `stdinFile` or nothing. The
 * CPU time comes from bash's `times` (children's user and sys), on file descriptor 3. */
export function runFluentBit(bin: string, args: string[], opts: { cwd?: string; stdinFile?: string; timeoutMs?: number } = {}): Run {
  const script = '"$@" <"$NSG_STDIN"; s=$?; times >&3; exit $s';
  const r = spawnSync("bash", ["-c", script, "bash", bin, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NSG_STDIN: opts.stdinFile ?? "/dev/null" },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    maxBuffer: 1 << 30,
    timeout: opts.timeoutMs ?? 600_000,
  });
  if (r.error) throw r.error;
  const times = (r.output[3] as Buffer | null)?.toString("utf8") ?? "";
  // "0m0.001s 0m0.002s\n0m1.234s 0m0.567s\n": the second line is the children's user and sys.
  const children = times.trim().split("\n")[1] ?? "";
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout as Buffer,
    stderr: (r.stderr as Buffer).toString("utf8"),
    cpuSeconds: secs.length === 2 ? secs[0]! + secs[1]! : NaN,
  };
}

/** Fluent Bit's log lines at level error (what a healthy run never has). */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /\[\s*error\]/.test(l));
}

/** Records a counter output saw: it prints {"…","log_records":N,…} per chunk. */
export function countedRecords(stdout: Buffer): number {
  let n = 0;
  for (const line of stdout.toString("utf8").split("\n")) {
    const m = /"log_records":(\d+)/.exec(line);
    if (m) n += Number(m[1]);
  }
  return n;
}

// ─── The probe filters (copy floor, echo) ───────────────────────────────────────────────────

/** Builds assembly/fluent-bit-probe.ts into `dir` (and, unless `aot` is false, its AOT file when
 * a compiler is there): the copy floor and the echo filter. */
export function buildProbe(dir: string, { aot: withAot = true } = {}): { wasm: string; aot?: string; aotWhy?: string } {
  mkdirSync(dir, { recursive: true });
  const wasm = path.join(dir, "fluent-bit-probe.wasm");
  const asc = path.join(ROOT, "node_modules", ".bin", "asc");
  const r = spawnSync(asc, [path.join(ROOT, "assembly", "fluent-bit-probe.ts"), "--outFile", wasm, "--optimizeLevel", "3",
    "--shrinkLevel", "0", "--converge", "--noAssert", "--runtime", "incremental",
    "--use", "abort=assembly/abi/abort/abort"], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the probe filter failed: ${r.stderr}${r.stdout}`);
  if (!withAot) return { wasm, aotWhy: "not asked for" };
  const aot = path.join(dir, "fluent-bit-probe.aot");
  const a = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build-aot.mjs"), "--wasm", wasm, "--out", aot], { cwd: ROOT, encoding: "utf8" });
  return a.status === 0 ? { wasm, aot } : { wasm, aotWhy: (a.stderr || a.stdout).trim() };
}

// ─── The benchmark rows ─────────────────────────────────────────────────────────────────────

/** The corpus's flattened events only (no wrapped lines: the Lua peer reads the parsed event). */
export function flattenedEvents(records: number, seed?: number): Buffer {
  const lines = generateCorpus(Math.ceil(records * 1.05) + 10, seed).ndjson.toString("utf8").split("\n");
  const flat = lines.filter((l) => l && !l.startsWith('{"message":')).slice(0, records);
  if (flat.length < records) throw new Error("the corpus gave too few flattened events");
  return Buffer.from(flat.join("\n") + "\n");
}

export interface FluentBitRow {
  id: string;
  label: string;
  /** CPU seconds of each timed run. */
  cpuSeconds: number[];
  /** Median µs per record above the run with no filter (undefined for that run). */
  micros?: number;
  /** The minimal Lua's µs / this row's µs. */
  vsLua?: number;
  /** The strict Lua's µs / this row's µs. */
  vsStrictLua?: number;
  /** This row's µs / the copy floor's (same engine). */
  ofFloor?: number;
  notAvailable?: string;
}

export interface FluentBitBench {
  skipped?: string;
  fluentBit?: string;
  records: number;
  runs: number;
  rows: FluentBitRow[];
  problems: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The Fluent Bit rows: every filter over the same file, runs interleaved (row by row, run after
 * run) so that a slower spell of a shared machine touches them all alike. */
export function benchFluentBit(dir: string, records: number, runs: number, seed?: number, log: (s: string) => void = () => {}, only?: string[]): FluentBitBench {
  const fb = findFluentBit();
  if (!("bin" in fb)) return { skipped: `skipped: ${fb.why}`, records, runs, rows: [], problems: [] };
  mkdirSync(dir, { recursive: true });
  const events = path.join(dir, "fluent-bit-events.ndjson");
  writeFileSync(events, flattenedEvents(records, seed));
  const probe = buildProbe(path.join(dir, "probe"));
  const build = (f: string) => path.join(ROOT, "build", f);
  const aot = existsSync(build("nsg-flow-ecs.aot")) ? build("nsg-flow-ecs.aot") : undefined;
  const rows: { id: string; label: string; filters: Filter[]; maps: boolean; notAvailable?: string }[] = [
    { id: "none", label: "no filter (tail + json parser → null)", filters: [], maps: false },
    { id: "floor-wasm", label: "copy floor, interpreted (.wasm)", filters: [{ kind: "wasm", path: probe.wasm, fn: "copy_floor" }], maps: false },
    { id: "floor-aot", label: "copy floor, AOT (.aot)", filters: probe.aot ? [{ kind: "wasm", path: probe.aot, fn: "copy_floor" }] : [], maps: false, notAvailable: probe.aot ? undefined : "no flb-wamrc" },
    { id: "lua-strict", label: "strict Lua, the module's checks (nsg-flow-ecs.lua)", filters: [{ kind: "lua", script: LUA_STRICT, call: "nsg_flow_ecs" }], maps: true },
    { id: "lua-minimal", label: "minimal Lua, no checks (nsg-flow-ecs-minimal.lua)", filters: [{ kind: "lua", script: LUA_MINIMAL, call: "nsg_flow_ecs" }], maps: true },
    { id: "wasm", label: "build/nsg-flow-ecs.wasm, interpreted", filters: [{ kind: "wasm", path: build("nsg-flow-ecs.wasm"), fn: "nsg_flow_ecs" }], maps: true },
    { id: "aot", label: "build/nsg-flow-ecs.aot, AOT", filters: aot ? [{ kind: "wasm", path: aot, fn: "nsg_flow_ecs" }] : [], maps: true, notAvailable: aot ? undefined : "not built (no flb-wamrc)" },
  ];
  for (const r of rows) if (only && !only.includes(r.id) && r.id !== "none") r.notAvailable = "not asked for (--rows)";
  const problems: string[] = [];
  const result: FluentBitRow[] = rows.map((r) => ({ id: r.id, label: r.label, cpuSeconds: [], notAvailable: r.notAvailable }));
  const live = rows.filter((r) => !r.notAvailable);
  // Untimed first pass: every record comes out, and those of a mapping are ECS events, not errors.
  for (const r of live) {
    const conf = writePipeline(dir, `${r.id}-check`, { input: { file: events, parser: true }, filters: r.filters, output: "counter", dropErrorEvents: r.maps });
    const run = runFluentBit(fb.bin, ["-c", conf]);
    const got = countedRecords(run.stdout);
    if (run.status !== 0 || got !== records || errorLines(run.stderr).length > 0) {
      problems.push(`${r.label}: exit ${run.status}, ${got} of ${records} records${r.maps ? " mapped without error" : ""}` +
        (errorLines(run.stderr).length ? `; ${errorLines(run.stderr)[0]}` : ""));
    }
  }
  for (let i = 0; i < runs; i++) {
    for (const r of live) {
      const conf = writePipeline(dir, r.id, { input: { file: events, parser: true }, filters: r.filters, output: "null" });
      const run = runFluentBit(fb.bin, ["-c", conf]);
      if (run.status !== 0 || !Number.isFinite(run.cpuSeconds)) problems.push(`${r.label}: run ${i + 1} exited ${run.status}`);
      result.find((x) => x.id === r.id)!.cpuSeconds.push(run.cpuSeconds);
    }
    log(`  Fluent Bit run ${i + 1} of ${runs}`);
  }
  const base = median(result.find((x) => x.id === "none")!.cpuSeconds);
  for (const r of result) {
    if (r.notAvailable || r.id === "none") continue;
    r.micros = ((median(r.cpuSeconds) - base) / records) * 1e6;
  }
  const micros = (id: string) => result.find((x) => x.id === id)?.micros;
  for (const r of result) {
    if (r.micros === undefined) continue;
    const lua = micros("lua-minimal");
    if (lua !== undefined) r.vsLua = lua / r.micros;
    const strict = micros("lua-strict");
    if (strict !== undefined) r.vsStrictLua = strict / r.micros;
    const floor = r.id === "wasm" ? micros("floor-wasm") : r.id === "aot" ? micros("floor-aot") : undefined;
    if (floor !== undefined) r.ofFloor = r.micros / floor;
  }
  return { fluentBit: `${fb.version} (${fb.bin})`, records, runs, rows: result, problems };
}

/** The rows as a table, and the two targets. */
export function printFluentBit(b: FluentBitBench, print: (s: string) => void = console.log): void {
  if (b.skipped) {
    print(`Fluent Bit rows: ${b.skipped}`);
    return;
  }
  print(`Fluent Bit rows: ${b.fluentBit}; tail + json parser → filter → null, ${b.records} flattened events; ` +
    `CPU (user + sys) of the whole process, median of ${b.runs} runs, minus the run with no filter`);
  const w = [52, 12, 12, 12, 12];
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(w[i]!) : s.padStart(w[i]!))).join(" ");
  print(line(["filter", "µs/record", "vs min. Lua", "vs strict", "× its floor"]));
  print("-".repeat(w.reduce((a, x) => a + x + 1, -1)));
  for (const r of b.rows) {
    if (r.notAvailable) {
      print(line([r.label, r.notAvailable, "", "", ""]));
      continue;
    }
    if (r.id === "none") {
      print(line([r.label, `${((median(r.cpuSeconds) / b.records) * 1e6).toFixed(2)} (all)`, "", "", ""]));
      continue;
    }
    const ratio = (v: number | undefined) => (v === undefined || r.id.startsWith("floor") ? "" : `${v.toFixed(2)}×`);
    print(line([r.label, r.micros!.toFixed(2), ratio(r.vsLua), ratio(r.vsStrictLua), r.ofFloor === undefined ? "" : `${r.ofFloor.toFixed(2)}×`]));
  }
  const wasm = b.rows.find((r) => r.id === "wasm")?.vsLua;
  const aot = b.rows.find((r) => r.id === "aot")?.vsLua;
  const verdict = (v: number | undefined, t: number) => (v === undefined ? "n/a " : v >= t ? "pass" : "MISS");
  print(`  [${verdict(wasm, 1)}] interpreted .wasm ≥ 1.0× the minimal Lua filter: ${wasm?.toFixed(2) ?? "-"}×`);
  print(`  [${verdict(aot, 2.8)}] .aot ≥ 2.8× the minimal Lua filter: ${aot?.toFixed(2) ?? "-"}×`);
  for (const p of b.problems) print(`  PROBLEM: ${p}`);
}

/** `node dist/bench/fluent-bit.js [--records N] [--runs N] [--rows wasm,lua-minimal,…]` (ids: floor-wasm, floor-aot, lua-strict, lua-minimal, wasm, aot): the rows alone. */
function main(argv: string[]): void {
  let records = 100_000, runs = 3;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--records") records = Number(argv[++i]);
    else if (argv[i] === "--runs") runs = Number(argv[++i]);
    else if (argv[i] === "--rows") only = argv[++i]!.split(",");
    else throw new Error(`unknown option ${argv[i]}`);
  }
  const dir = path.join(ROOT, "bench-results", "fluent-bit");
  const b = benchFluentBit(dir, records, runs, undefined, (s) => process.stderr.write(s + "\n"), only);
  printFluentBit(b);
  if (b.problems.length > 0) process.exitCode = 1;
}

if (fileURLToPath(import.meta.url) === path.resolve(process.argv[1] ?? "")) main(process.argv.slice(2));
