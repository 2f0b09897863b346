// What the fuzzer (bench/fuzz.ts) generates and what it checks, one batch at a time.
//
// A batch is BATCH_RECORDS inputs made from a seed alone: flattened flow events (generated,
// valid ones that map, wrapped, mutated, truncated, oversized, with invalid UTF-8, deeply
// nested, random bytes) and a blob of mutated records. Each event goes through the core's batch ABI (NDJSON, both builds,
// cut into chunks anywhere; and map_one) and through the Fluent Bit filter ABI; each blob through
// the splitter (whole, in chunks, in pieces cut where the worker pool cuts, flattened only).
// Checks: no trap; exactly one valid JSON object per record (per tuple); the same bytes as the
// plain-TypeScript reference (referenceMap); linear memory that stops growing.
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { FlowTransform, builtWasm, type BlobOptions, type MapOptions } from "../host/transform/loader.js";
import { FluentBitFilter, fluentBitJson } from "../host/check/fluent-bit-harness.js";
import { referenceMap, type ReferenceOptions } from "../host/reference/map.js";
import { ReferenceIndicators } from "../host/reference/indicators.js";
import { recordEnds } from "../host/pool/boundaries.js";
import { blob } from "../tests/blob-builder.js";
import { blobRecord, edits, event, hostileCases, mappedEvent, mutate, mutated, randomBytes, wrapped, type Edit } from "../tests/generators.js";

const utf8 = new TextEncoder();
const lossy = new TextDecoder();

// ─── Inputs ─────────────────────────────────────────────────────────────────────────────────

/** How many of each kind of event a batch holds, and the blob's records: BATCH_RECORDS in all. */
const MIX = {
  generated: 300,
  mapped: 100,
  wrapped: 100,
  mutated: 250,
  truncated: 60,
  invalidUtf8: 60,
  deep: 50,
  random: 50,
  oversized: 6,
};
const BLOB_RECORDS = 24;
export const BATCH_RECORDS = Object.values(MIX).reduce((a, b) => a + b, 0) + BLOB_RECORDS;
export type Kind = keyof typeof MIX | "blob";

export interface Batch {
  events: { kind: Kind; bytes: Uint8Array }[];
  blob: Uint8Array;
  /** How the NDJSON of the events is cut into chunks, and the blob. */
  chunks: number[];
  /** Which of OPTION_SETS to map with (they take turns, batch by batch). */
  options: number;
}

/** A 32-bit seed for one part of one batch. */
function seedOf(seed: number, batch: number, part: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(batch + 1, 0xc2b2ae35) ^ Math.imul(part + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

function sample<T>(arb: fc.Arbitrary<T>, seed: number, n: number): T[] {
  return n === 0 ? [] : fc.sample(arb, { seed, numRuns: n });
}

const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf0, 0x9f, 0x98], [0xc3]];

/** Inserts bytes at a position, preferably inside a string (after a quote). */
function insertAt(bytes: Uint8Array, at: number, insert: number[]): Uint8Array {
  let i = bytes.indexOf(0x22, at % Math.max(1, bytes.length));
  if (i < 0) i = at % (bytes.length + 1);
  else i++;
  return Uint8Array.from([...bytes.subarray(0, i), ...insert, ...bytes.subarray(i)]);
}

/** A member (`"key":value,`) placed just inside the event's first `{`. */
function withMember(raw: string, member: string): string {
  const brace = raw.indexOf("{");
  return brace < 0 ? raw : raw.slice(0, brace + 1) + member + (raw[brace + 1] === "}" ? "" : ",") + raw.slice(brace + 1);
}

function nested(depth: number, objects: boolean): string {
  return objects ? '{"k":'.repeat(depth) + "1" + "}".repeat(depth) : "[".repeat(depth) + "]".repeat(depth);
}

