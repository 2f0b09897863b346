// build/nsg-flow-ecs.wasm called exactly as Fluent Bit's `filter wasm` calls it (see
// host/check/fluent-bit-harness.ts): documented cases in both record shapes, bad input, state between
// calls, and no wasm feature Fluent Bit's WAMR lacks. Flat memory over a million records is
// tests/fluent-bit-soak.test.ts (a soak: not in npm run test:quick).
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FluentBitFilter, fluentBitJson } from "../host/check/fluent-bit-harness.js";
import { builtWasm } from "../host/transform/loader.js";
import { moduleImports } from "../host/transform/wasi-imports.js";
import { ecsDiff, type Json } from "../host/check/compare.js";
import { loadDocumentedCases } from "../host/check/documented.js";

const module = new WebAssembly.Module(readFileSync(builtWasm("nsg-flow-ecs.wasm")));
const cases = loadDocumentedCases();
const errorShape = { message: expect.any(String), error: { type: expect.any(String), message: expect.any(String) }, event: { kind: "pipeline_error" } };

describe("documented cases through the filter", () => {
  const filter = new FluentBitFilter(module);

  test.each(cases.map((c) => [c.name, c] as const))("%s, record = the parsed raw event (tail + json parser)", (_n, c) => {
    const record = JSON.parse(c.input);
    for (const escapeUnicode of [true, false]) {
      const call = filter.call(record, escapeUnicode);
      expect(call.kept).toBe(true);
      // `message` is the record as Fluent Bit serialised it; every other field as documented.
      expect(ecsDiff(call.record as Json, { ...c.expected, message: fluentBitJson(record, escapeUnicode) })).toEqual([]);
    }
  });

  test.each(cases.map((c) => [c.name, c] as const))("%s, record = {log|message: raw line} (tail without parser)", (_n, c) => {
    for (const key of ["log", "message"]) {
      const call = filter.call({ [key]: c.input });
      expect(call.kept).toBe(true);
      expect(ecsDiff(call.record as Json, c.expected)).toEqual([]);
    }
  });

  test("non-ASCII arrives as \\u escapes by default and as raw UTF-8 with json.escape_unicode off: same ECS", () => {
    const record = { time: "2024-03-18T13:21:42Z", rule: "règle-日本-\u{1F600}", macAddress: "00-0D", "flow.0": "1710768066,1.1.1.1,2.2.2.2,1,2,T,I,A" };
    const escaped = filter.call(record, true);
    const raw = filter.call(record, false);
    // The result is UTF-8 (Fluent Bit copies it as a C string): non-ASCII is written raw.
    expect(escaped.text).toContain('"name":"règle-日本-\u{1F600}"');
    expect((escaped.record as any).rule).toEqual({ name: "règle-日本-\u{1F600}" });
    expect((raw.record as any).rule).toEqual({ name: "règle-日本-\u{1F600}" });
    expect((escaped.record as any).message).toBe(fluentBitJson(record, true));
    expect((raw.record as any).message).toBe(JSON.stringify(record));
  });
});

describe("bad input always comes back as a valid JSON object (never dropped, never a crash)", () => {
  const filter = new FluentBitFilter(module);
  const bad: [string, string][] = [
    ["empty", ""],
    ["not JSON", "hello"],
    ["truncated", '{"rule":"x'],
    ["an array", "[1,2,3]"],
    ["a string", '"x"'],
    ["no timestamp", '{"rule":"x"}'],
    ["wrong type", '{"rule":5,"time":"2024-03-18T13:21:42Z"}'],
    ["bad time", '{"time":"yesterday"}'],
    ["too deep", '{"a":' + "[".repeat(100) + "]".repeat(100) + "}"],
    ["too large", `{"rule":"${"x".repeat(70_000)}"}`],
    ["binary", "\u0000\u0001\u0002"],
    ["a NUL inside", '{"rule":"a\u0000b"}'],
  ];
  test.each(bad)("%s", (_n, text) => {
    const call = filter.callJson(text);
    expect(call.kept).toBe(true);
    expect(call.record).toEqual(errorShape);
  });

  test("raw bytes that are not UTF-8 still give a valid UTF-8 JSON object", () => {
    const f = new FluentBitFilter(module);
    const ptr = f.malloc(4);
    new Uint8Array(f.exports.memory.buffer).set([0x7b, 0xff, 0xfe, 0x00], ptr);
    const result = (f.exports.nsg_flow_ecs as (...a: number[]) => number)(0, 0, 0, 0, ptr, 3);
    f.free(ptr);
    const mem = new Uint8Array(f.exports.memory.buffer);
    let end = result;
    while (mem[end] !== 0) end++;
    const text = new TextDecoder("utf-8", { fatal: true }).decode(mem.subarray(result, end));
    expect(JSON.parse(text)).toEqual({ ...errorShape, message: "{\ufffd\ufffd" });
  });
});

