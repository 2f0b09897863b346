// The filter module beside WAMR's app heap. It exports no allocator, so WAMR copies each record
// into an app heap of its own that it inserts right after the module's declared pages before the
// start function runs (WAMR 2.4.1 memory_instantiate, "Insert app heap before new page": the
// initial page count grows by ceil(Wasm_Heap_Size / 64 KiB), the heap is those pages less 1 KiB).
// Here the built module is given exactly that layout (its memory section's initial page count
// raised) and WAMR's side is played by the test: the module must never write in the app heap —
// not at start-up, not when it grows its own memory — and must map records copied there as an
// ordinary instance does. The real thing runs in tests/fluent-bit-real.test.ts.
import { readFileSync } from "node:fs";
import { FluentBitFilter } from "../host/check/fluent-bit-harness.js";
import { builtWasm } from "../host/transform/loader.js";
import { moduleImports } from "../host/transform/wasi-imports.js";
import { loadDocumentedCases } from "../host/check/documented.js";
import { generateCorpus } from "../bench/corpus.js";

const bytes = readFileSync(builtWasm("nsg-flow-ecs.wasm"));
const PAGE = 65536;

function readLeb(b: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const c = b[at++]!;
    value += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (c < 0x80) return [value, at];
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let c = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) c |= 0x80;
    out.push(c);
  } while (n > 0);
  return out;
}

/** The module's memory section: [initial pages, where the section starts and ends, its flags]. */
function memorySection(b: Uint8Array): { initial: number; start: number; end: number; flags: number; max?: number } {
  let at = 8;
  while (at < b.length) {
    const id = b[at]!;
    const [size, body] = readLeb(b, at + 1);
    if (id === 5) {
      const [count, p] = readLeb(b, body);
      expect(count).toBe(1);
      const flags = b[p]!;
      const [initial, q] = readLeb(b, p + 1);
      const max = flags & 1 ? readLeb(b, q)[0] : undefined;
      return { initial, start: at, end: body + size, flags, max };
    }
    at = body + size;
  }
  throw new Error("no memory section");
}

/** The module as WAMR lays it out with an app heap of `heapPages` pages. */
function withAppHeap(b: Uint8Array, heapPages: number): { module: WebAssembly.Module; declared: number } {
  const m = memorySection(b);
  const limits = [m.flags, ...leb(m.initial + heapPages), ...(m.max === undefined ? [] : leb(m.max + heapPages))];
  const body = [1, ...limits];
  const patched = new Uint8Array([...b.subarray(0, m.start), 5, ...leb(body.length), ...body, ...b.subarray(m.end)]);
  return { module: new WebAssembly.Module(patched), declared: m.initial };
}

interface Wamr {
  exports: { memory: WebAssembly.Memory; nsg_flow_ecs: (...a: number[]) => number };
  heap: { start: number; end: number };
}

function instantiate(heapPages: number): Wamr {
  const { module, declared } = withAppHeap(bytes, heapPages);
  const exports = new WebAssembly.Instance(module, moduleImports()).exports as unknown as Wamr["exports"];
  return { exports, heap: { start: declared * PAGE, end: (declared + heapPages) * PAGE - 1024 } };
}

const SENTINEL = 0xa5;

/** One filter call as Fluent Bit makes it, with the record copied into the app heap at `at` (or
 * passed as 0 when it does not fit, as WAMR does); the result's text. */
function call(w: Wamr, record: Buffer, at: number): string {
  const mem = () => new Uint8Array(w.exports.memory.buffer);
  const fits = at + record.length + 1 <= w.heap.end;
  if (fits) {
    mem().set(record, at);
    mem()[at + record.length] = 0;
  }
  const result = w.exports.nsg_flow_ecs(0, 0, 1710768066, 0, fits ? at : 0, record.length);
  let end = result;
  const m = mem();
  while (m[end] !== 0) end++;
  const text = Buffer.from(m.subarray(result, end)).toString("utf8");
  if (fits) m.fill(SENTINEL, at, at + record.length + 1);
  return text;
}

function heapIntact(w: Wamr): boolean {
  const n = w.heap.end - w.heap.start;
  return Buffer.from(w.exports.memory.buffer, w.heap.start, n).equals(Buffer.alloc(n, SENTINEL));
}

test("WAMR finds no allocator among the exports, and no __heap_base to move the app heap before", () => {
  const names = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  for (const n of ["malloc", "free", "__new", "__pin", "__unpin", "__retain", "__release", "__heap_base"]) expect(names).not.toContain(n);
});

test.each([1, 8, 64])("start-up writes nothing in an app heap of %i pages, and the records copied there map as in an ordinary instance", (heapPages) => {
  const w = instantiate(heapPages);
  // The start function ran (every top-level allocation of every file) with the app heap in place.
  expect(new Uint8Array(w.exports.memory.buffer, w.heap.start, w.heap.end - w.heap.start).every((x) => x === 0)).toBe(true);
  new Uint8Array(w.exports.memory.buffer).fill(SENTINEL, w.heap.start, w.heap.end);
  const plain = new FluentBitFilter(new WebAssembly.Module(bytes));
  const records = [
    ...loadDocumentedCases().map((c) => c.input),
    ...generateCorpus(300, 3).ndjson.toString("utf8").split("\n").filter((l) => l !== ""),
    // Past the 64 KiB limit (too_large, message cut), and a wrapped event whose inner copy grows.
    `{"rule":"${"x".repeat(70_000)}"}`,
    JSON.stringify({ message: JSON.stringify({ time: "2024-03-18T13:21:42Z", rule: "y".repeat(50_000), "flow.0": "1710768066,1.1.1.1,2.2.2.2,1,2,T,I,A" }) }),
  ].map((r) => Buffer.from(r));
  let at = w.heap.start + 64;
  for (const record of records) {
    const fits = at + record.length + 1 <= w.heap.end;
    const text = call(w, record, at);
    if (fits) expect(text).toBe(plain.callJson(record.toString("utf8")).text);
    else expect(JSON.parse(text).error.message).toContain("Wasm_Heap_Size");
    expect(heapIntact(w)).toBe(true);
    at = w.heap.start + 64 + ((at + 4099) % 8192);
  }
  // The module grew its memory above the app heap for the large records, and kept out of it.
  expect(w.exports.memory.buffer.byteLength).toBeGreaterThan(w.heap.end + 1024);
});

test("a record WAMR could not copy (address 0: larger than Wasm_Heap_Size) becomes a too_large error event naming the setting", () => {
  const w = instantiate(1);
  new Uint8Array(w.exports.memory.buffer).fill(SENTINEL, w.heap.start, w.heap.end);
  const record = Buffer.from(JSON.stringify({ time: "2024-03-18T13:21:42Z", rule: "z".repeat(70_000) }));
  const text = call(w, record, w.heap.start);
  expect(JSON.parse(text)).toEqual({
    message: "",
    error: { type: "too_large", message: `record is ${record.length} bytes, more than the filter's Wasm_Heap_Size holds (raise it above the largest record); message is empty` },
    event: { kind: "pipeline_error" },
  });
  expect(heapIntact(w)).toBe(true);
  // The next record maps as usual.
  const next = Buffer.from(loadDocumentedCases()[0]!.input);
  expect(JSON.parse(call(w, next, w.heap.start)).event.kind).not.toBe("pipeline_error");
});
