// The fuzzer (bench/fuzz.ts) as CI runs it: a short run through every check, which must find
// nothing; and proof that its checks can fail: with a wrong oracle it reports the failures and
// shrinks each input to the smallest that still fails.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { referenceMap } from "../host/reference/map.js";
import { fuzzInProcess, memoryGrew, reportFailures } from "../bench/fuzz.js";
import { BATCH_RECORDS, Fuzzer, failsAlike, makeBatch, shrink } from "../bench/fuzz-checks.js";

const out = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-fuzz-"));

test("30,000 fuzzed records: no trap, one JSON object each, the reference's bytes, memory flat, indicator matches among them", () => {
  const s = fuzzInProcess({ records: 30 * BATCH_RECORDS, seed: 20240318, out });
  expect(s.failures).toEqual([]);
  expect(s.records).toBe(30_000);
  expect(s.memoryGrew).toBe(false);
  expect(Object.keys(s.memory[0]!.end)).toEqual([
    "batch portable", "batch portable eventId", "batch portable ecs", "batch portable ecs seed", "batch portable indicators", "batch portable ecs indicators",
    "batch simd", "batch simd eventId", "batch simd ecs", "batch simd ecs seed", "batch simd indicators", "batch simd ecs indicators", "filter"]);
  // 10 of the 30 batches map with indicator sets (bench/fuzz-feeds/), whose wide prefixes cover
  // about half of the generated addresses: the sets' checks saw matches, not only misses.
  expect(s.enriched).toBeGreaterThan(1000);
}, 300_000);

test("the memory rule: a heap that doubles once after settling has stopped growing; one that doubles twice has not", () => {
  const watch = (growth: [number, number][]) => ({ warm: { f: 6 }, end: { f: growth[growth.length - 1]![1] }, growth: { f: growth }, batches: 100 });
  expect(memoryGrew(watch([[2, 12], [80, 24]]))).toBe(false);
  expect(memoryGrew(watch([[2, 12], [40, 24], [80, 48]]))).toBe(true);
  expect(memoryGrew(watch([[50, 12], [90, 24]]))).toBe(true);
});

test("a batch is the same bytes for the same seed, and other bytes for another", () => {
  const a = makeBatch(7, 3);
  expect(a.events).toHaveLength(BATCH_RECORDS - 24);
  expect(makeBatch(7, 3)).toEqual(a);
  expect(makeBatch(7, 4).events[0]!.bytes).not.toEqual(a.events[0]!.bytes);
  const kinds = new Set(a.events.map((e) => e.kind));
  expect([...kinds].sort()).toEqual(["deep", "generated", "invalidUtf8", "mapped", "mutated", "oversized", "random", "truncated", "wrapped"]);
});

test("with a wrong oracle the checks fail, and a failing input shrinks to the byte that matters", () => {
  // An oracle that is wrong whenever the input holds a `|`.
  const wrong = (raw: Uint8Array) => {
    const s = referenceMap(raw);
    return raw.includes(0x7c) ? s.slice(0, -1) + ',"wrong":1}' : s;
  };
  const fuzzer = new Fuzzer({ reference: wrong });
  const failures = fuzzer.batch(makeBatch(1, 0));
  expect(failures.length).toBeGreaterThan(0);
  expect(new Set(failures.map((f) => f.check.replace(/ (simd|portable)/, "")))).toContain("map_one: differs from the reference");
  const f = failures.find((x) => x.check.startsWith("map_one"))!;
  expect(f.input.length).toBeGreaterThan(1);
  const small = shrink(f.input, (c) => failsAlike(fuzzer, f, c));
  expect(Buffer.from(small).toString("latin1")).toBe("|");
});

test("each failing check is written out: the shrunk input, the original, what failed, how to run it again", () => {
  const fuzzer = new Fuzzer({ reference: (raw) => (raw.includes(0x7c) ? "{}" : referenceMap(raw)) });
  const found = reportFailures(fuzzer, fuzzer.batch(makeBatch(1, 0)), 1, 0, out);
  expect(found.length).toBeGreaterThan(0);
  expect(new Set(found.map((f) => f.check)).size).toBe(found.length); // one report per check
  const first = found.find((f) => f.check.startsWith("map_one"))!;
  expect(readFileSync(first.file!).toString("latin1")).toBe("|");
  const txt = readFileSync(first.file!.replace(/\.bin$/, ".txt"), "utf8");
  expect(txt).toContain(`check:  ${first.check}`);
  expect(txt).toContain("npm run fuzz -- --seed 1 --batch 0");
  expect(readFileSync(first.file!.replace(/\.bin$/, ".original.bin")).length).toBe(first.originalBytes);
});
