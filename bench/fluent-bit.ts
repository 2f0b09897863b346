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
// build/nsg-flow-ecs.aot. Then the enrichment rows (issues 18, 19; data from bench/enrichment.ts):
// (a) Fluent Bit's `checklist` (two instances, a million exact IPv4) and (c) its `geoip2` (a
// synthetic Country database, two keys, three fields each), on the same events with the two
// addresses as top-level keys, against a run with no filter on those; (b) our .aot with a million
// indicators and (d) with City + ASN, from a data directory in Accessible_Paths, against the .aot
// row. A row that loads data also runs on the first fifth of the records: its per-record figure
// is the slope between the two runs (above the same slope with no filter), and what it pays once
// (the load, and whatever its first records cost: checklist's first lookups cost it about a
// second more) is printed apart. (b) and (d) are measured only when their output shows
// enrichment (a filter built without the settings file ignores it). The real-Fluent-Bit tests use
// the same helpers (tests/fluent-bit-real*.test.ts, tests/fluent-bit-lua.test.ts).
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateCorpus } from "./corpus.js";
import { eventAddresses, exactIPv4List, geoDatabases, indicatorList, withAddressKeys } from "./enrichment.js";

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
  /** Median µs per record above the run with no filter (undefined for that run); for a row that
   * loads data, the slope between its two sizes of run (shortCpuSeconds) above the baseline's. */
  micros?: number;
  /** The minimal Lua's µs / this row's µs. */
  vsLua?: number;
  /** The strict Lua's µs / this row's µs. */
  vsStrictLua?: number;
  /** This row's µs / the copy floor's (same engine). */
  ofFloor?: number;
  notAvailable?: string;
  /** Enrichment rows: the run with no filter they are measured above ("none" or "none-keys"). */
  baseline?: string;
  /** CPU seconds of each run on the first fifth of the records (rows that load data, and their
   * baselines). */
  shortCpuSeconds?: number[];
  /** Rows that load data: the CPU seconds it pays once (the intercept of the line through its
   * two runs, minus the baseline's), its data's load and whatever else does not grow with the
   * records. */
  loadSeconds?: number;
  /** The slope figure (µs a record between the run on a fifth and the full run, above the
   * baseline's), also for a row measured whole: the .aot without data, so that a row that loads
   * data is compared with it by the same method (a whole-run figure also carries what the run
   * pays once, spread over its records). */
  slopeMicros?: number;
  /** Records of the check pass's output that the filter enriched (a match, a lookup found). */
  enriched?: number;
  /** Records of the check pass's output. */
  outputRecords?: number;
}

export interface FluentBitBench {
  skipped?: string;
  fluentBit?: string;
  records: number;
  runs: number;
  rows: FluentBitRow[];
  problems: string[];
  /** Timed runs of the enrichment rows (fewer than `runs` when that is more than 3). */
  enrichmentRuns?: number;
  /** What the enrichment rows' data is (counts, databases), for the printout. */
  enrichmentData?: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The rows that are not about enrichment (`--rows` names them; bench.js --no-enrichment). */
export const BASE_ROWS = ["floor-wasm", "floor-aot", "lua-strict", "lua-minimal", "wasm", "aot"];
/** The enrichment rows (issues 18 and 19): the peers (a) checklist and (c) geoip2 on records
 * with the two addresses as top-level keys (and their own run with no filter, none-keys), and
 * our .aot with (b) a million indicators and (d) City + ASN. */
export const ENRICHMENT_ROWS = ["none-keys", "checklist", "aot-indicators", "geoip2", "aot-geo"];

/** The message of rows (b) and (d) when our filter's output shows no enrichment. */
export const NOT_LOADED = "not measured: the filter did not load the data";

const INDICATORS = 1_000_000;
/** Timed runs of the enrichment rows at most (the median of these). */
const ENRICHMENT_RUNS = 3;
/** Bump when bench/enrichment.ts's databases change: they are cached (written once, 20-40 s). */
const GEO_DATA_VERSION = "v1";

/** The synthetic Country, City and ASN databases, from bench-results/enrichment-data/ when an
 * earlier run wrote them. */
function cachedGeoDatabases(log: (s: string) => void): { country: string; city: string; asn: string } {
  const cache = path.join(ROOT, "bench-results", "enrichment-data");
  const file = (k: string) => path.join(cache, `geo-${GEO_DATA_VERSION}-${k}.mmdb`);
  const files = { country: file("country"), city: file("city"), asn: file("asn") };
  if (Object.values(files).every((f) => existsSync(f))) return files;
  log("  writing the synthetic Country, City and ASN databases (once: cached in bench-results/enrichment-data/)");
  mkdirSync(cache, { recursive: true });
  const dbs = geoDatabases();
  for (const k of ["country", "city", "asn"] as const) writeFileSync(files[k], dbs[k]);
  return files;
}

/** A directory for our filter's Accessible_Paths: its settings file and the data it names. */
function dataDirectory(dir: string, settings: unknown, files: Record<string, Buffer | string>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "nsg-flow-ecs.json"), JSON.stringify(settings) + "\n");
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

