#!/usr/bin/env node
// `npm run bench:geo`: lookups per second of the core's MMDB reader and ECS fragments
// (assembly/enrich/geo/), with and without its cache of recent lookups, on two address mixes:
// random addresses (almost every lookup a miss), the benchmark corpus's tuples (bench/corpus.ts:
// its public addresses are drawn at random from thirteen /8s, so few repeat), and a flow-log-like
// mix where 95% of lookups reuse 3,000 addresses (a subscription's own VMs, its DNS, its load balancers, the few
// services they talk to). The maxmind package's Reader.get on the same addresses is printed
// beside it. Databases: a synthetic City + ASN pair in MaxMind's layouts, written by the tests'
// MMDB writer (no MaxMind file may be shipped), and the ip-location-db country file when the
// devDependency is installed.
//
// Then whole mapping (issue 19's targets): the benchmark corpus through the library
// (FlowTransform.push, SIMD build) with the City + ASN pair against the same run without
// databases (target: at least 60% of its speed), and against a plain Node pipeline doing the
// same (bench/node-geo-mapper.ts: the plain Node mapper plus the maxmind package; target: 10
// times as fast); the same on a corpus whose tuples reuse 3,000 addresses 95% of the time; and
// instructions per record of the portable build, with and without databases.
//
//   node dist/bench/geo.js [--lookups N] [--runs N] [--records N] [--no-lookups] [--no-mapping] [--build DIR]
//     (--build: the mapping rows with DIR's nsg-flow-ecs-simd.wasm and nsg-flow-ecs.wasm, e.g. an
//     older commit's, for a before/after comparison)
//   node dist/bench/geo.js --save DIR   writes the synthetic databases and the corpus (--records) to DIR
//     for a profiler run of one's own (node --cpu-prof on a driver mapping DIR/corpus.ndjson)
//   node dist/bench/geo.js --profile FILE   where the databases' instructions go, by function (and
//     by line of assembly/enrich/geo/ when FILE.map exists), FILE a portable build with names:
//     npx asc assembly/nsg-flow-ecs.ts --config asconfig.json --target release --debug --sourceMap -o /tmp/named.wasm
//
// The lookups run inside the module (one call does N of them), so the figures are of the wasm
// code, not of crossing into it. Each figure is the median of --runs runs after a warm-up.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Reader } from "maxmind";
import { writeMmdb, u16, u32, dbl, MValue, ipv6Bytes } from "../tests/geo/mmdb-writer.js";
import { generateCorpus } from "./corpus.js";
import { instrument, sourceLines } from "./wasm-count.js";
import { openDatabases, naiveGeoMap } from "./node-geo-mapper.js";
import { naiveMap } from "./node-mapper.js";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";

const HERE = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = path.resolve(HERE, "..", "..");

interface GeoExports {
  memory: WebAssembly.Memory;
  inputPtr(): number;
  alloc(len: number): number;
  add(ptr: number, len: number): number;
  clear(): void;
  lookupMany(entries: number, n: number): bigint;
  cache(on: number): void;
  hits(): number;
  misses(): number;
  recordCacheHits(): number;
}

function compile(simd: boolean): Buffer {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-geo-bench-")), "geo.wasm");
  const args = [path.join(ROOT, "node_modules/assemblyscript/bin/asc.js"), path.join(ROOT, "tests/fixtures/geo-module.ts"),
    "--config", path.join(ROOT, "tests/fixtures/geo-module.asconfig.json"), "--outFile", out];
  if (simd) args.push("--enable", "simd");
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`asc failed:\n${r.stdout}${r.stderr}`);
  return readFileSync(out);
}

/** WebAssembly instructions per lookup as WAMR's fast interpreter dispatches them (bench/wasm-count.ts:
 * local.get, constants, block and the like are not counted): the load-independent measure. */
