// Loads the WASM core once and moves many records per call through its batch ABI. The input
// and output buffers live in the module's memory and are reused; the host splits the stream at
// line boundaries itself so that, should the module ever trap, it can re-instantiate and redo
// exactly the lines of the failed call one by one: no record is lost or duplicated.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { moduleImports } from "./wasi-imports.js";

interface BatchExports {
  memory: WebAssembly.Memory;
  input_buffer(size: number): number;
  output_buffer(): number;
  ndjson_feed(len: number, last: number): number;
  copy_feed(len: number, last: number): number;
  map_one(len: number): number;
  too_large(available: number, total: number): number;
  reset_stream(): void;
  blob_start(fromOffset: number, incremental: number, flattenOnly: number): void;
  blob_feed(len: number, last: number): number;
  blob_resume(): number;
  blob_pending(): number;
  blob_offset(): number;
  last_records(): number;
  last_errors(): number;
  last_was_error(): number;
  max_record_bytes(): number;
  configure?(len: number): number;
  indicators_begin?(len: number): void;
  indicators_feed?(len: number): void;
  indicators_end?(nowMs: number): number;
  last_matched?(): number;
  last_geo_faults?(): number;
  geo_alloc?(len: number): number;
  geo_add?(ptr: number, len: number): number;
  geo_report?(): number;
  geo_clear?(): void;
  geo_stats?(): number;
}

export interface TransformResult {
  /** ECS NDJSON, one line per input record, in input order. A copy: safe to keep. */
  output: Buffer;
  records: number;
  errors: number;
  /** Events among `records` that matched at least one indicator (0 when none is loaded). */
  matched?: number;
  /** Geo lookups among them that met a corrupt database record and gave nothing (0 without
   * databases); geoStats() has the last such fault's reason. */
  geoFaults?: number;
}

export interface BlobOptions {
  /** Where the data given to pushBlob starts in the blob: 0 (the default) for a whole
   * document, or an offset this transform reported (blobOffset) to read only what was added. */
  fromOffset?: number;
  /** A growing blob: an unfinished document or record is "not written yet" rather than an
   * error; resume later from blobOffset. Implied by fromOffset > 0. */
  incremental?: boolean;
  /** Write the flattened raw events (what a collector forwards) instead of ECS. */
  flattenOnly?: boolean;
}

/** The output profiles: the documented intake's (the default) or the full ECS event. */
export type Profile = "sekoia" | "ecs";
export const PROFILES: readonly Profile[] = ["sekoia", "ecs"];

/** How this transform maps (the module's own defaults when left out). */
export interface MapOptions {
  /** Give every ECS event an `event.id`: the same for the same flow tuple whichever path,
   * process or machine maps it (see DEVELOPERS.md, "event.id"), for deduplication downstream.
   * The ecs profile always does. */
  eventId?: boolean;
  /** "sekoia" (the default): the documented intake's output, which its SIEM expects. "ecs": one
   * complete ECS event per flow tuple (Community ID, totals, cloud and resource context…; see
   * docs/ecs-profile.md). */
  profile?: Profile;
  /** The Community ID seed of the ecs profile, 0-65535 (default 0): set it when the other
   * sensors whose flows you join with these use another. */
  communityIdSeed?: number;
  /** Threat-intel and TOR indicator sets to match each event's source.ip and destination.ip
   * against (see DEVELOPERS.md, "Threat-intel and TOR indicators"): a matching event gets ECS
   * `threat.enrichments`. Each set has a name (its feed, the entries' `provider`) and a file
   * (`path`) or its bytes: a list of addresses and CIDRs, Tor's exit-addresses, or a STIX 2.1
   * bundle, told apart by content. A set that cannot be read or yields no indicator throws
   * IndicatorError. */
  indicators?: IndicatorSource[];
  /** MaxMind DB (`.mmdb`) files, as paths or bytes, to look each event's source.ip and
   * destination.ip up in (see docs/geo.md): a found address gets ECS `geo` and `as` under
   * `source` / `destination`. Typically a City and an ASN file; the first file to give a field
   * keeps it. A file that cannot be read or is not a MaxMind DB throws GeoError. */
  geo?: (string | Uint8Array)[];
}

