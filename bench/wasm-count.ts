#!/usr/bin/env node
// Counts the WebAssembly instructions the Fluent Bit filter executes per record, by function: the
// measure that decides optimisations for Fluent Bit's WAMR interpreter, which runs a module one
// instruction at a time (CPU time on a shared 2-core machine is too noisy for small changes).
//
//   node dist/bench/wasm-count.js [--wasm FILE] [--function NAME] [--records N] [--top N] [--raw-utf8] [--lines] [--opcodes]
//                                 [--indicators NAME=FILE ...]
//
// The module is rewritten with a counter per function, bumped at the start of every straight run
// of instructions by the run's length, then called as Fluent Bit calls it
// (host/check/fluent-bit-harness.ts) on the benchmark corpus's flattened events, serialised as Fluent
// Bit serialises them. "ops" leaves out what WAMR's fast interpreter does not dispatch on its own
// (local.get/tee, drop, constants, block, loop, end, nop: it reads locals and constants in place);
// "calls" counts entries into the function. Names come
// from the module's name section, source lines (--lines) from FILE.map: build a copy with both for
// a profile, e.g. (--indicators loads indicator sets through the module's batch ABI first, as
// the settings file will for Fluent Bit; bench/indicators.js --list-out FILE writes the
// benchmark's million)
//   npx asc assembly/nsg-flow-ecs.ts --config asconfig.json --target release --debug --sourceMap -o /tmp/named.wasm
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { FluentBitFilter, fluentBitJson } from "../host/check/fluent-bit-harness.js";
import { builtWasm } from "../host/transform/loader.js";
import { generateCorpus } from "./corpus.js";

// ─── Reading and writing the binary format ───────────────────────────────────────────────────

class Reader {
  constructor(readonly b: Uint8Array, public p = 0) {}
  byte(): number {
    return this.b[this.p++]!;
  }
  u32(): number {
    let v = 0, shift = 0, c: number;
    do {
      c = this.b[this.p++]!;
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
    } while (c & 0x80);
    return v;
  }
  /** Skips a LEB128 of any length and sign. */
  skipLeb(): void {
    while (this.b[this.p++]! & 0x80);
  }
  bytes(n: number): Uint8Array {
    const out = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
  name(): string {
    return Buffer.from(this.bytes(this.u32())).toString("utf8");
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, content: number[] | Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([id, ...leb(content.length)]), Buffer.from(content)]);
}

// Opcodes after which a new straight run starts (control flow), and those not dispatched on
// their own by WAMR's fast interpreter.
const OPCODE_NAMES: Record<number, string> = {
  0x00: "unreachable", 0x04: "if", 0x05: "else", 0x0c: "br", 0x0d: "br_if", 0x0e: "br_table", 0x0f: "return",
  0x10: "call", 0x11: "call_indirect", 0x1b: "select", 0x21: "local.set", 0x23: "global.get", 0x24: "global.set",
  0xfc0a: "memory.copy", 0xfc0b: "memory.fill",
};
for (let op = 0x28; op <= 0x35; op++) OPCODE_NAMES[op] = "load";
for (let op = 0x36; op <= 0x3e; op++) OPCODE_NAMES[op] = "store";
const RUN_ENDERS = new Set([0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
const FREE = new Set([0x01, 0x02, 0x03, 0x0b, 0x1a, 0x20, 0x22, 0x41, 0x42, 0x43, 0x44]);

/** Skips one instruction's immediates (opcode already read). */
function skipImmediates(r: Reader, op: number): void {
  if (op === 0x02 || op === 0x03 || op === 0x04) {
    const t = r.b[r.p]!;
    if (t === 0x40 || t >= 0x6f) r.p++;
    else r.skipLeb();
  } else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2) r.u32();
  else if (op === 0x0e) {
    const n = r.u32();
    for (let i = 0; i <= n; i++) r.u32();
  } else if (op === 0x11) { r.u32(); r.u32(); }
  else if (op === 0x1c) { const n = r.u32(); r.bytes(n); }
  else if (op >= 0x28 && op <= 0x3e) { r.u32(); r.u32(); }
  else if (op === 0x3f || op === 0x40 || op === 0xd0) r.byte();
  else if (op === 0x41 || op === 0x42) r.skipLeb();
  else if (op === 0x43) r.bytes(4);
  else if (op === 0x44) r.bytes(8);
  else if (op === 0xfc) {
    const sub = r.u32();
    if (sub === 8) { r.u32(); r.byte(); }
    else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) r.u32();
    else if (sub === 10) { r.byte(); r.byte(); }
    else if (sub === 11) r.byte();
    else if (sub === 12 || sub === 14) { r.u32(); r.u32(); }
  } else if (op === 0xfd) throw new Error("SIMD instructions: count the portable build");
}