export function makeBatch(seed: number, batch: number): Batch {
  const s = (part: number) => seedOf(seed, batch, part);
  const events: Batch["events"] = [];
  const add = (kind: Kind, list: Uint8Array[]) => list.forEach((bytes) => events.push({ kind, bytes }));
  add("generated", sample(event, s(1), MIX.generated).map((e) => utf8.encode(e)));
  // Events that map, with addresses of every kind: enrichment's input.
  add("mapped", sample(mappedEvent, s(11), MIX.mapped).map((e) => utf8.encode(e)));
  // Wrappers as collectors write them: `message` or `log`, whitespace before the inner `{`.
  add("wrapped", sample(fc.tuple(wrapped, fc.constantFrom("message", "log"), fc.constantFrom("", " ", "\n\t")), s(2), MIX.wrapped)
    .map(([w, key, ws]) => {
      const inner = JSON.parse(w).message as string;
      return utf8.encode(JSON.stringify({ [key]: ws + inner }));
    }));
  add("mutated", sample(mutated, s(3), MIX.mutated));
  add("truncated", sample(fc.tuple(fc.oneof(event, wrapped), fc.nat()), s(4), MIX.truncated)
    .map(([e, at]) => {
      const b = utf8.encode(e);
      return b.subarray(0, at % (b.length + 1));
    }));
  add("invalidUtf8", sample(fc.tuple(event, fc.nat(), fc.constantFrom(...INVALID_UTF8)), s(5), MIX.invalidUtf8)
    .map(([e, at, bad]) => insertAt(utf8.encode(e), at, bad)));
  // Around the 64-level limit, in a member of the event or as the wrapper's inner event.
  add("deep", sample(fc.tuple(event, fc.integer({ min: 60, max: 70 }), fc.boolean(), fc.boolean()), s(6), MIX.deep)
    .map(([e, depth, objects, inWrapper]) => {
      const deep = withMember(e, `"deep":${nested(depth, objects)}`);
      return utf8.encode(inWrapper ? JSON.stringify({ message: deep }) : deep);
    }));
  add("random", sample(randomBytes, s(7), MIX.random));
  // Around the 65,536-byte limit (with 2-byte characters at the cut), and far over it.
  add("oversized", sample(fc.tuple(event, fc.integer({ min: -12, max: 12 }), fc.constantFrom("x", "é", "\u{1F600}"), fc.boolean()), s(8), MIX.oversized)
    .map(([e, delta, ch, far]) => {
      const room = (far ? 300_000 : 65_536) + delta - Buffer.byteLength(e) - 10;
      return utf8.encode(withMember(e, `"pad":"${ch.repeat(Math.max(0, Math.floor(room / Buffer.byteLength(ch))))}"`));
    }));
  const [records, pretty, blobEdits] = sample(fc.tuple(fc.array(blobRecord, { minLength: BLOB_RECORDS, maxLength: BLOB_RECORDS }), fc.boolean(),
    fc.oneof(fc.constant([] as Edit[]), edits)), s(9), 1)[0]!;
  const text = utf8.encode(blob(records, pretty));
  const chunks = sample(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }), s(10), 1)[0]!;
  return { events, blob: blobEdits.length > 0 ? mutate(text, blobEdits) : text, chunks, options: batch % OPTION_SETS.length };
}

// ─── Checks ─────────────────────────────────────────────────────────────────────────────────

export interface Failure {
  kind: Kind | "hostile";
  /** What was checked, e.g. "ndjson simd: differs from the reference". */
  check: string;
  detail: string;
  input: Uint8Array;
  /** Mapped with OPTION_SETS[options]. */
  options?: number;
}

export type Oracle = (raw: Uint8Array, options?: ReferenceOptions) => string;

/** The indicator sets of the "indicators" option sets (bench/fuzz-feeds/): read once. */
const FEEDS = ["wide.txt", "cti.json"].map((f) => ({ name: f.replace(/\..*$/, ""), bytes: readFileSync(feedFile(f)) }));

/** bench/fuzz-feeds/ from this file as TypeScript source (bench/) or compiled (dist/bench/). */
function feedFile(name: string): URL {
  const source = new URL(`fuzz-feeds/${name}`, import.meta.url);
  return existsSync(source) ? source : new URL(`../../bench/fuzz-feeds/${name}`, import.meta.url);
}

/** The same sets in the reference (host/reference/indicators.ts). */
function referenceFeeds(): ReferenceIndicators {
  const r = new ReferenceIndicators();
  for (const f of FEEDS) r.load(f.name, f.bytes);
  return r;
}

/** The mapping options batches take turns with: the default (the documented intake's event),
 * with event.id, the full-ECS profile (with the default Community ID seed and another), and
 * both profiles with indicator sets loaded. `reference`: what the oracle is given for the same. */
export const OPTION_SETS: { name: string; options: MapOptions; reference: ReferenceOptions }[] = [
  { name: "", options: {}, reference: {} },
  { name: "eventId", options: { eventId: true }, reference: { eventId: true } },
  { name: "ecs", options: { profile: "ecs" }, reference: { profile: "ecs" } },
  { name: "ecs seed", options: { profile: "ecs", communityIdSeed: 4242 }, reference: { profile: "ecs", communityIdSeed: 4242 } },
  { name: "indicators", options: { indicators: FEEDS }, reference: { indicatorSets: referenceFeeds() } },
  { name: "ecs indicators", options: { profile: "ecs", indicators: FEEDS }, reference: { profile: "ecs", indicatorSets: referenceFeeds() } },
];

