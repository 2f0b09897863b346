// Calls the filter export exactly as Fluent Bit's `filter wasm` does (src/wasm/flb_wasm.c,
// flb_wasm_call_function_format_json): the record as compact JSON, non-ASCII escaped as \uXXXX
// (json.escape_unicode on, the default), copied into the module with the module's own
// allocator when it exports one WAMR finds by name (wasm_loader.c): `malloc`/`free`, or
// AssemblyScript's `__new` + `__pin` and `__unpin`; otherwise into WAMR's app heap, memory the
// module does not manage (Wasm_Heap_Size; here pages the host adds after instantiation), and a
// record that does not fit is passed as address 0, as WAMR does. With a NUL terminator not counted
// in the length; six i32 arguments; the result read up to its NUL and copied; both inputs freed.
// What Fluent Bit would do with the result is reported too: it keeps the record only when the
// result is a JSON object.

import { moduleImports } from "../transform/wasi-imports.js";

interface FilterExports {
  memory: WebAssembly.Memory;
  [name: string]: unknown;
}

export interface FilterCall {
  /** The text the filter returned (up to its NUL). */
  text: string;
  /** Fluent Bit keeps the record only when this is a JSON object; otherwise it drops it. */
  kept: boolean;
  record?: Record<string, unknown>;
}

/** A record serialised as Fluent Bit hands it to the filter. */
export function fluentBitJson(record: unknown, escapeUnicode = true): string {
  const json = JSON.stringify(record);
  if (!escapeUnicode) return json;
  return json.replace(/[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

export class FluentBitFilter {
  readonly exports: FilterExports;
  private readonly fn: (...args: number[]) => number;
  /** WAMR's module_malloc / module_free for this module. */
  readonly malloc: (size: number) => number;
  readonly free: (ptr: number) => void;

  /** WAMR's app heap when the module exports no allocator: [start, end) of its memory. */
  readonly appHeap?: { start: number; end: number };
  private appHeapNext = 0;

  /** `appHeapBytes`: Wasm_Heap_Size (the examples' 512K by default), for a module without an
   * allocator. */
  constructor(module: WebAssembly.Module, readonly functionName = "nsg_flow_ecs", appHeapBytes = 512 * 1024) {
    this.exports = new WebAssembly.Instance(module, moduleImports()).exports as unknown as FilterExports;
    const fn = this.exports[functionName];
    const f = (name: string) => (typeof this.exports[name] === "function" ? this.exports[name] as (...a: number[]) => number : undefined);
    const [malloc, free, newObject, pin, unpin] = [f("malloc"), f("free"), f("__new"), f("__pin"), f("__unpin")];
    if (typeof fn !== "function") throw new Error(`module does not export ${functionName}(6 × i32) -> i32`);
    if (malloc && free) {
      this.malloc = (size) => malloc(size);
      this.free = (ptr) => void free(ptr);
    } else if (newObject && pin && unpin) {
      this.malloc = (size) => pin(newObject(size, 0));
      this.free = (ptr) => void unpin(ptr);
    } else {
      // WAMR's layout (memory_instantiate, "Insert app heap before new page"): whole pages, less
      // 1 KiB. Grown here after the start function, so the module's allocator never saw them.
      const pages = Math.ceil(appHeapBytes / 65536);
      const start = this.exports.memory.grow(pages) * 65536;
      const heap = { start, end: start + pages * 65536 - 1024 };
      this.appHeap = heap;
      // Per call the tag and the record, both freed before the next: one bump pointer.
      this.malloc = (size) => {
        const ptr = this.appHeapNext === 0 ? heap.start : this.appHeapNext;
        const aligned = (ptr + 7) & ~7;
        if (aligned + size > heap.end) return 0;
        this.appHeapNext = aligned + size;
        return aligned;
      };
      this.free = () => { this.appHeapNext = 0; };
    }
    this.fn = fn as (...args: number[]) => number;
  }

  static hasFilter(module: WebAssembly.Module, functionName = "nsg_flow_ecs"): boolean {
    return WebAssembly.Module.exports(module).some((e) => e.name === functionName && e.kind === "function");
  }

  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  private dup(bytes: Uint8Array): number {
    const ptr = this.malloc(bytes.length + 1);
    if (ptr === 0) return 0;
    const mem = new Uint8Array(this.exports.memory.buffer);
    mem.set(bytes, ptr);
    mem[ptr + bytes.length] = 0;
    return ptr;
  }

  /** One call with a record already serialised (the JSON text Fluent Bit would pass). */
  callJson(recordJson: string, tag = "azure.flow", time = { sec: 1710768066, nsec: 0 }): FilterCall {
    const tagBytes = Buffer.from(tag);
    const recBytes = Buffer.from(recordJson);
    const tagPtr = this.dup(tagBytes);
    const recPtr = this.dup(recBytes);
    let resultPtr: number;
    try {
      resultPtr = this.fn(tagPtr, tagBytes.length, time.sec >>> 0, time.nsec >>> 0, recPtr, recBytes.length);
    } finally {
      this.free(tagPtr);
      this.free(recPtr);
    }
    const mem = new Uint8Array(this.exports.memory.buffer);
    if (resultPtr <= 0 || resultPtr >= mem.length) return { text: "", kept: false };
    let end = resultPtr;
    while (end < mem.length && mem[end] !== 0) end++;
    const text = Buffer.from(mem.subarray(resultPtr, end)).toString("utf8");
    try {
      const parsed = JSON.parse(text);
      const kept = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
      return kept ? { text, kept, record: parsed } : { text, kept };
    } catch {
      return { text, kept: false };
    }
  }

  /** One call with a record object, serialised as Fluent Bit does. */
  call(record: unknown, escapeUnicode = true): FilterCall {
    return this.callJson(fluentBitJson(record, escapeUnicode));
  }
}