/** What the core read from a database's metadata when it opened it. */
export interface GeoDatabaseInfo {
  /** The path given, or `bytes #N` for bytes given (N from 1 in the `geo` list). */
  file: string;
  database_type: string;
  /** When the file was built, in seconds since the epoch. */
  build_epoch: number;
  ip_version: number;
  node_count: number;
  record_size: number;
  bytes: number;
}

export interface GeoStats {
  lookupErrors: number;
  lastLookupError: string;
  cacheHits: number;
  cacheMisses: number;
  recordHits: number;
}

/** A geo database that could not be used: unreadable, or refused by the core (not a MaxMind DB,
 * corrupt, truncated, or one too many). */
export class GeoError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`geo ${file}: ${reason}`);
  }
}

/** The databases' bytes, read once (a re-instantiated module opens them again). */
function readGeoSources(sources: (string | Uint8Array)[] | undefined): { file: string; bytes: Uint8Array }[] {
  if (sources === undefined) return [];
  if (!Array.isArray(sources)) throw new TypeError("geo must be an array of paths or Uint8Arrays");
  return sources.map((s, i) => {
    if (s instanceof Uint8Array) return { file: `bytes #${i + 1}`, bytes: s };
    if (typeof s !== "string" || s === "") throw new TypeError("every geo database is a path or a Uint8Array");
    try {
      return { file: s, bytes: readFileSync(s) };
    } catch (err) {
      throw new GeoError(s, `cannot read it: ${(err as Error).message}`);
    }
  });
}

export interface IndicatorSource {
  name: string;
  path?: string;
  bytes?: Uint8Array;
}

/** What loading one set gave (the core's report). */
export interface IndicatorReport {
  name: string;
  format: "list" | "tor" | "stix";
  loaded: number;
  duplicates: number;
  invalid: number;
  expired: number;
  revoked: number;
  unsupported: number;
  /** The first bad lines (`line`, from 1) or STIX objects (`index`, from 0). */
  errors: { line?: number; index?: number; reason: string; text: string }[];
  generation: number;
  error?: string;
}

/** An indicator set that could not be used: unreadable, or no usable indicator in it. */
export class IndicatorError extends Error {
  constructor(message: string, readonly report?: IndicatorReport) {
    super(message);
  }
}

/** The sets' bytes, read once (a re-instantiated module loads them again). */
function readIndicatorSources(sources: IndicatorSource[] | undefined): { name: string; bytes: Uint8Array }[] {
  if (sources === undefined) return [];
  if (!Array.isArray(sources)) throw new TypeError("indicators must be an array of { name, path | bytes }");
  const seen = new Set<string>();
  return sources.map((s) => {
    if (typeof s?.name !== "string" || s.name === "") throw new TypeError("every indicator set needs a name");
    if (seen.has(s.name)) throw new TypeError(`indicator set ${JSON.stringify(s.name)} is given twice`);
    seen.add(s.name);
    if ((s.path === undefined) === (s.bytes === undefined)) throw new TypeError(`indicator set ${JSON.stringify(s.name)} needs a path or bytes (one of them)`);
    if (s.bytes !== undefined) return { name: s.name, bytes: s.bytes };
    try {
      return { name: s.name, bytes: readFileSync(s.path!) };
    } catch (err) {
      throw new IndicatorError(`indicators ${s.name}: cannot read ${s.path}: ${(err as Error).message}`);
    }
  });
}

/** The .wasm files the build produces, found from this file both as TypeScript source
 * (host/) and compiled (dist/host/). */
