#!/usr/bin/env node
// The indicator sets' own figures (issue 18), before they are wired into the mapping:
//
//   node dist/bench/indicators.js [--indicators N] [--tuples N] [--runs N] [--seed S] [--list-out FILE]
//
// Generates N indicators (default 1,000,000: a feed-like mix of exact IPv4, IPv4 CIDRs from /8
// to /31, exact IPv6 and IPv6 prefixes, none in the private ranges or the cloud ranges flow
// addresses come from), compiles tests/fixtures/indicators-module.ts (portable and SIMD), and
// prints for each build: the load time (median of --runs fresh instances, the list fed in 1 MiB
// pieces as a file would be), the instance's linear memory after the load, raw IPv4 and IPv6
// lookups per second, and the cost per tuple of writeThreat (both addresses parsed and looked
// up, the fragment written for the ~1% that match) against the same tuples with no set loaded.
// Then the real thing: the benchmark corpus (bench/corpus.ts) mapped by FlowTransform (the
// default, SIMD build) without sets and with the million plus the destination addresses of
// about 1% of its tuples, and the speed of the second as a share of the first (the target is
// 90% or more). Times are CPU time of this process (process.cpuUsage), so that other work on
// the machine does not count.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileFixture } from "../tests/compile-fixture.js";
import { FlowTransform } from "../host/transform/loader.js";
import { generateCorpus } from "./corpus.js";

interface Options { indicators: number; tuples: number; runs: number; seed: number }

function parseOptions(argv: string[]): Options {
  const o: Options = { indicators: 1_000_000, tuples: 1_000_000, runs: 3, seed: 18 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!.replace(/^--/, "") as keyof Options;
    if (!(k in o) || argv[i + 1] === undefined) throw new Error(`usage: indicators.js [--indicators N] [--tuples N] [--runs N] [--seed S]`);
    o[k] = Number(argv[i + 1]);
  }
  return o;
}

// A small deterministic PRNG (mulberry32): the same sets and tuples on every machine.
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Where flow addresses mostly are, and so where no generated indicator goes.
const QUIET_FIRST_OCTETS = new Set([0, 10, 20, 40, 52, 100, 127, 169, 172, 192, 224, 225, 240, 255]);

function v4Text(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export interface Generated { text: string; hits: string[]; count: number }

/** `n` indicators, the feed-like mix above, one a line; `hits`: some of its exact addresses. */
export function generate(n: number, rnd: () => number): Generated {
  const lines: string[] = [];
  const hits: string[] = [];
  const publicV4 = (): number => {
    for (;;) {
      const a = (rnd() * 2 ** 32) >>> 0;
      if (!QUIET_FIRST_OCTETS.has(a >>> 24)) return a;
    }
  };
  const hex = (): string => ((rnd() * 65536) >>> 0).toString(16);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.70) {
      const a = publicV4();
      lines.push(v4Text(a));
      if (hits.length < 4096) hits.push(v4Text(a));
    } else if (r < 0.85) {
      // CIDRs as in DROP-like feeds: mostly /24-/31, some /16-/23, a few /9-/15 and /8s (about
      // 2% of the address space covered in all).
      const q = rnd();
      const len = q < 0.97 ? 24 + Math.floor(rnd() * 8) : q < 0.9997 ? 16 + Math.floor(rnd() * 8) : q < 0.99995 ? 9 + Math.floor(rnd() * 7) : 8;
      const a = publicV4();
      const net = len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0;
      lines.push(`${v4Text(net)}/${len} ; SBL${i}`);
    } else if (r < 0.95) {
      const t = `2a0${(rnd() * 10) >>> 0}:${hex()}:${hex()}:${hex()}::${hex()}`;
      lines.push(t);
      if (hits.length < 8192 && hits.length % 2 === 1) hits.push(t);
    } else {
      lines.push(`2a0${(rnd() * 10) >>> 0}:${hex()}:${hex()}::/48`);
    }
  }
  return { text: lines.join("\n") + "\n", hits, count: n };
}

interface Module {
  memory: WebAssembly.Memory;
  input(size: number): number;
  output(): number;
  begin(len: number): void;
  feed(len: number): void;
  end(now: bigint): number;
  lookupMany4(n: number): number;
  lookupMany6(n: number): number;
  enrichMany(n: number): number;
}