/** A straight run of instructions: it executes as a whole, `ops` instructions, each at its offset
 * in the module file (for source maps). */
interface Run {
  func: number;
  ops: number;
  /** File offsets of the counted instructions, and their opcodes (0xfc-prefixed ones as 0xfc00 + n). */
  offsets: number[];
  opcodes: number[];
  /** Whether this is the function's entry run (its count is the function's calls). */
  entry: boolean;
}

export interface Instrumented {
  module: WebAssembly.Module;
  names: string[];
  runs: Run[];
}

/** The module with an i64 counter per straight run, exported as __run_N. */
export function instrument(wasm: Uint8Array): Instrumented {
  const r = new Reader(wasm, 8);
  const sections: { id: number; body: Uint8Array; at: number }[] = [];
  while (r.p < wasm.length) {
    const id = r.byte();
    const size = r.u32();
    const at = r.p;
    sections.push({ id, body: r.bytes(size), at });
  }
  let importedFunctions = 0, importedGlobals = 0, definedGlobals = 0, definedFunctions = 0;
  const names = new Map<number, string>();
  for (const s of sections) {
    const sr = new Reader(s.body);
    if (s.id === 2) {
      const n = sr.u32();
      for (let i = 0; i < n; i++) {
        sr.name(); sr.name();
        const kind = sr.byte();
        if (kind === 0) { sr.u32(); importedFunctions++; }
        else if (kind === 1) { sr.byte(); sr.byte(); const f = sr.byte(); sr.u32(); if (f & 1) sr.u32(); }
        else if (kind === 2) { const f = sr.byte(); sr.u32(); if (f & 1) sr.u32(); }
        else if (kind === 3) { sr.byte(); sr.byte(); importedGlobals++; }
      }
    } else if (s.id === 6) definedGlobals = sr.u32();
    else if (s.id === 3) definedFunctions = sr.u32();
    else if (s.id === 0 && sr.name() === "name") {
      while (sr.p < s.body.length) {
        const sub = sr.byte();
        const size = sr.u32();
        const end = sr.p + size;
        if (sub === 1) {
          const n = sr.u32();
          for (let i = 0; i < n; i++) { const idx = sr.u32(); names.set(idx, sr.name()); }
        }
        sr.p = end;
      }
    }
  }
  const firstCounter = importedGlobals + definedGlobals;
  const bump = (g: number, n: number) => [0x23, ...leb(g), 0x42, ...sleb(n), 0x7c, 0x24, ...leb(g)];

  // The code section first: it decides how many counters there are.
  const runs: Run[] = [];
  let codeSection: Buffer | undefined;
  for (const s of sections) {
    if (s.id !== 10) continue;
    const sr = new Reader(s.body);
    const n = sr.u32();
    const bodies: Buffer[] = [Buffer.from(leb(n))];
    for (let f = 0; f < n; f++) {
      const size = sr.u32();
      const end = sr.p + size;
      const localsStart = sr.p;
      const groups = sr.u32();
      for (let i = 0; i < groups; i++) { sr.u32(); sr.byte(); }
      const code: number[] = [...s.body.subarray(localsStart, sr.p)];
      let runStart = sr.p;
      let run: Run = { func: f, ops: 0, offsets: [], opcodes: [], entry: true };
      const flush = (to: number) => {
        code.push(...bump(firstCounter + runs.length, 1));
        runs.push(run);
        code.push(...s.body.subarray(runStart, to));
        runStart = to;
        run = { func: f, ops: 0, offsets: [], opcodes: [], entry: false };
      };
      while (sr.p < end) {
        const at = sr.p;
        const op = sr.byte();
        const sub = op === 0xfc ? s.body[sr.p]! : 0;
        skipImmediates(sr, op);
        if (!FREE.has(op)) {
          run.ops++;
          run.offsets.push(s.at + at);
          run.opcodes.push(op === 0xfc ? 0xfc00 + sub : op);
        }
        if (RUN_ENDERS.has(op) && sr.p < end) flush(sr.p);
      }
      flush(end);
      bodies.push(Buffer.from(leb(code.length)), Buffer.from(code));
      sr.p = end;
    }
    codeSection = section(10, Buffer.concat(bodies));
  }

  const out: Buffer[] = [Buffer.from(wasm.subarray(0, 8))];
  for (const s of sections) {
    if (s.id === 6) {
      const sr = new Reader(s.body);
      const n = sr.u32();
      const extra: number[] = [];
      for (let i = 0; i < runs.length; i++) extra.push(0x7e, 0x01, 0x42, 0x00, 0x0b);
      out.push(section(6, Buffer.concat([Buffer.from(leb(n + runs.length)), Buffer.from(s.body.subarray(sr.p)), Buffer.from(extra)])));
    } else if (s.id === 7) {
      const sr = new Reader(s.body);
      const n = sr.u32();
      const extra: number[] = [];
      for (let i = 0; i < runs.length; i++) {
        const nameBytes = Buffer.from(`__run_${i}`);
        extra.push(...leb(nameBytes.length), ...nameBytes, 0x03, ...leb(firstCounter + i));
      }
      out.push(section(7, Buffer.concat([Buffer.from(leb(n + runs.length)), Buffer.from(s.body.subarray(sr.p)), Buffer.from(extra)])));
    } else if (s.id === 10) {
      out.push(codeSection!);
    } else if (s.id !== 0) {
      out.push(section(s.id, s.body));
    }
  }
  return {
    module: new WebAssembly.Module(Buffer.concat(out)),
    names: Array.from({ length: definedFunctions }, (_, f) => names.get(importedFunctions + f) ?? `func ${importedFunctions + f}`),
    runs,
  };
}