export function builtWasm(name: string): string {
  for (const rel of ["../../build/", "../../../build/"]) {
    const path = fileURLToPath(new URL(rel + name, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} is not built: run \`npm run build\``);
}

/** The module the host uses by default: the SIMD build where the engine has SIMD (Node does),
 * else the portable one that Fluent Bit also loads. */
export function defaultWasmPath(): string {
  const simd = builtWasm("nsg-flow-ecs-simd.wasm");
  return WebAssembly.validate(readFileSync(simd)) ? simd : builtWasm("nsg-flow-ecs.wasm");
}

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Uint8Array.of(NEWLINE);
const EMPTY = new Uint8Array(0);

const REQUIRED_EXPORTS = ["memory", "input_buffer", "output_buffer", "ndjson_feed", "map_one", "max_record_bytes"];

/** Whether the start of an input is a PT1H.json document (`{"records":[`) rather than NDJSON;
 * undefined while too little has been seen to tell. */
export function looksLikeBlob(head: Uint8Array): boolean | undefined {
  const pattern = '{"records":[';
  let matched = 0;
  for (const c of head) {
    // Whitespace may stand between the tokens `{` `"records"` `:` `[`.
    if ((c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) && [0, 1, 10, 11].includes(matched)) continue;
    if (c !== pattern.charCodeAt(matched)) return false;
    if (++matched === pattern.length) return true;
  }
  return undefined;
}

/** A module that is not one this host can drive: a user error, reported without a stack. */
export class ModuleError extends Error {}

export class FlowTransform {
  private exports!: BatchExports;
  private readonly maxRecord: number;
  /** Bytes after the last newline seen so far (at most maxRecord + 4 of them are kept). */
  private tail: Uint8Array = EMPTY;
  private tailTotal = 0;
  /** How many times the module trapped and was re-instantiated. */
  traps = 0;
  /** When true, `output` of push/end/blobSlices is a view of the module's output buffer, valid
   * only until the next call on this transform: no copy, for a caller that writes it out at
   * once (the CLI). By default each output is a copy, safe to keep. */
  outputViews = false;
  private blob?: Required<Pick<BlobOptions, "fromOffset" | "incremental">> & BlobOptions & { broken: boolean; lastOffset?: number };

  private readonly optionsJson: string | undefined;
  private readonly indicatorSets: { name: string; bytes: Uint8Array }[];
  /** The reports of the indicator sets, as the first instance loaded them. */
  indicatorReports: IndicatorReport[] = [];
  private readonly geoSources: { file: string; bytes: Uint8Array }[];
  /** The geo databases, as the first instance opened them. */
  geoDatabases: GeoDatabaseInfo[] = [];

  /** The compiled module (given to another thread, it shares its code). */
  get compiled(): WebAssembly.Module {
    return this.module;
  }

  constructor(private readonly module: WebAssembly.Module, options: MapOptions = {}) {
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const missing = REQUIRED_EXPORTS.filter((name) => !exported.has(name));
    if (missing.length > 0) {
      throw new ModuleError(`the module does not have the nsg-flow-ecs batch ABI (missing ${missing.join(", ")}); ` +
        "use build/nsg-flow-ecs.wasm or build/nsg-flow-ecs-simd.wasm");
    }
    this.optionsJson = encodeOptions(options);
    if (this.optionsJson !== undefined && !exported.has("configure")) {
      throw new ModuleError("the module takes no options (it has no `configure` export): it was built from an older nsg-flow-ecs");
    }
    this.indicatorSets = readIndicatorSources(options.indicators);
    if (this.indicatorSets.length > 0 && !exported.has("indicators_begin")) {
      throw new ModuleError("the module takes no indicator sets (it has no `indicators_begin` export): it was built from an older nsg-flow-ecs");
    }
    this.geoSources = readGeoSources(options.geo);
    if (this.geoSources.length > 0 && !exported.has("geo_add")) {
      throw new ModuleError("the module takes no geo databases (it has no `geo_add` export): it was built from an older nsg-flow-ecs");
    }
    this.instantiate();
    this.maxRecord = this.exports.max_record_bytes();
  }

  static fromFile(path: string = defaultWasmPath(), options: MapOptions = {}): FlowTransform {
    return new FlowTransform(new WebAssembly.Module(readFileSync(path)), options);
  }

  private instantiate(): void {
    const instance = new WebAssembly.Instance(this.module, moduleImports());
    this.exports = instance.exports as unknown as BatchExports;
    if (this.optionsJson !== undefined) {
      const bytes = Buffer.from(this.optionsJson);
      this.write(bytes);
      if (this.exports.configure!(bytes.length) !== 0) {
        throw new ModuleError(`the module does not take the options ${this.optionsJson}: it was built from another nsg-flow-ecs version`);
      }
    }
    const first = this.indicatorReports.length === 0;
    for (const set of this.indicatorSets) {
      const report = this.loadIndicators(set.name, set.bytes);
      if (report.error !== undefined) throw new IndicatorError(`indicators ${set.name}: ${report.error}`, report);
      if (first) this.indicatorReports.push(report);
    }
    const firstGeo = this.geoDatabases.length === 0;
    for (const db of this.geoSources) {
      const info = this.openGeo(db.file, db.bytes);
      if (firstGeo) this.geoDatabases.push(info);
    }
  }

  /** Hands one database to the instance: written once, straight into a block the core keeps. */
  private openGeo(file: string, bytes: Uint8Array): GeoDatabaseInfo {
    const e = this.exports;
    let ptr: number;
    try {
      ptr = e.geo_alloc!(bytes.length);
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      throw new GeoError(file, `${bytes.length} bytes do not fit in the module's memory`);
    }
    new Uint8Array(e.memory.buffer, ptr, bytes.length).set(bytes);
    const added = e.geo_add!(ptr, bytes.length) === 1;
    const report = JSON.parse(this.readCopy(e.geo_report!()).toString("utf8")) as Omit<GeoDatabaseInfo, "file"> & { error?: string };
    if (!added) throw new GeoError(file, report.error ?? "refused");
    return { file, ...report };
  }

  /** Loads one set into the instance, in pieces of 1 MiB (the core parses lists as they come). */
  private loadIndicators(name: string, bytes: Uint8Array): IndicatorReport {
    const e = this.exports;
    const nameBytes = Buffer.from(name);
    this.write(nameBytes);
    e.indicators_begin!(nameBytes.length);
    const PIECE = 1 << 20;
    for (let at = 0; at < bytes.length; at += PIECE) {
      const piece = bytes.subarray(at, at + PIECE);
      this.write(piece);
      e.indicators_feed!(piece.length);
    }
    return JSON.parse(this.readCopy(e.indicators_end!(Date.now())).toString("utf8")) as IndicatorReport;
  }

  private write(bytes: Uint8Array): void {
    const ptr = this.exports.input_buffer(bytes.length);
    new Uint8Array(this.exports.memory.buffer, ptr, bytes.length).set(bytes);
  }

  /** The output of the last call: a copy, or with `outputViews` a view of the module's buffer. */
  private read(len: number): Buffer {
    const ptr = this.exports.output_buffer();
    if (this.outputViews) return Buffer.from(this.exports.memory.buffer, ptr, len);
    return Buffer.from(new Uint8Array(this.exports.memory.buffer, ptr, len));
  }

  /** A copy of the last call's output whatever `outputViews` says: for results that must
   * outlive the next call. */
  private readCopy(len: number): Buffer {
    return Buffer.from(new Uint8Array(this.exports.memory.buffer, this.exports.output_buffer(), len));
  }

  /** Feeds a chunk of NDJSON (any boundaries: a line may span chunks). */
  push(chunk: Uint8Array): TransformResult {
    const lastNl = chunk.lastIndexOf(NEWLINE);
    if (lastNl < 0) {
      this.keepTail(chunk);
      return { output: Buffer.alloc(0), records: 0, errors: 0 };
    }
    let oversized: TransformResult | undefined;
    let carried: Uint8Array = this.tail;
    let from = 0;
    if (this.tailTotal > this.tail.length) {
      // A line too long to have been kept whole: its head becomes a too_large error event.
      from = chunk.indexOf(NEWLINE) + 1;
      this.keepTail(chunk.subarray(0, from - 1));
      oversized = this.flushTail();
      carried = EMPTY;
    }
    this.tail = EMPTY;
    this.tailTotal = 0;
    // The carried line and this chunk's complete lines go in as one batch.
    const result = this.completeLines(carried, chunk.subarray(from, lastNl + 1));
    this.keepTail(chunk.subarray(lastNl + 1));
    return oversized ? concat([oversized, result]) : result;
  }

  /** Ends the stream: a last line without a newline is mapped too. */
  end(): TransformResult {
    return this.tailTotal > 0 ? this.flushTail() : { output: Buffer.alloc(0), records: 0, errors: 0 };
  }

  /** Maps one raw event (the whole input is the record) to one JSON line, without newline. */
  mapRecord(raw: Uint8Array | string): string {
    const bytes = typeof raw === "string" ? Buffer.from(raw) : raw;
    return this.guarded(() => {
      this.write(bytes);
      return this.read(this.exports.map_one(bytes.length)).toString("utf8");
    }, () => internalError(bytes));
  }

  /** Starts reading a PT1H.json blob document: feed it with pushBlob, finish with endBlob. */
  startBlob(options: BlobOptions = {}): void {
    const from = options.fromOffset ?? 0;
    this.blob = { ...options, fromOffset: from, incremental: options.incremental ?? from > 0, broken: false };
    this.exports.blob_start(from, this.blob.incremental ? 1 : 0, options.flattenOnly ? 1 : 0);
  }

  /** One chunk of the blob (any boundaries). Its events come out in slices of a few MB, so a
   * caller writing each slice before taking the next keeps memory flat whatever the blob. */
  *blobSlices(chunk: Uint8Array, last = false): Generator<TransformResult> {
    const blob = this.blob;
    if (!blob) throw new Error("startBlob() first");
    if (blob.broken) return;
    try {
      this.write(chunk);
      let len = this.exports.blob_feed(chunk.length, last ? 1 : 0);
      while (true) {
        yield this.result(this.read(len));
        if (!this.exports.blob_pending()) break;
        len = this.exports.blob_resume();
      }
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      // The record state died with the instance: stop this blob, saying where to resume.
      this.traps++;
      blob.broken = true;
      const at = blob.lastOffset ?? blob.fromOffset;
      this.instantiate();
      yield { output: Buffer.from(blobTrapError(at) + "\n"), records: 1, errors: 1 };
      return;
    }
    blob.lastOffset = this.exports.blob_offset();
  }

  /** pushBlob/endBlob: the same, with each chunk's slices joined. */
  pushBlob(chunk: Uint8Array): TransformResult {
    return this.joinSlices(chunk, false);
  }

  endBlob(): TransformResult {
    return this.joinSlices(new Uint8Array(0), true);
  }

  private joinSlices(chunk: Uint8Array, last: boolean): TransformResult {
    // Each slice's view is overwritten by the next call: keep copies to join them.
    const slices: TransformResult[] = [];
    for (const r of this.blobSlices(chunk, last)) slices.push(this.outputViews ? { ...r, output: Buffer.from(r.output) } : r);
    return concat(slices);
  }

  /** Where to resume reading the blob: the byte just after its last complete record. */
  get blobOffset(): number {
    return this.blob?.lastOffset ?? this.blob?.fromOffset ?? 0;
  }

  /** The roof: the same framing and copying with no mapping. For the benchmark. */
  copyThrough(chunk: Uint8Array, last: boolean): number {
    this.write(chunk);
    return this.exports.copy_feed(chunk.length, last ? 1 : 0);
  }

  private keepTail(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.tailTotal += bytes.length;
    const room = this.maxRecord + 4 - this.tail.length;
    if (room > 0) this.tail = Buffer.concat([this.tail, bytes.subarray(0, room)]);
  }

  private flushTail(): TransformResult {
    const tail = this.tail;
    const total = this.tailTotal;
    this.tail = EMPTY;
    this.tailTotal = 0;
    if (total > tail.length) {
      return this.guarded(() => {
        this.write(tail);
        const len = this.exports.too_large(tail.length, total);
        return { output: this.readCopy(len), records: 1, errors: 1 };
      }, () => ({ output: Buffer.from(internalError(tail) + "\n"), records: 1, errors: 1 }));
    }
    return this.completeLines(tail, NEWLINE_BYTES);
  }

  /** `head` + `body`, which ends with a newline: complete lines, mapped in one call. */
  private completeLines(head: Uint8Array, body: Uint8Array): TransformResult {
    const len = head.length + body.length;
    if (len === 0) return { output: Buffer.alloc(0), records: 0, errors: 0 };
    return this.guarded(() => {
      const ptr = this.exports.input_buffer(len);
      const mem = new Uint8Array(this.exports.memory.buffer, ptr, len);
      mem.set(head);
      mem.set(body, head.length);
      const out = this.exports.ndjson_feed(len, 1);
      return this.result(this.read(out));
    }, () => this.oneByOne(Buffer.concat([head, body])));
  }

  /** After a trap: the same lines again, one call each, so only a record that traps again is
   * lost, and it still comes out as an error event. */
  private oneByOne(bytes: Uint8Array): TransformResult {
    const results: TransformResult[] = [];
    let start = 0;
    while (start < bytes.length) {
      const nl = bytes.indexOf(NEWLINE, start);
      const line = bytes.subarray(start, nl);
      start = nl + 1;
      results.push(this.guarded<TransformResult>(() => {
        this.write(line);
        this.exports.reset_stream();
        const len = this.exports.ndjson_feed(line.length, 1);
        return this.result(this.readCopy(len));
      }, () => ({ output: Buffer.from(internalError(line) + "\n"), records: 1, errors: 1 })));
    }
    return concat(results);
  }

  /** This instance's geo lookups: those that met a corrupt record or tree since its databases
   * were opened (that database then gave nothing for the address; the event was mapped as usual)
   * and the last such fault; the cache's address hits and misses, and the misses the records
   * table answered. An instance re-made after a trap starts again from 0. */
  geoStats(): GeoStats {
    if (!this.exports.geo_stats) return { lookupErrors: 0, lastLookupError: "", cacheHits: 0, cacheMisses: 0, recordHits: 0 };
    const r = JSON.parse(this.readCopy(this.exports.geo_stats()).toString("utf8")) as Record<string, number | string>;
    return { lookupErrors: r.lookup_errors as number, lastLookupError: r.last as string, cacheHits: r.cache_hits as number,
      cacheMisses: r.cache_misses as number, recordHits: r.record_hits as number };
  }

  /** The last call's output with its counts (the core counts them; a module without the
   * enrichments has no counters: 0). */
  private result(output: Buffer): TransformResult {
    return { output, records: this.exports.last_records(), errors: this.exports.last_errors(),
      matched: this.exports.last_matched?.() ?? 0, geoFaults: this.exports.last_geo_faults?.() ?? 0 };
  }

  private guarded<T>(work: () => T, onTrap: () => T): T {
    try {
      return work();
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      // A trap poisons an incremental-runtime instance: start a fresh one.
      this.traps++;
      this.instantiate();
      return onTrap();
    }
  }
}

/** The options as the module's `configure` takes them, or undefined when all are defaults (so
 * that a module without `configure` still loads). */
export function encodeOptions(options: MapOptions): string | undefined {
  // `indicators` and `geo` are the host's: loaded through their own calls, not `configure`.
  const known = new Set(["eventId", "profile", "communityIdSeed", "indicators", "geo"]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`unknown option ${JSON.stringify(key)}`);
  }
  const { eventId, profile, communityIdSeed } = options;
  if (eventId !== undefined && typeof eventId !== "boolean") throw new TypeError("eventId must be a boolean");
  if (profile !== undefined && !PROFILES.includes(profile)) {
    throw new TypeError(`profile must be one of ${PROFILES.map((p) => JSON.stringify(p)).join(", ")}`);
  }
  if (communityIdSeed !== undefined && !(Number.isInteger(communityIdSeed) && communityIdSeed >= 0 && communityIdSeed <= 65535)) {
    throw new TypeError("communityIdSeed must be an integer from 0 to 65535");
  }
  if (profile === "ecs" && eventId === false) throw new TypeError("the ecs profile always writes event.id: eventId cannot be false");
  const json: Record<string, unknown> = {};
  if (eventId) json.eventId = true;
  if (profile === "ecs") json.profile = "ecs";
  if (communityIdSeed) json.communityIdSeed = communityIdSeed;
  return Object.keys(json).length > 0 ? JSON.stringify(json) : undefined;
}

function concat(results: TransformResult[]): TransformResult {
  if (results.length === 1) return results[0];
  if (results.length === 0) return { output: Buffer.alloc(0), records: 0, errors: 0 };
  return {
    output: Buffer.concat(results.map((r) => r.output)),
    records: results.reduce((n, r) => n + r.records, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    matched: results.reduce((n, r) => n + (r.matched ?? 0), 0),
  };
}

/** The error event for a record the module could not map at all (it trapped twice). */
export function internalError(raw: Uint8Array): string {
  return JSON.stringify({
    message: new TextDecoder().decode(raw),
    error: { type: "internal_error", message: "the WASM core trapped on this record; please report it" },
    event: { kind: "pipeline_error" },
  });
}

function blobTrapError(offset: number): string {
  return JSON.stringify({
    message: "",
    error: {
      type: "internal_error",
      message: `the WASM core trapped in the blob after byte ${offset}; the rest of this blob was not read: ` +
        `resume with --from-offset ${offset} and please report it`,
    },
    event: { kind: "pipeline_error" },
  });
}