function opsPerLookup(wasm: Buffer, files: Buffer[], entries: Buffer, n: number, cache: boolean): number {
  const inst = instrument(wasm);
  const x = new WebAssembly.Instance(inst.module, {}).exports as unknown as GeoExports & Record<string, WebAssembly.Global>;
  for (const f of files) {
    const p = x.alloc(f.length);
    new Uint8Array(x.memory.buffer, p, f.length).set(f);
    if (x.add(p, f.length) !== 1) throw new Error("the core refused a database");
  }
  new Uint8Array(x.memory.buffer, x.inputPtr(), entries.length).set(entries);
  x.cache(cache ? 1 : 0);
  x.lookupMany(1, 1); // start-up work (first allocations) is not counted
  const total = () => inst.runs.reduce((sum, run, i) => sum + run.ops * Number(x[`__run_${i}`]!.value), 0);
  const before = total();
  x.lookupMany(entries.length / 17, n);
  return (total() - before) / n;
}

// A deterministic PRNG (xorshift32): the same addresses on every machine.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

const CITIES = 5000;
/** A City database of `networks` IPv4 /20s and some IPv6 /32s over `CITIES` distinct places, and
 * an ASN database of /16s: records shared by many networks, strings written once, as in
 * MaxMind's files. */
function syntheticDatabases(networks: number): { city: Buffer; asn: Buffer; cityNetworks: number; asnNetworks: number } {
  const next = rng(19);
  const names = (en: string) => ({ de: en, en, es: en, fr: en, ja: en, "pt-BR": en, ru: en, "zh-CN": en });
  const place = (i: number): MValue => ({
    city: { geoname_id: u32(100000 + i), names: names(`City number ${i}`) },
    continent: { code: "EU", geoname_id: u32(6255148), names: names("Europe") },
    country: { geoname_id: u32(3017382 + (i % 50)), iso_code: `C${i % 50}`, names: names(`Country ${i % 50}`) },
    location: { accuracy_radius: u16(20), latitude: dbl(((i * 7919) % 18000) / 100 - 90), longitude: dbl(((i * 104729) % 36000) / 100 - 180), time_zone: "Europe/Paris" },
    postal: { code: `${10000 + i}` },
    registered_country: { geoname_id: u32(3017382), iso_code: "FR", names: names("France") },
    subdivisions: [{ geoname_id: u32(3000000 + (i % 400)), iso_code: `R${i % 400}`, names: names(`Region ${i % 400}`) }],
  });
  const cityEntries: [string, MValue][] = [];
  const seen = new Set<number>();
  while (cityEntries.length < networks) {
    const n = (next() & 0xfffff000) >>> 0;
    if (seen.has(n) || n >>> 24 === 10 || n >>> 24 === 0) continue;
    seen.add(n);
    cityEntries.push([`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.0/20`, place(next() % CITIES)]);
  }
  for (let i = 0; i < networks / 20; i++) cityEntries.push([`2a${(i >> 8 & 15).toString(16)}${(i & 255).toString(16).padStart(2, "0")}:${(next() & 0xffff).toString(16)}::/32`, place(next() % CITIES)]);
  const asnEntries: [string, MValue][] = [];
  for (let i = 1; i < 224; i++) for (let j = 0; j < 256; j += 1 + (i % 3)) {
    if (i === 10) continue;
    asnEntries.push([`${i}.${j}.0.0/16`, { autonomous_system_number: u32(64512 + ((i * 256 + j) % 20000)), autonomous_system_organization: `Network operator ${(i * 256 + j) % 20000}` }]);
  }
  return {
    cityNetworks: cityEntries.length,
    asnNetworks: asnEntries.length,
    city: writeMmdb(cityEntries, { ipVersion: 6, recordSize: 28, databaseType: "GeoLite2-City", ipv4Aliases: true }),
    asn: writeMmdb(asnEntries, { ipVersion: 6, recordSize: 24, databaseType: "GeoLite2-ASN", ipv4Aliases: true }),
  };
}