// ─── Source maps (for --lines) ──────────────────────────────────────────────────────────────

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** File offset → "source:line", from a wasm source map (one generated line, columns = offsets). */
export function sourceLines(mapFile: string): (offset: number) => string {
  const map = JSON.parse(readFileSync(mapFile, "utf8")) as { sources: string[]; mappings: string };
  const entries: [number, number, number][] = [];
  let col = 0, src = 0, line = 0;
  for (const seg of map.mappings.split(/[,;]/)) {
    if (!seg) continue;
    const vals: number[] = [];
    let v = 0, shift = 0;
    for (const ch of seg) {
      const d = B64.indexOf(ch);
      v += (d & 31) << shift;
      if (d & 32) shift += 5;
      else {
        vals.push(v & 1 ? -(v >>> 1) : v >>> 1);
        v = 0;
        shift = 0;
      }
    }
    col += vals[0]!;
    if (vals.length >= 4) {
      src += vals[1]!;
      line += vals[2]!;
      entries.push([col, src, line]);
    }
  }
  entries.sort((a, b) => a[0] - b[0]);
  return (offset) => {
    let lo = 0, hi = entries.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid]![0] <= offset) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (best < 0) return "?";
    const [, s, l] = entries[best]!;
    return `${map.sources[s]}:${l + 1}`;
  };
}

// ─── Counting a corpus ───────────────────────────────────────────────────────────────────────

export interface Count {
  name: string;
  ops: number;
  calls: number;
}

export interface Profile {
  total: number;
  calls: number;
  byFunction: Count[];
  /** Ops per record by source line (needs the source map). */
  byLine?: { line: string; ops: number }[];
  /** Ops per record by opcode. */
  byOpcode: { opcode: string; ops: number }[];
}

/** Per-record ops and calls of each function over `records` (JSON texts as Fluent Bit passes them). */
export function countPerRecord(wasm: Uint8Array, functionName: string, records: string[], mapFile?: string,
  indicators: { name: string; bytes: Uint8Array }[] = []): Profile {
  const inst = instrument(wasm);
  const filter = new FluentBitFilter(inst.module, functionName);
  const exports = filter.exports as unknown as Record<string, WebAssembly.Global>;
  for (const set of indicators) loadIndicators(filter.exports as unknown as BatchIndicators, set.name, set.bytes);
  const read = () => inst.runs.map((_, i) => Number(exports[`__run_${i}`]!.value));
  // One record first so that start-up work (static data, first allocations) is not counted.
  filter.callJson(records[0]!);
  const before = read();
  for (const r of records) filter.callJson(r);
  const after = read();
  const n = records.length;
  const executions = after.map((a, i) => (a - before[i]!) / n);
  const funcs = inst.names.map((name) => ({ name, ops: 0, calls: 0 }));
  inst.runs.forEach((run, i) => {
    funcs[run.func]!.ops += run.ops * executions[i]!;
    if (run.entry) funcs[run.func]!.calls += executions[i]!;
  });
  const opcodes = new Map<number, number>();
  inst.runs.forEach((run, i) => {
    for (const op of run.opcodes) opcodes.set(op, (opcodes.get(op) ?? 0) + executions[i]!);
  });
  const profile: Profile = {
    byOpcode: [...opcodes].map(([op, ops]) => ({ opcode: OPCODE_NAMES[op] ?? `0x${op.toString(16)}`, ops })).sort((a, b) => b.ops - a.ops),
    total: funcs.reduce((s, c) => s + c.ops, 0),
    calls: funcs.reduce((s, c) => s + c.calls, 0),
    byFunction: funcs.filter((c) => c.ops > 0 || c.calls > 0).sort((a, b) => b.ops - a.ops),
  };
  if (mapFile) {
    const lineOf = sourceLines(mapFile);
    const lines = new Map<string, number>();
    inst.runs.forEach((run, i) => {
      if (executions[i] === 0) return;
      for (const off of run.offsets) {
        const l = lineOf(off);
        lines.set(l, (lines.get(l) ?? 0) + executions[i]!);
      }
    });
    profile.byLine = [...lines].map(([line, ops]) => ({ line, ops })).sort((a, b) => b.ops - a.ops);
  }
  return profile;
}