function instantiate(wasm: WebAssembly.Module): Module {
  const inst = new WebAssembly.Instance(wasm, { env: { abort() { throw new Error("abort"); }, seed: () => 18 } });
  return inst.exports as unknown as Module;
}

function put(m: Module, bytes: Uint8Array): void {
  const p = m.input(bytes.length);
  new Uint8Array(m.memory.buffer, p, bytes.length).set(bytes);
}

function loadSet(m: Module, name: string, file: Buffer): Record<string, unknown> {
  put(m, Buffer.from(name));
  m.begin(Buffer.byteLength(name));
  const PIECE = 1 << 20;
  for (let at = 0; at < file.length; at += PIECE) {
    const piece = file.subarray(at, at + PIECE);
    put(m, piece);
    m.feed(piece.length);
  }
  const n = m.end(BigInt(Date.now()) * 1000n);
  return JSON.parse(Buffer.from(m.memory.buffer, m.output(), n).toString());
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** CPU seconds of this process spent in f: on a shared machine, wall time also counts the
 * other processes' turns. */
function timeIt(f: () => void): number {
  const t0 = process.cpuUsage();
  f();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1e6;
}

/** Tuples as the fixture's enrichMany reads them: per address a length byte and the text. */
function tuples(n: number, hits: string[], rnd: () => number): { bytes: Buffer; matching: number } {
  const parts: Buffer[] = [];
  let matching = 0;
  const quiet = [10, 20, 40, 52];
  const quietV4 = (): string => `${quiet[(rnd() * 4) >>> 0]}.${(rnd() * 256) >>> 0}.${(rnd() * 256) >>> 0}.${(rnd() * 256) >>> 0}`;
  for (let i = 0; i < n; i++) {
    const src = quietV4();
    let dst = quietV4();
    if (rnd() < 0.01) {
      dst = hits[(rnd() * hits.length) >>> 0]!;
      matching++;
    }
    const a = Buffer.from(src), b = Buffer.from(dst);
    parts.push(Buffer.from([a.length]), a, Buffer.from([b.length]), b);
  }
  return { bytes: Buffer.concat(parts), matching };
}

function main(): void {
  const argv = process.argv.slice(2);
  const out = argv.indexOf("--list-out");
  if (out >= 0) {
    // Only the generated list, for other tools (bench/wasm-count.js --indicators).
    const o = parseOptions([...argv.slice(0, out), ...argv.slice(out + 2)]);
    writeFileSync(argv[out + 1]!, generate(o.indicators, prng(o.seed)).text);
    return;
  }
  const o = parseOptions(argv);
  const rnd = prng(o.seed);
  let t0 = process.hrtime.bigint();
  const gen = generate(o.indicators, rnd);
  const file = Buffer.from(gen.text);
  const work = tuples(o.tuples, gen.hits, rnd);
  const v4 = new Uint32Array(o.tuples);
  for (let i = 0; i < v4.length; i++) v4[i] = (rnd() * 2 ** 32) >>> 0;
  const v6 = new BigUint64Array(o.tuples * 2);
  for (let i = 0; i < v6.length; i += 2) {
    v6[i] = (0x2a00n << 48n) | (BigInt((rnd() * 2 ** 32) >>> 0) << 16n) | BigInt((rnd() * 65536) >>> 0);
    v6[i + 1] = BigInt((rnd() * 65536) >>> 0);
  }
  console.log(`indicators: ${o.indicators.toLocaleString("en-US")} generated (${(file.length / 1e6).toFixed(1)} MB as a list) in ` +
    `${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s; tuples: ${o.tuples.toLocaleString("en-US")}, ` +
    `${work.matching.toLocaleString("en-US")} with a matching destination; each figure the median of ${o.runs} runs, in CPU time`);

  const dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-indicators-"));
  try {
    for (const [label, simd] of [["portable", false], ["SIMD", true]] as const) {
      const out = path.join(dir, `${label}.wasm`);
      compileFixture("indicators-module.ts", "indicators-module.asconfig.json", out, simd ? ["--enable", "simd"] : []);
      const wasm = new WebAssembly.Module(readFileSync(out));

      const loads: number[] = [];
      let report: Record<string, unknown> = {};
      let memory = 0;
      let m = instantiate(wasm);
      for (let r = 0; r < o.runs; r++) {
        m = instantiate(wasm);
        loads.push(timeIt(() => { report = loadSet(m, "bench", file); }));
        memory = m.memory.buffer.byteLength;
      }
      if (report.error) throw new Error(`the set did not load: ${JSON.stringify(report)}`);

      put(m, new Uint8Array(v4.buffer));
      let hits4 = 0;
      const l4 = median(Array.from({ length: o.runs }, () => timeIt(() => { hits4 = m.lookupMany4(o.tuples); })));
      put(m, new Uint8Array(v6.buffer));
      let hits6 = 0;
      const l6 = median(Array.from({ length: o.runs }, () => timeIt(() => { hits6 = m.lookupMany6(o.tuples); })));
      put(m, work.bytes);
      let matched = 0;
      const withSets = median(Array.from({ length: o.runs }, () => timeIt(() => { matched = m.enrichMany(o.tuples); })));
      const bare = instantiate(wasm);
      put(bare, work.bytes);
      const without = median(Array.from({ length: o.runs }, () => timeIt(() => { bare.enrichMany(o.tuples); })));

      const ns = (s: number): string => (s * 1e9 / o.tuples).toFixed(1);
      console.log(`\n${label} build (V8)`);
      console.log(`  load: ${(median(loads) * 1000).toFixed(0)} ms for ${String(report.loaded)} indicators ` +
        `(${String(report.duplicates)} duplicates, ${String(report.invalid)} invalid); linear memory after it: ${(memory / 2 ** 20).toFixed(1)} MiB`);
      console.log(`  lookups: IPv4 ${(o.tuples / l4 / 1e6).toFixed(1)} M/s (${ns(l4)} ns, ${(100 * hits4 / o.tuples).toFixed(1)}% covered), ` +
        `IPv6 ${(o.tuples / l6 / 1e6).toFixed(1)} M/s (${ns(l6)} ns, ${(100 * hits6 / o.tuples).toFixed(1)}% covered)`);
      console.log(`  per tuple (two address texts parsed and looked up, the fragment written for the ${matched.toLocaleString("en-US")} that match): ` +
        `${ns(withSets)} ns; with no set loaded: ${ns(without)} ns; added: ${ns(withSets - without)} ns`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const corpus = generateCorpus(o.tuples);
  const corpusLines = corpus.ndjson.toString("utf8").split("\n").filter((l) => l !== "");
  const plain = FlowTransform.fromFile();
  const extra: string[] = [];
  const picked = prng(o.seed + 1);
  const mapped = Buffer.concat([plain.push(corpus.ndjson).output, plain.end().output]).toString("utf8").split("\n");
  for (const line of mapped) {
    if (line === "" || picked() >= 0.01) continue;
    const ip = (JSON.parse(line) as { destination?: { ip?: string } }).destination?.ip;
    if (ip !== undefined) extra.push(ip);
  }
  const sets = [{ name: "bench", bytes: file }, { name: "picked", bytes: Buffer.from(extra.join("\n") + "\n") }];
  const withSets = FlowTransform.fromFile(undefined, { indicators: sets });
  const pass = (t: FlowTransform): number => timeIt(() => { t.push(corpus.ndjson); t.end(); });
  pass(plain);
  pass(withSets);
  const without: number[] = [], withIt: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    without.push(pass(plain));
    withIt.push(pass(withSets));
  }
  const matched = Buffer.concat([withSets.push(corpus.ndjson).output, withSets.end().output]).toString("utf8").split(',"threat":{"enrichments":[').length - 1;
  const a = median(without), b = median(withIt);
  console.log(`\nmapping the corpus (${corpusLines.length.toLocaleString("en-US")} records, FlowTransform, default build), ` +
    `${matched.toLocaleString("en-US")} events matching (${(100 * matched / corpusLines.length).toFixed(2)}%):`);
  console.log(`  without sets ${(a * 1e9 / corpusLines.length).toFixed(0)} ns/record, with ${withSets.indicatorReports.reduce((n, r) => n + r.loaded, 0).toLocaleString("en-US")} indicators ` +
    `${(b * 1e9 / corpusLines.length).toFixed(0)} ns/record: ${(100 * a / b).toFixed(1)}% of the speed (target: 90% or more)`);
}

// Imported by bench/enrichment.ts for its generator: run only as a command.
if (fileURLToPath(import.meta.url) === path.resolve(process.argv[1] ?? "")) main();