/** The WASM instances under test, kept for the whole run (state and memory carry over). */
/** The filter's app heap (Wasm_Heap_Size) here: above the largest record the batches hand it
 * (about 900 KB once escaped), as a user sending such records sets it, so that every record
 * reaches the module and is checked against the reference. What a record larger than the heap
 * gets is tested on its own (tests/fluent-bit-app-heap.test.ts, tests/fluent-bit-real.test.ts). */
const FILTER_APP_HEAP = 2 << 20;

export class Fuzzer {
  /** Each build, with a transform per option set. */
  readonly builds: [string, FlowTransform[]][];
  filter: FluentBitFilter;
  private readonly portable: WebAssembly.Module;
  private readonly oracle: Oracle;
  private options = 0;

  /** `reference`: the oracle (referenceMap; the fuzzer's own test passes a wrong one). */
  constructor(options: { reference?: Oracle } = {}) {
    this.oracle = options.reference ?? referenceMap;
    const load = (f: string) => new WebAssembly.Module(readFileSync(builtWasm(f)));
    this.portable = load("nsg-flow-ecs.wasm");
    const simd = load("nsg-flow-ecs-simd.wasm");
    this.builds = [["portable", this.portable], ["simd", simd]].map(([name, m]) =>
      [name as string, OPTION_SETS.map((o) => new FlowTransform(m as WebAssembly.Module, o.options))]);
    this.filter = new FluentBitFilter(this.portable, "nsg_flow_ecs", FILTER_APP_HEAP);
  }

  /** The transforms of the option set in use, by build. */
  private transforms(): [string, FlowTransform][] {
    const label = OPTION_SETS[this.options]!.name;
    return this.builds.map(([name, ts]) => [label ? `${name} ${label}` : name, ts[this.options]!]);
  }

  /** Events written with a `threat` member: the indicator option sets must not pass on none. */
  enriched = 0;

  private reference(raw: Uint8Array): string {
    return this.oracle(raw, OPTION_SETS[this.options]!.reference);
  }

  /** Linear memory of each instance, in bytes. */
  memory(): Record<string, number> {
    const m: Record<string, number> = {};
    for (const [name, ts] of this.builds) {
      ts.forEach((t, i) => {
        const label = OPTION_SETS[i]!.name;
        m[`batch ${label ? `${name} ${label}` : name}`] = (t as unknown as { exports: { memory: WebAssembly.Memory } }).exports.memory.buffer.byteLength;
      });
    }
    m["filter"] = this.filter.memoryBytes;
    return m;
  }

  /** Every check on a batch; the failures found (none, normally). */
  batch(b: Batch): Failure[] {
    return [...this.events(b.events, b.chunks, b.options), ...this.blob(b.blob, b.chunks, b.options)];
  }

  /** The checks of `run`, mapping with OPTION_SETS[options]. */
  private withOptions(options: number, run: (failures: Failure[]) => void): Failure[] {
    const failures: Failure[] = [];
    this.options = options;
    try {
      run(failures);
    } finally {
      this.options = 0;
    }
    return failures.map((f) => ({ ...f, options }));
  }

  events(events: Batch["events"], chunks: number[], options = 0): Failure[] {
    return this.withOptions(options, (failures) => this.checkEvents(events, chunks, failures));
  }

  blob(bytes: Uint8Array, chunks: number[], options = 0): Failure[] {
    return this.withOptions(options, (failures) => this.checkBlob(bytes, chunks, failures));
  }

