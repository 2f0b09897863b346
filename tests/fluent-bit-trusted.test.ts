// The filter ABI trusts the JSON Fluent Bit serialised (assembly/scan/json.ts, scanTrustedRecord:
// inside strings it looks only for quotes and backslashes). This fuzzes that trust through a real
// Fluent Bit (found as bench/fluent-bit.ts says): generated flattened events, the same mutated byte
// by byte and field by field, and junk lines, read by tail with the json parser and without one,
// with json.escape_unicode on and off. For every record Fluent Bit hands the filter (seen through
// the probe filter echo_hex):
//  - it is what the trust assumes: no byte below 0x20 anywhere and valid UTF-8 throughout;
//  - the filter export (trusted scan), called in process on those exact bytes, returns byte for
//    byte what the batch ABI (strict scan, the library's mapRecord) makes of them: the same ECS
//    event or the same error event;
//  - the real Fluent Bit's output of the filter, with the .wasm and with the .aot, is that too
//    (compared as JSON, as in tests/fluent-bit-real.test.ts), none dropped.
// And what the trust must not cover: behind a Lua filter that sets a NaN, an infinity or an
// integer key (fixtures/fluent-bit-trusted/upstream-values.lua), Fluent Bit hands the filter
// `nan`, `inf` and `7:` — not JSON — which must still give the strict scan's invalid_json events.
// FUZZ_FLUENT_BIT_RECORDS=N (default 4,000 per variant) and FUZZ_FLUENT_BIT_SEED=S make a longer run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildProbe, errorLines, findFluentBit, runFluentBit, writePipeline, ROOT, type Filter } from "../bench/fluent-bit.js";
import { generateCorpus } from "../bench/corpus.js";
import { FlowTransform } from "../host/transform/loader.js";
import { FluentBitFilter } from "../host/check/fluent-bit-harness.js";
import { asFluentBitKeepsIt, parseJsonKeepingNumbers, sameJson, type Value } from "./fluent-bit-real-json.js";

const found = findFluentBit();
const bin = "bin" in found ? found.bin : "";
if (!bin) process.stderr.write(`\nFluent Bit tests skipped (tests/fluent-bit-trusted.test.ts): ${"why" in found ? found.why : ""}\n\n`);
const withFluentBit = bin ? describe : describe.skip;

const RECORDS = Number(process.env.FUZZ_FLUENT_BIT_RECORDS ?? 4000);
const SEED = Number(process.env.FUZZ_FLUENT_BIT_SEED ?? 0x7e57ed);