/** Addresses as text and as the module's 17-byte entries (length byte, then the bytes). */
interface Mix {
  label: string;
  texts: string[];
  entries: Buffer;
}

function entriesOf(texts: string[]): Buffer {
  const entries = Buffer.alloc(texts.length * 17);
  texts.forEach((t, i) => {
    const b = t.includes(":") ? ipv6Bytes(t) : t.split(".").map(Number);
    entries[i * 17] = b.length;
    Buffer.from(b).copy(entries, i * 17 + 1);
  });
  return entries;
}

/** The source and destination addresses of the benchmark corpus's tuples, in order. */
function corpusMix(count: number): Mix {
  const texts: string[] = [];
  const lines = generateCorpus(count).ndjson.toString("utf8").split("\n");
  for (const line of lines) {
    const m = /"flow\.0":"\d+,([^,]+),([^,]+),/.exec(line.replace(/\\"/g, '"'));
    if (m) texts.push(m[1]!, m[2]!);
    if (texts.length >= count) break;
  }
  return { label: "the benchmark corpus's tuples", texts, entries: entriesOf(texts) };
}

function mix(label: string, count: number, reuse: number, distinct: number, seed: number): Mix {
  const next = rng(seed);
  const v4 = () => `${1 + next() % 223}.${next() & 255}.${next() & 255}.${next() & 255}`;
  const v6 = () => `2a${(next() % 16).toString(16)}${(next() & 255).toString(16).padStart(2, "0")}:${(next() & 0xffff).toString(16)}::${(next() & 0xffff).toString(16)}`;
  const any = () => (next() % 10 === 0 ? v6() : v4());
  const popular = Array.from({ length: distinct }, any);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) texts.push(next() % 1000 < reuse * 1000 ? popular[next() % distinct] : any());
  return { label, texts, entries: entriesOf(texts) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    lookups: { type: "string", default: "1000000" }, runs: { type: "string", default: "5" }, records: { type: "string", default: "300000" },
    "no-lookups": { type: "boolean" }, "no-mapping": { type: "boolean" }, profile: { type: "string" }, build: { type: "string" },
    save: { type: "string" },
  } });
  const lookups = Number(values.lookups);
  const runs = Number(values.runs);
  console.log(`nsg-flow-ecs geo — ${new Date().toISOString()}; ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; Node ${process.versions.node}`);
  const t0 = performance.now();
  // Hundreds of thousands of networks, as in the files users run (GeoLite2-City has millions).
  const synthetic = syntheticDatabases(300_000);
  console.log(`synthetic City (${synthetic.cityNetworks.toLocaleString("en")} networks, ${(synthetic.city.length / 1e6).toFixed(1)} MB) + ` +
    `ASN (${synthetic.asnNetworks.toLocaleString("en")} networks, ${(synthetic.asn.length / 1e6).toFixed(1)} MB) written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (values.profile) return profileRows(synthetic, values.profile, Number(values.records));
  if (values.save) return saveInputs(synthetic, values.save, Number(values.records));
  if (!values["no-lookups"]) lookupRows(synthetic, lookups, runs);
  if (!values["no-mapping"]) await mappingRows(synthetic, Number(values.records), runs, values.build);
}

/** The synthetic databases and the corpus as files, for a profiler run on a driver of one's own
 * (`node --cpu-prof`): DIR/City.mmdb, DIR/ASN.mmdb, DIR/corpus.ndjson. */
function saveInputs(synthetic: { city: Buffer; asn: Buffer }, dir: string, records: number): void {
  writeFileSync(path.join(dir, "City.mmdb"), synthetic.city);
  writeFileSync(path.join(dir, "ASN.mmdb"), synthetic.asn);
  writeFileSync(path.join(dir, "corpus.ndjson"), generateCorpus(records).ndjson);
  console.log(`wrote ${dir}/City.mmdb, ASN.mmdb and corpus.ndjson (${records.toLocaleString("en")} records)`);
}

function lookupRows(synthetic: { city: Buffer; asn: Buffer }, lookups: number, runs: number): void {
  const sets: { label: string; files: Buffer[] }[] = [{ label: "City + ASN (synthetic, MaxMind layouts)", files: [synthetic.city, synthetic.asn] }];
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve("@ip-location-db/geo-whois-asn-country-mmdb/package.json"));
    const file = path.join(dir, "geo-whois-asn-country.mmdb");
    if (existsSync(file)) sets.push({ label: "ip-location-db geo-whois-asn-country", files: [readFileSync(file)] });
  } catch {
    console.log("(@ip-location-db/geo-whois-asn-country-mmdb not installed: its rows are skipped)");
  }
  // The input buffer holds 1 MiB: 61,680 entries, cycled.
  const mixes = [mix("random addresses", 61_000, 0, 1, 7), corpusMix(61_000), mix("95% of lookups among 3,000 addresses", 61_000, 0.95, 3000, 8)];
  const portable = compile(false);
  const modules = [{ label: "portable", m: new WebAssembly.Module(new Uint8Array(portable)) }, { label: "SIMD", m: new WebAssembly.Module(new Uint8Array(compile(true))) }];
  console.log(`each figure: ${lookups.toLocaleString("en")} lookups in one call, median of ${runs} runs after a warm-up; M/s = 10^6 lookups a second`);
  console.log("");
  const header = ["databases", "addresses", "build", "no cache M/s", "cache M/s", "address hits", "record hits", "maxmind pkg M/s", "ops no cache", "ops cache"];
  const rows: string[][] = [];
  for (const set of sets) {
    const readers = set.files.map((f) => new Reader(f));
    for (const mx of mixes) {
      // The maxmind package's reader, both databases per address (its own cache off: that is
      // what Reader gives without options).
      const ref: number[] = [];
      for (let r = 0; r <= runs; r++) {
        const n = Math.min(lookups, 300_000);
        const t = performance.now();
        let found = 0;
        for (let i = 0; i < n; i++) for (const rd of readers) if (rd.get(mx.texts[i % mx.texts.length])) found++;
        if (r > 0) ref.push(n / ((performance.now() - t) / 1000) / 1e6);
        if (found < 0) throw new Error("unreachable");
      }
      for (const mod of modules) {
        const x = new WebAssembly.Instance(mod.m, {}).exports as unknown as GeoExports;
        for (const f of set.files) {
          const p = x.alloc(f.length);
          new Uint8Array(x.memory.buffer, p, f.length).set(f);
          if (x.add(p, f.length) !== 1) throw new Error(`${set.label}: the core refused a database`);
        }
        new Uint8Array(x.memory.buffer, x.inputPtr(), mx.entries.length).set(mx.entries);
        const entries = mx.entries.length / 17;
        const rate = (cache: boolean) => {
          x.cache(cache ? 1 : 0);
          const rs: number[] = [];
          for (let r = 0; r <= runs; r++) {
            x.cache(cache ? 1 : 0);
            const t = performance.now();
            x.lookupMany(entries, lookups);
            if (r > 0) rs.push(lookups / ((performance.now() - t) / 1000) / 1e6);
          }
          return median(rs);
        };
        const off = rate(false);
        const on = rate(true);
        const all = Math.max(1, x.hits() + x.misses());
        const pct = (n: number) => `${((n / all) * 100).toFixed(1)}%`;
        // Instruction counts: the portable build (the file Fluent Bit loads), one pass over the mix.
        const ops = mod.label === "portable"
          ? [opsPerLookup(portable, set.files, mx.entries, mx.entries.length / 17, false), opsPerLookup(portable, set.files, mx.entries, mx.entries.length / 17, true)].map((v) => v.toFixed(0))
          : ["", ""];
        rows.push([set.label, mx.label, mod.label, off.toFixed(2), on.toFixed(2), pct(x.hits()), pct(x.recordCacheHits()), median(ref).toFixed(2), ...ops]);
      }
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ");
  console.log(line(header));
  console.log("-".repeat(widths.reduce((a, b) => a + b + 3, -3)));
  for (const r of rows) console.log(line(r));
  console.log("");
  console.log("A lookup is one address in every database of the set, its ECS geo/as fragment written (or copied from the cache).");
  console.log("ops: wasm instructions per lookup as WAMR's interpreter dispatches them (bench/wasm-count.ts), portable build, one");
  console.log("     pass over the mix from an empty cache; independent of machine load.");
  console.log("The cache (assembly/enrich/geo/cache.ts): 4,096 sets of two 512-byte slots keyed by the 16-byte address; its misses");
  console.log("go to a second table keyed by the records the address led to (record hits: lookups that walked the trees only).");
  console.log("");
}

const CHUNK = 1 << 20;

/** One pass of the whole input through the library, as bench/bench.ts's row (1) does. */
function wasmPass(t: FlowTransform, buf: Buffer): { records: number; outBytes: number } {
  let records = 0, outBytes = 0;
  for (let off = 0; off < buf.length; off += CHUNK) {
    const r = t.push(buf.subarray(off, off + CHUNK));
    records += r.records;
    outBytes += r.output.length;
  }
  const r = t.end();
  return { records: records + r.records, outBytes: outBytes + r.output.length };
}

/** Records a second: the median of `runs` passes after one warm-up. */
function recordsPerSecond(pass: () => number, runs: number): number {
  pass();
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const n = pass();
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

/** The corpus with its tuples' addresses drawn, 95% of the time, from 3,000 (IPv4 for IPv4,
 * IPv6 for IPv6): a subscription's own VMs, DNS and load balancers talking to a few services. */
function reusingCorpus(ndjson: Buffer): Buffer {
  const next = rng(11);
  const v4 = () => `${1 + next() % 223}.${next() & 255}.${next() & 255}.${next() & 255}`;
  const v6 = () => `2a${(next() % 16).toString(16)}${(next() & 255).toString(16).padStart(2, "0")}:${(next() & 0xffff).toString(16)}::${(next() & 0xffff).toString(16)}`;
  const pool4 = Array.from({ length: 2700 }, v4);
  const pool6 = Array.from({ length: 300 }, v6);
  const pick = (a: string) => {
    if (next() % 100 >= 95) return a;
    const pool = a.includes(":") ? pool6 : pool4;
    return pool[next() % pool.length]!;
  };
  // The tuple's addresses, in a flattened event or escaped inside a wrapper's message.
  return Buffer.from(ndjson.toString("utf8").replace(/("flow\.0\\?":\\?")(\d+),([^,"\\]+),([^,"\\]+),/g,
    (_m, head: string, epoch: string, src: string, dst: string) => `${head}${epoch},${pick(src)},${pick(dst)},`));
}

/** Instructions per record as WAMR dispatches them (portable build), with the databases or not,
 * over a second pass (the caches warm, as in the timed rows; a long-running filter's steady state). */
function opsPerRecord(portable: Buffer, buf: Buffer, geo: Buffer[]): number {
  const inst = instrument(portable);
  const t = new FlowTransform(inst.module, { geo });
  wasmPass(t, buf);
  const x = (t as unknown as { exports: Record<string, WebAssembly.Global> }).exports;
  const total = () => inst.runs.reduce((sum, run, i) => sum + run.ops * Number(x[`__run_${i}`]!.value), 0);
  const before = total();
  const { records } = wasmPass(t, buf);
  return (total() - before) / records;
}

/** Where the databases' instructions go, by function: ops per record of `wasm` (a portable build
 * with a name section) with City + ASN minus without, on the corpus and the reusing corpus, on a
 * second pass (the caches warm, as in the timed rows). */
function profileRows(synthetic: { city: Buffer; asn: Buffer }, wasmFile: string, records: number): void {
  const wasm = readFileSync(wasmFile);
  const lineOf = existsSync(`${wasmFile}.map`) ? sourceLines(`${wasmFile}.map`) : null;
  const corpus = generateCorpus(Math.min(records, 20_000));
  for (const input of [{ label: "the benchmark corpus", ndjson: corpus.ndjson }, { label: "corpus, 95% of addresses among 3,000", ndjson: reusingCorpus(corpus.ndjson) }]) {
    const perFunction = (geo: Buffer[], warm: boolean): { total: number; byName: Map<string, number>; byLine: Map<string, number> } => {
      const inst = instrument(wasm);
      const t = new FlowTransform(inst.module, { geo });
      if (warm) wasmPass(t, input.ndjson);
      const x = (t as unknown as { exports: Record<string, WebAssembly.Global> }).exports;
      const read = () => inst.runs.map((_, i) => Number(x[`__run_${i}`]!.value));
      const before = read();
      const s0 = t.geoStats();
      const { records: n } = wasmPass(t, input.ndjson);
      const after = read();
      const s1 = t.geoStats();
      if (geo.length) {
        const lookups = Math.max(1, s1.cacheHits + s1.cacheMisses - s0.cacheHits - s0.cacheMisses);
        console.log(`${input.label}${warm ? "" : ", first pass"}: ${lookups} lookups, address hits ${(((s1.cacheHits - s0.cacheHits) / lookups) * 100).toFixed(1)}%, ` +
          `record hits ${(((s1.recordHits - s0.recordHits) / lookups) * 100).toFixed(1)}%`);
      }
      const byName = new Map<string, number>();
      const byLine = new Map<string, number>();
      let total = 0;
      inst.runs.forEach((run, i) => {
        const ops = (run.ops * (after[i]! - before[i]!)) / n;
        total += ops;
        const name = inst.names[run.func]!;
        byName.set(name, (byName.get(name) ?? 0) + ops);
        if (lineOf && ops > 0) for (const off of run.offsets) byLine.set(lineOf(off), (byLine.get(lineOf(off)) ?? 0) + ops / run.ops);
      });
      return { total, byName, byLine };
    };
    const plain = perFunction([], true);
    const cold = perFunction([synthetic.city, synthetic.asn], false);
    const geo = perFunction([synthetic.city, synthetic.asn], true);
    console.log(`${input.label}: ${plain.total.toFixed(0)} -> ${geo.total.toFixed(0)} ops a record (${cold.total.toFixed(0)} on the first pass)`);
    const names = new Set([...plain.byName.keys(), ...geo.byName.keys()]);
    const diffs = [...names].map((k) => ({ k, d: (geo.byName.get(k) ?? 0) - (plain.byName.get(k) ?? 0) })).filter((e) => Math.abs(e.d) >= 5);
    diffs.sort((a, b) => b.d - a.d);
    for (const e of diffs.slice(0, 30)) console.log(`  ${e.d.toFixed(0).padStart(7)}  ${e.k}`);
    if (lineOf) {
      const lines = [...geo.byLine].filter(([l]) => l.includes("enrich/geo/")).sort((a, b) => b[1] - a[1]).slice(0, 25);
      for (const [l, ops] of lines) console.log(`  ${ops.toFixed(0).padStart(7)}  ${l}`);
    }
  }
}

async function mappingRows(synthetic: { city: Buffer; asn: Buffer }, records: number, runs: number, build?: string): Promise<void> {
  const corpus = generateCorpus(records);
  const inputs = [
    { label: "the benchmark corpus", ndjson: corpus.ndjson },
    { label: "corpus, 95% of addresses among 3,000", ndjson: reusingCorpus(corpus.ndjson) },
  ];
  const dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-geo-map-"));
  const files = [path.join(dir, "City.mmdb"), path.join(dir, "ASN.mmdb")];
  writeFileSync(files[0]!, synthetic.city);
  writeFileSync(files[1]!, synthetic.asn);
  const built = (name: string) => (build ? path.join(build, name) : builtWasm(name));
  const simd = built("nsg-flow-ecs-simd.wasm");
  const portable = readFileSync(built("nsg-flow-ecs.wasm"));
  const readers = await openDatabases(files);
  const NODE_LINES = Math.min(records, 50_000);
  console.log(`mapping ${records.toLocaleString("en")} records (bench/corpus.ts) through FlowTransform.push, SIMD build, median of ${runs} runs after a warm-up;`);
  console.log(`the Node pipelines on the first ${NODE_LINES.toLocaleString("en")} lines (maxmind.open: its own LRU cache of records); ops on the first 20,000 lines`);
  console.log("");
  const header = ["input", "no db rec/s", "City+ASN rec/s", "ratio (>= 60%)", "Node+maxmind rec/s", "x Node (>= 10x)", "Node alone rec/s",
    "address hits", "record hits", "ops no db", "ops City+ASN"];
  const rows: string[][] = [];
  for (const input of inputs) {
    const plain = FlowTransform.fromFile(simd);
    const geo = FlowTransform.fromFile(simd, { geo: files });
    // The cache over one pass (warm: after one whole pass already).
    wasmPass(geo, input.ndjson);
    const s0 = geo.geoStats();
    const check = wasmPass(geo, input.ndjson);
    const s1 = geo.geoStats();
    const lookups = Math.max(1, s1.cacheHits + s1.cacheMisses - s0.cacheHits - s0.cacheMisses);
    const share = (n: number) => `${((n / lookups) * 100).toFixed(1)}%`;
    const base = wasmPass(plain, input.ndjson);
    if (check.records !== base.records) throw new Error("the runs with and without databases mapped different record counts");
    const without = recordsPerSecond(() => wasmPass(plain, input.ndjson).records, runs);
    const withGeo = recordsPerSecond(() => wasmPass(geo, input.ndjson).records, runs);
    const lines = input.ndjson.toString("utf8").split("\n", NODE_LINES).filter((l) => l !== "");
    const node = recordsPerSecond(() => {
      let n = 0;
      for (const l of lines) n += naiveGeoMap(l, readers).length > 0 ? 1 : 0;
      return n;
    }, Math.min(runs, 3));
    const nodeAlone = recordsPerSecond(() => {
      let n = 0;
      for (const l of lines) n += naiveMap(l).length > 0 ? 1 : 0;
      return n;
    }, Math.min(runs, 3));
    const sample = Buffer.from(lines.slice(0, 20_000).join("\n") + "\n");
    const ops = [opsPerRecord(portable, sample, []), opsPerRecord(portable, sample, [synthetic.city, synthetic.asn])];
    rows.push([input.label, Math.round(without).toLocaleString("en"), Math.round(withGeo).toLocaleString("en"),
      `${((withGeo / without) * 100).toFixed(0)}%`, Math.round(node).toLocaleString("en"), `${(withGeo / node).toFixed(1)}x`,
      Math.round(nodeAlone).toLocaleString("en"), share(s1.cacheHits - s0.cacheHits), share(s1.recordHits - s0.recordHits),
      ops[0]!.toFixed(0), ops[1]!.toFixed(0)]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ");
  console.log(line(header));
  console.log("-".repeat(widths.reduce((a, b) => a + b + 3, -3)));
  for (const r of rows) console.log(line(r));
  console.log("");
  console.log("City+ASN: both addresses of every event looked up in the synthetic City and ASN files above (files given as paths,");
  console.log("as --geo does). address hits: lookups the address cache answered over one warm pass (while it bypasses itself,");
  console.log("where addresses hardly repeat, its skipped lookups count as misses); record hits: address-table misses whose records' parts were all kept (byRecord).");
  console.log("Both are shares of the lookups that reach the cache: an address in no database's /20 or /16 (private ranges, most of");
  console.log("the VNet side of the corpus) is answered from the databases' presence bits before it and counted in neither.");
}

await main();