// WAMR's app heap (the module exports no allocator): tests/fluent-bit-app-heap.test.ts.

test("no state leaks from one record into the next: every answer equals a fresh instance's", () => {
  const inputs = [
    ...cases.map((c) => c.input),
    '{"rule":"x"}',
    '{"a":' + "[".repeat(100) + "]".repeat(100) + "}",
    JSON.stringify({ message: cases[0].input }),
    '{"time":"2024-03-18T13:21:42Z","flow.0":"1710768066,1.1.1.1,2.2.2.2,1,2,T,I,A","source_addr":"9.9.9.9","flow_state":"begin"}',
    '{"time":"2024-03-18T13:21:42Z","flow.0":"1710768066,1.1.1.1,2.2.2.2,1,2,T,I,A"}',
  ];
  const shared = new FluentBitFilter(module);
  for (let round = 0; round < 3; round++) {
    for (const text of [...inputs].reverse().concat(inputs)) {
      expect(shared.callJson(text).text).toBe(new FluentBitFilter(module).callJson(text).text);
    }
  }
});

test("neither the filter nor the WASI command uses a wasm feature Fluent Bit's WAMR interpreter lacks", () => {
  // wasm-opt (binaryen, installed with AssemblyScript) validates a module against a feature set:
  // the MVP plus what WAMR 2.4's interpreter has, so no SIMD, GC, tail calls, memory64 or
  // exception handling.
  const wasmOpt = fileURLToPath(new URL("../node_modules/.bin/wasm-opt", import.meta.url));
  const allowed = ["--mvp-features", "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int", "--enable-multivalue"];
  const validate = (file: string) => spawnSync(wasmOpt, [...allowed, builtWasm(file), "-o", "/dev/null"], { encoding: "utf8" });
  expect(validate("nsg-flow-ecs.wasm").status).toBe(0);
  expect(validate("nsg-flow-ecs-wasi.wasm").status).toBe(0);
  // The check can fail: the SIMD build (for the Node host only) is rejected.
  const simd = validate("nsg-flow-ecs-simd.wasm");
  expect(simd.status).not.toBe(0);
  expect(simd.stderr + simd.stdout).toContain("SIMD operations require SIMD");
});

test("the settings clock is read at the first record, when the timestamp moves, and every 32nd record with one timestamp", () => {
  // The filter's only clock read is the settings file's reload check (DEVELOPERS.md, "Settings and
  // data files": the clock, decided). Counted through a clock import that counts its calls.
  let reads = 0;
  const imports = moduleImports();
  const wasi = imports.wasi_snapshot_preview1 as Record<string, unknown>;
  let memory: WebAssembly.Memory | undefined;
  wasi.clock_time_get = (_id: number, _precision: bigint, out: number) => {
    reads++;
    new DataView(memory!.buffer).setBigUint64(out, BigInt(reads) * 1_000_000n, true);
    return 0;
  };
  const exports = new WebAssembly.Instance(module, imports).exports as unknown as { memory: WebAssembly.Memory; nsg_flow_ecs: (...a: number[]) => number };
  memory = exports.memory;
  // The record where WAMR's app heap would hold it: pages the module does not manage.
  const at = exports.memory.grow(1) * 65536;
  const record = Buffer.from(cases[0]!.input + "\0");
  const call = (sec: number) => {
    new Uint8Array(exports.memory.buffer).set(record, at);
    return exports.nsg_flow_ecs(0, 0, sec, 0, at, record.length - 1);
  };
  for (let i = 0; i < 100; i++) call(1710768066);
  expect(reads).toBe(4); // records 1, 33, 65, 97
  for (let i = 0; i < 10; i++) call(1710768067 + i);
  expect(reads).toBe(14);
  call(1710768076);
  expect(reads).toBe(14);
});