  private checkEvents(events: Batch["events"], chunks: number[], failures: Failure[]): void {
    const fail = (i: number, check: string, detail: string) => failures.push({ kind: events[i]!.kind, check, detail, input: events[i]!.bytes });
    const expected = events.map((e) => this.reference(e.bytes));
    // The oracle's own answer must be one JSON object on one line.
    expected.forEach((line, i) => {
      const problem = notOneObject(line);
      if (problem) fail(i, "reference: not one JSON object", problem);
    });
    for (const [name, t] of this.transforms()) {
      // map_one: the whole input is the record.
      events.forEach((e, i) => {
        const traps = t.traps;
        const got = t.mapRecord(e.bytes);
        if (t.traps !== traps) fail(i, `map_one ${name}: trapped`, "");
        else if (got !== expected[i]) fail(i, `map_one ${name}: differs from the reference`, firstDifference(got, expected[i]!));
        else if (got.includes(',"threat":{"enrichments":')) this.enriched++;
      });
      // NDJSON: the events as lines (a newline inside one is a space here), in chunks.
      const lines = events.map((e) => (e.bytes.includes(0x0a) ? e.bytes.map((c) => (c === 0x0a ? 0x20 : c)) : e.bytes));
      const ndjson = Buffer.concat(lines.flatMap((l) => [l, Buffer.of(0x0a)]));
      const traps = t.traps;
      const out: Buffer[] = [];
      for (let at = 0, k = 0; at < ndjson.length; k++) {
        const n = chunks[k % chunks.length]! * 37;
        out.push(Buffer.from(t.push(ndjson.subarray(at, at + n)).output));
        at += n;
      }
      out.push(Buffer.from(t.end().output));
      if (t.traps !== traps) fail(0, `ndjson ${name}: trapped in the batch`, `${t.traps - traps} traps`);
      const gotLines = Buffer.concat(out).toString("utf8").split("\n");
      gotLines.pop();
      let j = 0;
      lines.forEach((line, i) => {
        const record = stripCr(line);
        if (isBlank(record)) return; // not a record
        const want = record === events[i]!.bytes ? expected[i]! : this.reference(record);
        const got = gotLines[j++];
        if (got !== want) fail(i, `ndjson ${name}: differs from the reference`, got === undefined ? "no output line" : firstDifference(got, want));
      });
      if (j !== gotLines.length) fail(0, `ndjson ${name}: ${gotLines.length} output lines for ${j} records`, "");
    }
    // The Fluent Bit filter (no options there): the record as Fluent Bit serialises it (an
    // object), or the raw line as a string under `log` (tail without a parser).
    events.forEach((e, i) => {
      const json = recordJson(e.bytes, i);
      let call;
      try {
        call = this.filter.callJson(json);
      } catch (err) {
        this.filter = new FluentBitFilter(this.portable, "nsg_flow_ecs", FILTER_APP_HEAP);
        return fail(i, "filter: trapped", String(err));
      }
      if (!call.kept) return fail(i, "filter: the record would be dropped (not a JSON object)", call.text.slice(0, 200));
      const want = this.oracle(utf8.encode(json));
      if (call.text !== want) fail(i, "filter: differs from the reference", firstDifference(call.text, want));
    });
  }

  private checkBlob(bytes: Uint8Array, chunks: number[], failures: Failure[]): void {
    const fail = (check: string, detail: string) => failures.push({ kind: "blob", check, detail, input: bytes });
    for (const [name, t] of this.transforms()) {
      const traps = t.traps;
      const whole = split(t, [bytes], {});
      const pieces = recordEnds("blob", bytes, true).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
      const chunked = split(t, chunkedBy(bytes, chunks), {});
      const flat = split(t, [bytes], { flattenOnly: true });
      // The pool maps a blob's records apart, each from its own offset: the same bytes.
      let from = 0;
      const byPiece = pieces.map((p, i) => {
        const out = split(t, [p], { fromOffset: from, incremental: false }, i === pieces.length - 1);
        from += p.length;
        return out;
      }).join("");
      if (t.traps !== traps) fail(`blob ${name}: trapped`, `${t.traps - traps} traps`);
      if (chunked !== whole) fail(`blob ${name}: the output depends on the chunking`, firstDifference(chunked, whole));
      if (byPiece !== whole) fail(`blob ${name}: record by record differs from the whole blob`, firstDifference(byPiece, whole));
      const lines = whole.split("\n");
      const flatLines = flat.split("\n");
      if (lines.length !== flatLines.length) fail(`blob ${name}: ${lines.length - 1} events but ${flatLines.length - 1} flattened`, "");
      lines.pop();
      lines.forEach((line, i) => {
        const problem = notOneObject(line);
        if (problem) return fail(`blob ${name}: event ${i} is not one JSON object`, problem);
        // A blob-level error is written as it is; every other event is the mapping of its
        // flattened raw event.
        const f = flatLines[i] ?? "";
        const want = f.startsWith('{"message":') ? f : this.reference(utf8.encode(f));
        if (line !== want) fail(`blob ${name}: event ${i} is not the reference mapping of its flattened event`, firstDifference(line, want));
      });
    }
  }

