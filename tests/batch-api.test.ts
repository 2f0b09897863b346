// The WASM core through the host loader (the batch ABI): documented cases, framing, ordering,
// chunking, oversized lines and trap recovery.
import { readFileSync } from "node:fs";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { moduleImports } from "../host/transform/wasi-imports.js";
import { ecsDiff, type Json } from "../host/check/compare.js";
import { loadDocumentedCases } from "../host/check/documented.js";

const modules = {
  portable: new WebAssembly.Module(readFileSync(builtWasm("nsg-flow-ecs.wasm"))),
  simd: new WebAssembly.Module(readFileSync(builtWasm("nsg-flow-ecs-simd.wasm"))),
};
const cases = loadDocumentedCases();

function lines(out: Buffer): Json[] {
  return out.toString("utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

function pushAll(t: FlowTransform, chunks: Uint8Array[]) {
  const parts = chunks.map((c) => t.push(c));
  parts.push(t.end());
  return {
    output: Buffer.concat(parts.map((p) => p.output)),
    records: parts.reduce((n, p) => n + p.records, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
  };
}

describe.each(Object.entries(modules))("%s build", (_name, module) => {
  test("there are 14 documented cases (4 seed samples, 10 conformance cases)", () => {
    expect(cases).toHaveLength(14);
  });

  test.each(cases.map((c) => [c.name, c] as const))("documented case %s, one record at a time", (_n, c) => {
    const t = new FlowTransform(module);
    expect(ecsDiff(JSON.parse(t.mapRecord(c.input)), c.expected)).toEqual([]);
  });

  test("all documented cases as one NDJSON stream keep their order", () => {
    const t = new FlowTransform(module);
    const input = Buffer.from(cases.map((c) => c.input).join("\n") + "\n");
    const r = pushAll(t, [input]);
    expect(r.records).toBe(cases.length);
    expect(r.errors).toBe(0);
    const out = lines(r.output);
    expect(out).toHaveLength(cases.length);
    out.forEach((o, i) => expect(ecsDiff(o, cases[i].expected)).toEqual([]));
  });

  test("the same output whatever the chunk boundaries (down to one byte at a time)", () => {
    const input = Buffer.from(cases.map((c) => c.input).join("\n") + "\n");
    const whole = pushAll(new FlowTransform(module), [input]).output;
    for (const size of [1, 7, 64, 333]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
      expect(pushAll(new FlowTransform(module), chunks).output.equals(whole)).toBe(true);
    }
  });

  test("a last line without newline is mapped at end(); blank lines and CRLF are framing", () => {
    const t = new FlowTransform(module);
    const a = cases[0].input;
    const b = cases[5].input;
    const r = pushAll(t, [Buffer.from(`\n${a}\r\n  \r\n\n${b}`)]);
    expect(r.records).toBe(2);
    const out = lines(r.output) as Record<string, Json>[];
    expect(out.map((o) => o.message)).toEqual([a, b]);
  });

  test("bad lines become error events in place, the good ones around them still map", () => {
    const t = new FlowTransform(module);
    const input = [cases[0].input, "{not json", "[1,2,3]", cases[1].input, "\u0000\u0001"].join("\n") + "\n";
    const r = pushAll(t, [Buffer.from(input)]);
    expect(r.records).toBe(5);
    expect(r.errors).toBe(3);
    const out = lines(r.output) as Record<string, any>[];
    expect(out.map((o) => o.error?.type ?? "ok")).toEqual(["ok", "invalid_json", "not_an_object", "ok", "invalid_json"]);
    expect(out[1]).toEqual({
      message: "{not json",
      error: { type: "invalid_json", message: expect.stringContaining("byte 1") },
      event: { kind: "pipeline_error" },
    });
  });

  test("an oversized line split over many chunks is one too_large error event with its size", () => {
    const t = new FlowTransform(module);
    const big = `{"rule":"${"x".repeat(300_000)}"}`;
    const input = Buffer.from(`${cases[0].input}\n${big}\n${cases[1].input}\n`);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < input.length; i += 4096) chunks.push(input.subarray(i, i + 4096));
    const r = pushAll(t, chunks);
    expect(r.records).toBe(3);
    const out = lines(r.output) as Record<string, any>[];
    expect(out[1].error.type).toBe("too_large");
    expect(out[1].error.message).toContain(String(Buffer.byteLength(big)));
    expect(out[1].message).toBe(big.slice(0, 65536));
    expect(ecsDiff(out[2], cases[1].expected)).toEqual([]);
  });

  test("the input and output buffers are reused: memory stops growing over repeated batches", () => {
    const t = new FlowTransform(module);
    const batch = Buffer.from(cases.map((c) => c.input).join("\n").concat("\n").repeat(500));
    const memory = () => ((t as unknown as { exports: { memory: WebAssembly.Memory } }).exports.memory.buffer.byteLength);
    for (let i = 0; i < 5; i++) t.push(batch);
    const settled = memory();
    for (let i = 0; i < 50; i++) t.push(batch);
    expect(memory()).toBe(settled);
  });
});

test("after a trap the loader re-instantiates and redoes the batch record by record", () => {
  // A module whose ndjson_feed always traps and whose map path works: the loader must fall
  // back to one call per line and still give one output line per record, in order.
  const t = new FlowTransform(modules.portable);
  const inner = t as unknown as { exports: Record<string, unknown>; instantiate: () => void };
  const trapOnce = () => {
    const e = { ...(new WebAssembly.Instance(modules.portable, moduleImports()).exports as Record<string, any>) };
    let trapped = false;
    const feed = e.ndjson_feed as (len: number, last: number) => number;
    e.ndjson_feed = (len: number, last: number) => {
      if (!trapped && len > 2000) {
        trapped = true;
        throw new WebAssembly.RuntimeError("unreachable");
      }
      return feed(len, last);
    };
    inner.exports = e;
  };
  trapOnce();
  inner.instantiate = trapOnce; // the fresh instance traps no more for single lines (< 2000 bytes)
  const input = Buffer.from(cases.map((c) => c.input).join("\n") + "\n");
  const r = t.push(input);
  expect(t.traps).toBe(1);
  expect(r.records).toBe(cases.length);
  const out = lines(r.output);
  out.forEach((o, i) => expect(ecsDiff(o, cases[i].expected)).toEqual([]));
});