interface BatchIndicators {
  memory: WebAssembly.Memory;
  input_buffer(size: number): number;
  output_buffer(): number;
  indicators_begin(len: number): void;
  indicators_feed(len: number): void;
  indicators_end(nowMs: number): number;
}

function loadIndicators(e: BatchIndicators, name: string, bytes: Uint8Array): void {
  const put = (b: Uint8Array) => new Uint8Array(e.memory.buffer, e.input_buffer(b.length), b.length).set(b);
  put(Buffer.from(name));
  e.indicators_begin(Buffer.byteLength(name));
  for (let at = 0; at < bytes.length; at += 1 << 20) {
    const piece = bytes.subarray(at, at + (1 << 20));
    put(piece);
    e.indicators_feed(piece.length);
  }
  // The load may grow the memory: its buffer is read after.
  const len = e.indicators_end(Date.now());
  const report = JSON.parse(Buffer.from(e.memory.buffer, e.output_buffer(), len).toString()) as { loaded: number; error?: string };
  if (report.error) throw new Error(`indicators ${name}: ${report.error}`);
  console.log(`indicators ${name}: ${report.loaded} loaded`);
}

/** The corpus's flattened events (no wrapped lines), as Fluent Bit hands them to a filter. */
export function flattenedRecords(n: number, escapeUnicode = true): string[] {
  const lines = generateCorpus(Math.ceil(n * 1.05) + 10).ndjson.toString("utf8").split("\n");
  return lines.filter((l) => l && !l.startsWith('{"message":')).slice(0, n).map((l) => fluentBitJson(JSON.parse(l), escapeUnicode));
}

function main(argv: string[]): void {
  let wasmFile = builtWasm("nsg-flow-ecs.wasm"), fn = "nsg_flow_ecs", records = 2000, top = 25, escapeUnicode = true, lines = false, opcodes = false;
  const sets: { name: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--wasm") wasmFile = argv[++i]!;
    else if (a === "--function") fn = argv[++i]!;
    else if (a === "--records") records = Number(argv[++i]);
    else if (a === "--top") top = Number(argv[++i]);
    else if (a === "--raw-utf8") escapeUnicode = false;
    else if (a === "--lines") lines = true;
    else if (a === "--opcodes") opcodes = true;
    else if (a === "--indicators") {
      const v = argv[++i] ?? "";
      const eq = v.indexOf("=");
      if (eq <= 0) throw new Error("--indicators needs NAME=FILE");
      sets.push({ name: v.slice(0, eq), bytes: readFileSync(v.slice(eq + 1)) });
    }
    else throw new Error(`unknown option ${a}`);
  }
  const r = countPerRecord(readFileSync(wasmFile), fn, flattenedRecords(records, escapeUnicode), lines ? `${wasmFile}.map` : undefined, sets);
  console.log(`${wasmFile} ${fn}: ${r.total.toFixed(0)} ops and ${r.calls.toFixed(1)} calls per record (${records} records)`);
  for (const c of r.byFunction.slice(0, top)) {
    console.log(`${c.ops.toFixed(1).padStart(10)} ops ${c.calls.toFixed(2).padStart(8)} calls  ${c.name}`);
  }
  if (opcodes) {
    console.log("by opcode:");
    for (const o of r.byOpcode.slice(0, top)) console.log(`${o.ops.toFixed(1).padStart(10)} ops  ${o.opcode}`);
  }
  if (r.byLine) {
    console.log("by source line:");
    for (const l of r.byLine.slice(0, top)) console.log(`${l.ops.toFixed(1).padStart(10)} ops  ${l.line}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main(process.argv.slice(2));