/** mulberry32, as bench/corpus.ts: the same lines for the same seed on every machine. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// What a mutation inserts: JSON syntax, escapes (valid, lone surrogates, invalid), numbers Fluent
// Bit reads and writes differently, raw non-ASCII, bytes that are not UTF-8, control characters.
const TOKENS: (string | number[])[] = [
  '"', "\\", "\\u", "\\u00e9", "\\ud800", "\\udc00", "\\ud83d\\ude00", '\\"', "\\\\", "\\/", "\\n", "\\x", "\\u12",
  "{", "}", "[", "]", ",", ":", " ", "\t", "\r", "1e400", "-1e400", "nan", "-0", "0.5", "1E5", "18446744073709551616",
  "-9223372036854775809", "null", "true", "é", "😀", "\u2028", "€",
  [0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0x00], [0x01], [0x1f], [0x7f], [0x80],
];
const KEYS = ["macAddress", "operationName", "rule", "time", "flow.0", "version", "flow_state", "source_addr", "source_port",
  "destination_addr", "destination_port", "flowLogVersion", "message", "log", "resourceId", "r\\u0075le", "extra"];

/** `unwrapped`: no wrapped events (a record's `message` is then its raw event, see the test). */
function fuzzLines(count: number, seed: number, unwrapped = false): Buffer[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytesOf = (t: string | number[]) => (typeof t === "string" ? Buffer.from(t) : Buffer.from(t));
  const base = generateCorpus(count, seed).ndjson.toString("utf8").split("\n").filter((l) => l && !(unwrapped && l.startsWith('{"message":')));
  const value = (depth = 0): unknown => {
    switch (int(depth > 3 ? 6 : 9)) {
      case 0: return pick(["", "x", "2024-03-18T13:21:42Z", "2024-02-30T00:00:00Z", "1710768066,10.0.0.1,10.0.0.2,1,2,T,I,A", "é\u0001\"\\", "\ud800", "😀"]);
      case 1: return pick([0, -1, 2, 65535, 65536, 1.5, 1e21, -0, 2 ** 64]);
      case 2: return pick([true, false, null]);
      case 3: return String.fromCharCode(...Array.from({ length: int(12) }, () => int(0x3000)));
      case 4: return "a".repeat(int(3) * 100);
      case 5: return `${int(2e9)},${pick(["10.0.0.1", "::1", "1.2.3.256"])},${pick(["10.0.0.2", "fe80::1"])},${int(70000)},${int(70000)},${pick(["T", "U", "6", "X"])},${pick(["I", "O"])},${pick(["A", "D", "B", "C", "E"])}`;
      case 6: return Array.from({ length: int(4) }, () => value(depth + 1));
      case 7: return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(KEYS), value(depth + 1)]));
      default: {
        // Nested arrays, around the nesting limit (64).
        let v: unknown = [];
        for (let d = 40 + int(50); d > 0; d--) v = [v];
        return v;
      }
    }
  };
  return base.map((line) => {
    const u = rnd();
    if (u < 0.35) return Buffer.from(line);
    if (u < 0.75) {
      // Byte edits: insert, replace or delete at random places.
      let b = Buffer.from(line);
      for (let k = 1 + int(4); k > 0; k--) {
        const at = int(b.length + 1);
        const t = bytesOf(pick(TOKENS));
        const op = int(3);
        b = Buffer.concat([b.subarray(0, at), op === 2 ? Buffer.alloc(0) : t, b.subarray(op === 0 ? at : at + 1 + int(3))]);
      }
      return b;
    }
    if (u < 0.93) {
      // Field edits on the parsed event, written back by JSON.stringify, sometimes with spaces.
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return Buffer.from(line);
      }
      for (let k = 1 + int(3); k > 0; k--) o[pick(KEYS).replace("\\u0075", "u")] = value();
      if (rnd() < 0.1 && !unwrapped) o = { log: JSON.stringify(o) };
      return Buffer.from(JSON.stringify(o, null, rnd() < 0.1 ? 1 : undefined).replace(/\n/g, " "));
    }
    // Junk: random bytes, or a JSON value that is not an object.
    if (rnd() < 0.5) return Buffer.from(Array.from({ length: 1 + int(60) }, () => 1 + int(255)).map((c) => (c === 0x0a ? 0x20 : c)));
    return Buffer.from(JSON.stringify(value()) ?? "null");
  });
}

interface Variant { parser: boolean; escapeUnicode: boolean; upstreamLua?: boolean }
const variants: Variant[] = [
  { parser: true, escapeUnicode: true },
  { parser: true, escapeUnicode: false },
  { parser: false, escapeUnicode: true },
  { parser: false, escapeUnicode: false },
  { parser: true, escapeUnicode: true, upstreamLua: true },
];
const UPSTREAM_LUA = path.join(ROOT, "tests/fixtures/fluent-bit-trusted/upstream-values.lua");

const build = (f: string) => path.join(ROOT, "build", f);
const engines = [{ name: ".wasm (interpreted)", file: build("nsg-flow-ecs.wasm") }];
if (existsSync(build("nsg-flow-ecs.aot"))) engines.push({ name: ".aot", file: build("nsg-flow-ecs.aot") });

const lines = (b: Buffer) => b.toString("utf8").split("\n").filter((l) => l);