  /** Inputs no generator makes at this rate: 10,000-deep nesting, a 1 MB string. */
  hostile(): Failure[] {
    return this.events(hostileCases().map((bytes) => ({ kind: "deep" as Kind, bytes })), [4096]).map((f) => ({ ...f, kind: "hostile" }));
  }

  /** The largest inputs the batches make (events padded far over the size limit with 1-, 2-
   * and 4-byte characters, bare and wrapped, which the filter gets escaped to up to 900 KB),
   * through every instance and both option sets, twice: so that linear memory has grown to
   * what the run needs before it is watched. */
  warmUp(): Failure[] {
    const failures: Failure[] = [];
    const big = ["x", "é", "\u{1F600}"].flatMap((ch) => {
      const raw = `{"time":"2024-03-18T13:21:42Z","pad":"${ch.repeat(Math.floor(300_000 / Buffer.byteLength(ch)))}"}`;
      return [raw, JSON.stringify({ message: raw }), JSON.stringify({ log: raw })];
    }).map((s) => ({ kind: "oversized" as Kind, bytes: utf8.encode(s) }));
    for (let round = 0; round < 2; round++) {
      OPTION_SETS.forEach((_, options) => failures.push(...this.events(big, [65536], options)));
    }
    return failures;
  }
}

/** The blob through the splitter; its output as text. `last`: the document ends here. */
function split(t: FlowTransform, chunks: Uint8Array[], options: BlobOptions, last = true): string {
  t.startBlob(options);
  const out: Buffer[] = [];
  for (const c of chunks) for (const r of t.blobSlices(c)) out.push(Buffer.from(r.output));
  if (last) for (const r of t.blobSlices(new Uint8Array(0), true)) out.push(Buffer.from(r.output));
  return Buffer.concat(out).toString("utf8");
}

function chunkedBy(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** The JSON text Fluent Bit would hand the filter for this line. */
function recordJson(bytes: Uint8Array, i: number): string {
  const text = lossy.decode(bytes);
  if (i % 4 !== 3) {
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) return fluentBitJson(value, i % 2 === 0);
    } catch {
      // not an object: Fluent Bit's json parser would not have made a record of it
    }
  }
  return fluentBitJson({ log: text });
}

function stripCr(line: Uint8Array): Uint8Array {
  return line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}

function isBlank(line: Uint8Array): boolean {
  return line.every((c) => c === 0x20 || c === 0x09 || c === 0x0d);
}

/** Why a line is not exactly one JSON object, or "" if it is. */
function notOneObject(line: string): string {
  if (/[\n\r]/.test(line)) return "more than one line";
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? "" : `not an object: ${line.slice(0, 100)}`;
  } catch (err) {
    return `not JSON (${(err as Error).message}): ${line.slice(0, 200)}`;
  }
}

function firstDifference(got: string, want: string): string {
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  const from = Math.max(0, i - 60);
  return `at character ${i}: got …${JSON.stringify(got.slice(from, i + 80))}, want …${JSON.stringify(want.slice(from, i + 80))}`;
}

// ─── Shrinking ──────────────────────────────────────────────────────────────────────────────

/** The smallest input found that still fails (delta debugging over bytes: drop ever smaller
 * runs of bytes while the failure stays), within `budget` tries. */
export function shrink(input: Uint8Array, fails: (candidate: Uint8Array) => boolean, budget = 5000): Uint8Array {
  let current = input;
  let parts = 2;
  while (budget > 0 && current.length > 0) {
    const size = Math.ceil(current.length / parts);
    let reduced = false;
    for (let at = 0; at < current.length && budget > 0; at += size, budget--) {
      const candidate = Buffer.concat([current.subarray(0, at), current.subarray(at + size)]);
      if (fails(candidate)) {
        current = candidate;
        parts = Math.max(parts - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size <= 1) break;
      parts = Math.min(parts * 2, current.length);
    }
  }
  return current;
}

/** Whether this input alone still fails the same check (for shrinking). */
export function failsAlike(fuzzer: Fuzzer, failure: Failure, candidate: Uint8Array): boolean {
  const options = failure.options ?? 0;
  const got = failure.kind === "blob" ? fuzzer.blob(candidate, [97], options)
    : fuzzer.events([{ kind: failure.kind === "hostile" ? "deep" : failure.kind, bytes: candidate }], [4096], options);
  const what = failure.check.replace(/ \d+ /g, " N ").replace(/event \d+/, "event N");
  return got.some((f) => f.check.replace(/ \d+ /g, " N ").replace(/event \d+/, "event N") === what);
}