function count(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

interface RowSpec {
  id: string;
  label: string;
  filters: Filter[];
  maps: boolean;
  notAvailable?: string;
  /** The records it reads: the flattened events, or the same with the two address keys. */
  events?: "keys";
  /** The run with no filter it is measured above (default "none"). */
  baseline?: string;
  /** It loads data at start-up: it runs on the first fifth of the records too (see above). */
  loads?: boolean;
  /** Fluent Bit's working directory (our filter's data directory). */
  cwd?: string;
  /** A record of the output the filter enriched; none at all in the check = the data did not load. */
  enriched?: RegExp;
}

/** The Fluent Bit rows: every filter over the same file, runs interleaved (row by row, run after
 * run) so that a slower spell of a shared machine touches them all alike. */
export function benchFluentBit(dir: string, records: number, runs: number, seed?: number, log: (s: string) => void = () => {}, only?: string[]): FluentBitBench {
  const fb = findFluentBit();
  if (!("bin" in fb)) return { skipped: `skipped: ${fb.why}`, records, runs, rows: [], problems: [] };
  mkdirSync(dir, { recursive: true });
  const events = path.join(dir, "fluent-bit-events.ndjson");
  const eventBytes = flattenedEvents(records, seed);
  writeFileSync(events, eventBytes);
  const probe = buildProbe(path.join(dir, "probe"));
  const build = (f: string) => path.join(ROOT, "build", f);
  const aot = existsSync(build("nsg-flow-ecs.aot")) ? build("nsg-flow-ecs.aot") : undefined;
  const rows: RowSpec[] = [
    { id: "none", label: "no filter (tail + json parser → null)", filters: [], maps: false },
    { id: "floor-wasm", label: "copy floor, interpreted (.wasm)", filters: [{ kind: "wasm", path: probe.wasm, fn: "copy_floor" }], maps: false },
    { id: "floor-aot", label: "copy floor, AOT (.aot)", filters: probe.aot ? [{ kind: "wasm", path: probe.aot, fn: "copy_floor" }] : [], maps: false, notAvailable: probe.aot ? undefined : "no flb-wamrc" },
    { id: "lua-strict", label: "strict Lua, the module's checks (nsg-flow-ecs.lua)", filters: [{ kind: "lua", script: LUA_STRICT, call: "nsg_flow_ecs" }], maps: true },
    { id: "lua-minimal", label: "minimal Lua, no checks (nsg-flow-ecs-minimal.lua)", filters: [{ kind: "lua", script: LUA_MINIMAL, call: "nsg_flow_ecs" }], maps: true },
    { id: "wasm", label: "build/nsg-flow-ecs.wasm, interpreted", filters: [{ kind: "wasm", path: build("nsg-flow-ecs.wasm"), fn: "nsg_flow_ecs" }], maps: true },
    { id: "aot", label: "build/nsg-flow-ecs.aot, AOT", filters: aot ? [{ kind: "wasm", path: aot, fn: "nsg_flow_ecs" }] : [], maps: true, notAvailable: aot ? undefined : "not built (no flb-wamrc)" },
  ];
  const problems: string[] = [];
  const wanted = (id: string) => !only || only.includes(id);
  const files: Record<string, { full: string; short: string }> = {};
  const shortRecords = Math.ceil(records / 5);
  let enrichmentData: string[] | undefined;
  if (ENRICHMENT_ROWS.some(wanted)) {
    // The enrichment rows' data, from these very events (bench/enrichment.ts).
    const t0 = Date.now();
    const addresses = eventAddresses(eventBytes);
    const keyed = withAddressKeys(eventBytes, addresses);
    const firstLines = (b: Buffer) => {
      let end = 0;
      for (let n = 0; n < shortRecords; n++) end = b.indexOf(0x0a, end) + 1;
      return b.subarray(0, end);
    };
    files.plain = { full: events, short: path.join(dir, "fluent-bit-events-fifth.ndjson") };
    files.keys = { full: path.join(dir, "fluent-bit-events-keys.ndjson"), short: path.join(dir, "fluent-bit-events-keys-fifth.ndjson") };
    writeFileSync(files.plain.short, firstLines(eventBytes));
    writeFileSync(files.keys.full, keyed);
    writeFileSync(files.keys.short, firstLines(keyed));
    const exact = path.join(dir, "checklist-ipv4.txt");
    writeFileSync(exact, exactIPv4List(addresses, INDICATORS));
    const list = indicatorList(addresses, INDICATORS);
    const geo = cachedGeoDatabases(log);
    const indicatorDir = dataDirectory(path.join(dir, "data-indicators"), { indicators: { bench: "indicators.txt" } }, { "indicators.txt": list.text });
    const geoDir = dataDirectory(path.join(dir, "data-geo"), { geo: ["city.mmdb", "asn.mmdb"] }, { "city.mmdb": readFileSync(geo.city), "asn.mmdb": readFileSync(geo.asn) });
    const size = (f: string) => `${(readFileSync(f).length / 1e6).toFixed(1)} MB`;
    enrichmentData = [
      `indicators: ${INDICATORS.toLocaleString("en-US")} in the mix of bench/indicators.ts (exact IPv4 and IPv6, IPv4 CIDRs /8-/31, IPv6 /48s), ` +
        `${list.picked} of them remote addresses of the events; checklist: ${INDICATORS.toLocaleString("en-US")} exact IPv4, remote addresses of ~1% of the events among them`,
      `databases: synthetic (tests/geo/mmdb-writer.ts, bench/enrichment.ts), covering public IPv4 and 2000::/4: ` +
        `GeoIP2-Country layout ${size(geo.country)} (geoip2), GeoIP2-City ${size(geo.city)} + GeoLite2-ASN ${size(geo.asn)} (ours)`,
      `our filter's data: a directory in Accessible_Paths holding nsg-flow-ecs.json (Fluent Bit run from it); data prepared in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ];
    const noAot = aot ? undefined : "not built (no flb-wamrc)";
    rows.push(
      { id: "none-keys", label: "no filter, records with src_ip/dst_ip keys", filters: [], maps: false, events: "keys" },
      { id: "checklist", label: "(a) checklist ×2 ($src_ip, $dst_ip), 1M exact IPv4", events: "keys", baseline: "none-keys", loads: true, maps: false,
        filters: [{ kind: "checklist", file: exact, key: "$src_ip", record: "ioc_src true" }, { kind: "checklist", file: exact, key: "$dst_ip", record: "ioc_dst true" }],
        enriched: /"ioc_(src|dst)":/ },
      { id: "aot-indicators", label: "(b) .aot with 1M indicators (realistic mix)", maps: true, loads: true, cwd: indicatorDir, notAvailable: noAot,
        filters: aot ? [{ kind: "wasm", path: aot, fn: "nsg_flow_ecs", accessiblePaths: indicatorDir }] : [], enriched: /"threat":\{"enrichments":\[/ },
      { id: "geoip2", label: "(c) geoip2, Country layout (synthetic), 2 keys × 3 fields", events: "keys", baseline: "none-keys", maps: false,
        filters: [{ kind: "geoip2", database: geo.country, keys: ["src_ip", "dst_ip"], records: ["src", "dst"].flatMap((k) => [
          `${k}_country_code ${k}_ip %{country.iso_code}`, `${k}_country_name ${k}_ip %{country.names.en}`, `${k}_continent ${k}_ip %{continent.code}`]) }],
        enriched: /"(src|dst)_country_code":"[A-Z]/ },
      { id: "aot-geo", label: "(d) .aot with City + ASN (synthetic)", maps: true, cwd: geoDir, notAvailable: noAot,
        filters: aot ? [{ kind: "wasm", path: aot, fn: "nsg_flow_ecs", accessiblePaths: geoDir }] : [], enriched: /"geo":\{/ },
    );
  }
  for (const r of rows) if (!wanted(r.id) && r.id !== "none") r.notAvailable = "not asked for (--rows)";
  // A baseline runs when a row needs it.
  for (const r of rows) {
    if (r.id === "none-keys" && r.notAvailable && rows.some((x) => x.baseline === "none-keys" && !x.notAvailable)) r.notAvailable = undefined;
  }
  const result: FluentBitRow[] = rows.map((r) => ({ id: r.id, label: r.label, cpuSeconds: [], notAvailable: r.notAvailable, baseline: r.id === "none" || r.id === "none-keys" ? undefined : r.baseline ?? "none" }));
  const row = (id: string) => result.find((x) => x.id === id)!;
  const fileOf = (r: RowSpec) => (r.events === "keys" ? files.keys! : files.plain ?? { full: events, short: "" });
  const live = rows.filter((r) => !r.notAvailable);
  // Untimed first pass: every record comes out, and those of a mapping are ECS events, not errors.
  for (const r of live) {
    if (r.enriched) {
      // An enrichment row: the output itself, to see that the filter enriched records at all.
      const conf = writePipeline(dir, `${r.id}-check`, { input: { file: fileOf(r).full, parser: true }, filters: r.filters, output: "stdout" });
      const run = runFluentBit(fb.bin, ["-c", conf], { cwd: r.cwd });
      const out = run.stdout.toString("utf8");
      const got = count(out, /\n/g);
      const res = row(r.id);
      res.outputRecords = got;
      res.enriched = out.split("\n").filter((l) => r.enriched!.test(l)).length;
      const errors = r.maps ? count(out, /"kind":"pipeline_error"/g) : 0;
      if (run.status !== 0 || got !== records || errors > 0 || errorLines(run.stderr).length > 0) {
        problems.push(`${r.label}: exit ${run.status}, ${got} of ${records} records, ${errors} error events` +
          (errorLines(run.stderr).length ? `; ${errorLines(run.stderr)[0]}` : ""));
      }
      if (res.enriched === 0) {
        if (r.cwd) res.notAvailable = NOT_LOADED; // ours: the data mechanism is not in this build
        else problems.push(`${r.label}: no record enriched`);
      }
      continue;
    }
    const conf = writePipeline(dir, `${r.id}-check`, { input: { file: fileOf(r).full, parser: true }, filters: r.filters, output: "counter", dropErrorEvents: r.maps });
    const run = runFluentBit(fb.bin, ["-c", conf], { cwd: r.cwd });
    const got = countedRecords(run.stdout);
    if (run.status !== 0 || got !== records || errorLines(run.stderr).length > 0) {
      problems.push(`${r.label}: exit ${run.status}, ${got} of ${records} records${r.maps ? " mapped without error" : ""}` +
        (errorLines(run.stderr).length ? `; ${errorLines(run.stderr)[0]}` : ""));
    }
  }
  const timed = live.filter((r) => !row(r.id).notAvailable);
  // Runs on a fifth of the records: the rows that load data, and the baselines they are measured above.
  const shortIds = new Set<string>();
  for (const r of timed) {
    if (!r.loads) continue;
    shortIds.add(r.id).add(r.baseline ?? "none");
    // Our filter with data is compared with our filter without: by the same slope.
    if (r.id.startsWith("aot-")) shortIds.add("aot");
  }
  for (let i = 0; i < runs; i++) {
    for (const r of timed) {
      // The enrichment rows (and the runs on a fifth) stop after ENRICHMENT_RUNS: checklist alone
      // costs seconds of load a run, and the whole benchmark must stay within minutes.
      if (i >= ENRICHMENT_RUNS && (ENRICHMENT_ROWS.includes(r.id))) continue;
      const conf = writePipeline(dir, r.id, { input: { file: fileOf(r).full, parser: true }, filters: r.filters, output: "null" });
      const run = runFluentBit(fb.bin, ["-c", conf], { cwd: r.cwd });
      if (run.status !== 0 || !Number.isFinite(run.cpuSeconds)) problems.push(`${r.label}: run ${i + 1} exited ${run.status}`);
      row(r.id).cpuSeconds.push(run.cpuSeconds);
      if (shortIds.has(r.id) && i < ENRICHMENT_RUNS) {
        const shortConf = writePipeline(dir, `${r.id}-fifth`, { input: { file: fileOf(r).short, parser: true }, filters: r.filters, output: "null" });
        const short = runFluentBit(fb.bin, ["-c", shortConf], { cwd: r.cwd });
        if (short.status !== 0 || !Number.isFinite(short.cpuSeconds)) problems.push(`${r.label}: run ${i + 1} on a fifth exited ${short.status}`);
        (row(r.id).shortCpuSeconds ??= []).push(short.cpuSeconds);
      }
    }
    log(`  Fluent Bit run ${i + 1} of ${runs}`);
  }
  for (const r of result) {
    if (r.notAvailable || r.baseline === undefined) continue;
    const base = row(r.baseline);
    const above = median(r.cpuSeconds) - median(base.cpuSeconds);
    if (r.shortCpuSeconds) {
      // The slope between the two sizes, above the baseline's: what each record costs once the
      // data is loaded; the rest of the run's CPU above the baseline is paid once.
      const slope = (x: FluentBitRow) => (median(x.cpuSeconds) - median(x.shortCpuSeconds!)) / (records - shortRecords);
      r.slopeMicros = (slope(r) - slope(base)) * 1e6;
    }
    if (r.shortCpuSeconds && live.find((x) => x.id === r.id)?.loads) {
      r.micros = r.slopeMicros!;
      r.loadSeconds = above - (r.micros / 1e6) * records;
    } else r.micros = (above / records) * 1e6;
  }
  const micros = (id: string) => result.find((x) => x.id === id)?.micros;
  for (const r of result) {
    if (r.micros === undefined || !BASE_ROWS.includes(r.id)) continue;
    const lua = micros("lua-minimal");
    if (lua !== undefined) r.vsLua = lua / r.micros;
    const strict = micros("lua-strict");
    if (strict !== undefined) r.vsStrictLua = strict / r.micros;
    const floor = r.id === "wasm" ? micros("floor-wasm") : r.id === "aot" ? micros("floor-aot") : undefined;
    if (floor !== undefined) r.ofFloor = r.micros / floor;
  }
  return { fluentBit: `${fb.version} (${fb.bin})`, records, runs, enrichmentRuns: Math.min(runs, ENRICHMENT_RUNS), rows: result, problems, enrichmentData };
}

/** The rows as a table, and the targets. */
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
  const base = b.rows.filter((r) => r.id === "none" || BASE_ROWS.includes(r.id));
  for (const r of base) {
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
  const verdict = (v: number | undefined, pass: boolean) => (v === undefined || !Number.isFinite(v) ? "n/a " : pass ? "pass" : "MISS");
  print(`  [${verdict(wasm, (wasm ?? 0) >= 1)}] interpreted .wasm ≥ 1.0× the minimal Lua filter: ${wasm?.toFixed(2) ?? "-"}×`);
  print(`  [${verdict(aot, (aot ?? 0) >= 2.8)}] .aot ≥ 2.8× the minimal Lua filter: ${aot?.toFixed(2) ?? "-"}×`);

  const enrich = b.rows.filter((r) => ENRICHMENT_ROWS.includes(r.id));
  if (enrich.length > 0) {
    print("");
    print(`Enrichment rows (issues 18, 19): µs/record above the run with no filter on the same records, median of ${b.enrichmentRuns ?? b.runs} runs;`);
    print("rows with a load: µs/record = the slope between a run on all records and one on the first fifth (above the same with no filter),");
    print("  once = the rest of their CPU (the load, and what else does not grow with the records); enriched = records of the check pass's");
    print("  output with a match or a found address");
    for (const d of b.enrichmentData ?? []) print(`  ${d}`);
    const w2 = [60, 12, 10, 18, 10];
    const line2 = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(w2[i]!) : s.padStart(w2[i]!))).join(" ");
    print(line2(["filter", "µs/record", "once", "enriched", "vs .aot"]));
    print("-".repeat(w2.reduce((a, x) => a + x + 1, -1)));
    const aotMicros = b.rows.find((r) => r.id === "aot")?.micros;
    // A row measured by its slope (it loads data) is compared with the .aot's slope.
    const aotSlope = b.rows.find((r) => r.id === "aot")?.slopeMicros;
    const aotBase = (r: FluentBitRow) => (r.loadSeconds !== undefined ? aotSlope : aotMicros);
    for (const r of enrich) {
      const enriched = r.enriched === undefined ? "" : `${r.enriched} (${((100 * r.enriched) / Math.max(1, r.outputRecords ?? 0)).toFixed(2)}%)`;
      if (r.notAvailable) {
        print(line2([r.label, "", "", enriched, ""]) + `  ${r.notAvailable}`);
        continue;
      }
      if (r.id === "none-keys") {
        print(line2([r.label, `${((median(r.cpuSeconds) / b.records) * 1e6).toFixed(2)} (all)`, "", "", ""]));
        continue;
      }
      const base = aotBase(r);
      const vsAot = r.id.startsWith("aot-") && base !== undefined ? `${(r.micros! / base).toFixed(2)}×` : "";
      print(line2([r.label, r.micros!.toFixed(2), r.loadSeconds === undefined ? "" : `${r.loadSeconds.toFixed(2)} s`, enriched, vsAot]));
    }
    const get = (id: string) => b.rows.find((r) => r.id === id);
    const measured = (id: string) => (get(id) && !get(id)!.notAvailable ? get(id)!.micros : undefined);
    const why = (id: string) => get(id)?.notAvailable ?? "not run";
    const ind = measured("aot-indicators"), geo = measured("aot-geo"), checklist = measured("checklist"), geoip2 = measured("geoip2");
    const indBase = get("aot-indicators") ? aotBase(get("aot-indicators")!) : undefined;
    if (ind !== undefined && indBase !== undefined) {
      const x = ind / indBase;
      print(`  [${verdict(x, x <= 1.15)}] (b) .aot with 1M indicators ≤ 1.15× the .aot without: ${x.toFixed(2)}× ` +
        `(${ind.toFixed(2)} against ${indBase.toFixed(2)} µs a record, both as the slope between a fifth and all of the records)`);
    } else print(`  [n/a ] (b) .aot with 1M indicators ≤ 1.15× the .aot without: ${why("aot-indicators")}`);
    if (checklist !== undefined) {
      print(`  [info] (a) checklist peer: ${get("checklist")!.loadSeconds!.toFixed(2)} s of CPU once (load and first lookups), ${checklist.toFixed(2)} µs a record for the two lookups (issue 18 measured 3.2 s and about 19 µs)`);
    }
    if (geo !== undefined && aotMicros !== undefined) {
      const x = geo / aotMicros;
      print(`  [${verdict(x, x <= 1.5)}] (d) .aot with City + ASN ≤ 1.5× the .aot without: ${x.toFixed(2)}×`);
      if (geoip2 !== undefined) {
        const extra = geo - aotMicros;
        print(`  [${verdict(extra, extra < geoip2)}] (d) its extra cost below geoip2's (c), which does less: ${extra.toFixed(2)} µs against ${geoip2.toFixed(2)} µs a record`);
      }
    } else print(`  [n/a ] (d) .aot with City + ASN ≤ 1.5× the .aot without, and its extra cost below geoip2's: ${why("aot-geo")}`);
    if (geoip2 !== undefined) print(`  [info] (c) geoip2 peer: ${geoip2.toFixed(2)} µs a record (issue 19 measured about 5.4 µs on GeoLite2-Country)`);
  }
  for (const p of b.problems) print(`  PROBLEM: ${p}`);
}

/** `node dist/bench/fluent-bit.js [--records N] [--runs N] [--rows wasm,lua-minimal,…]` (ids: BASE_ROWS and ENRICHMENT_ROWS above): the rows alone. */
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