withFluentBit(`the filter's trusted input, fuzzed through Fluent Bit (${RECORDS} lines a variant, seed ${SEED})`, () => {
  const library = FlowTransform.fromFile();
  const module = new WebAssembly.Module(readFileSync(build("nsg-flow-ecs.wasm")));
  let dir = "";
  let probe = "";

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-trusted-"));
    probe = buildProbe(path.join(dir, "probe")).wasm;
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe.each(variants)("tail, json parser $parser, json.escape_unicode $escapeUnicode, a Lua filter upstream: $upstreamLua", (v) => {
    const upstream: Filter[] = v.upstreamLua ? [{ kind: "lua", script: UPSTREAM_LUA, call: "upstream" }] : [];
    let input = "";
    let handed: Buffer[] = [];
    let want: string[] = [];

    beforeAll(() => {
      input = path.join(dir, `fuzz-${v.parser}-${v.escapeUnicode}.ndjson`);
      const records = fuzzLines(v.upstreamLua ? RECORDS / 4 : RECORDS, SEED + (v.parser ? 1 : 0), v.upstreamLua);
      writeFileSync(input, Buffer.concat(records.flatMap((r) => [r, Buffer.from("\n")])));
      const config = writePipeline(dir, "echo", {
        input: { file: input, parser: v.parser }, escapeUnicode: v.escapeUnicode,
        filters: [...upstream, { kind: "wasm", path: probe, fn: "echo_hex" }], output: "stdout",
      });
      const r = runFluentBit(bin, ["-c", config], { cwd: ROOT });
      expect(r.status).toBe(0);
      handed = lines(r.stdout).map((l) => Buffer.from((JSON.parse(l) as { hex: string }).hex, "hex"));
      want = handed.map((h) => library.mapRecord(h));
    }, 300_000);

    test("every record Fluent Bit hands the filter has no byte below 0x20 and is valid UTF-8", () => {
      // Fluent Bit may drop a line it cannot read (a NUL inside, for one); most come through.
      expect(handed.length).toBeGreaterThan((v.upstreamLua ? RECORDS / 4 : RECORDS) * 0.9);
      if (v.upstreamLua) {
        // Not JSON, from Fluent Bit's own serialiser: the checks outside strings stay.
        const text = handed.map((h) => h.toString("utf8")).join("\n");
        for (const notJson of [/:-?nan[,}]/, /:inf[,}]/, /:-inf[,}]/, /[{,]7:"an integer key"/]) expect(text).toMatch(notJson);
        expect(want.filter((w) => w.includes('"type":"invalid_json"')).length).toBeGreaterThan(RECORDS / 4 / 10);
      }
      const broken = handed.filter((h) => h.some((c) => c < 0x20) || !Buffer.from(h.toString("utf8")).equals(h));
      expect(broken.map((h) => h.toString("hex"))).toEqual([]);
      // The fuzz reaches both outcomes: events that map, and each kind of error event.
      const kinds = new Set(want.map((w) => /"error":\{"type":"([a-z_]+)"/.exec(w)?.[1] ?? "mapped"));
      expect([...kinds].sort()).toEqual(expect.arrayContaining(["mapped", "invalid_field", "invalid_time", "no_timestamp"]));
      if (v.parser) expect([...kinds]).toEqual(expect.arrayContaining(["too_deep"]));
    });

    test("the filter export (trusted) returns, byte for byte, what the batch ABI (strict) makes of those bytes", () => {
      const filter = new FluentBitFilter(module);
      const differences: string[] = [];
      handed.forEach((h, i) => {
        const got = filter.callJson(h.toString("utf8")).text;
        if (got !== want[i] && differences.length < 3) differences.push(`record ${i} ${h.toString("hex")}:\n  got  ${got}\n  want ${want[i]}`);
      });
      expect(differences).toEqual([]);
    });

    test.each(engines)("in Fluent Bit with the $name: every record comes out as the library maps it", (engine) => {
      const config = writePipeline(dir, "filter", {
        input: { file: input, parser: v.parser }, escapeUnicode: v.escapeUnicode,
        filters: [...upstream, { kind: "wasm", path: engine.file, fn: "nsg_flow_ecs" }], output: "stdout",
      });
      const r = runFluentBit(bin, ["-c", config], { cwd: ROOT });
      // The upstream Lua filter's own complaints (its log event encoder refuses some of the values
      // it was made to set) are not the wasm filter's.
      expect(errorLines(r.stderr).filter((l) => !v.upstreamLua || !l.includes("[filter:lua:"))).toEqual([]);
      expect(r.status).toBe(0);
      const out = lines(r.stdout);
      expect(out).toHaveLength(handed.length);
      if (v.upstreamLua) {
        // Lua's table order differs from run to run, so this run's records are not, key for key,
        // those the echo run saw. Each output is compared with the library's mapping of its own
        // `message`: the record the filter was handed (no record here is a wrapper, and a line
        // the json parser refused is wrapped once, its `message` then the line).
        const differences: string[] = [];
        out.forEach((text, i) => {
          const got = parseJsonKeepingNumbers(text);
          const message = (got as { [key: string]: Value }).message;
          const mine = typeof message === "string" ? library.mapRecord(Buffer.from(message)) : "{}";
          if (!sameJson(got, asFluentBitKeepsIt(parseJsonKeepingNumbers(mine))) && differences.length < 3) differences.push(`record ${i}:\n  got  ${text}\n  want ${mine}`);
        });
        expect(differences).toEqual([]);
        return;
      }
      const differences: string[] = [];
      out.forEach((text, i) => {
        if (text !== want[i] && !sameJson(parseJsonKeepingNumbers(text), asFluentBitKeepsIt(parseJsonKeepingNumbers(want[i]!))) && differences.length < 3) {
          differences.push(`record ${i}:\n  got  ${text}\n  want ${want[i]}`);
        }
      });
      expect(differences).toEqual([]);
    }, 300_000);
  });
});
