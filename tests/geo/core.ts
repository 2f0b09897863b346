// The core's geo layer through its test module (tests/fixtures/geo-module.ts), compiled once per
// test file in a child process: open files, look addresses up, dump whole records.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { isIPv4 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileFixture } from "../compile-fixture.js";
import { ipv4Bytes, ipv6Bytes } from "./mmdb-writer.js";

interface GeoExports {
  memory: WebAssembly.Memory;
  inputPtr(): number;
  outPtr(): number;
  alloc(len: number): number;
  add(ptr: number, len: number): number;
  atMemoryEnd(len: number): number;
  addUnowned(ptr: number, len: number): number;
  errorText(): number;
  clear(): void;
  currentGeneration(): number;
  errors(): number;
  lastErrorText(): number;
  count(): number;
  jumpBitsOf(i: number): number;
  lookup(isV4: number): number;
  lookupMany(entries: number, n: number): bigint;
  cache(on: number): void;
  hits(): number;
  misses(): number;
  bypassed(): number;
  firstRecordCacheHits(): number;
  recordCacheHits(): number;
  dump(index: number, isV4: number): number;
  errorOfDump(): number;
}

let compiled: WebAssembly.Module | undefined;
let compiledPath = "";

/** The file of the compiled test module (compiled without SIMD, as the portable build is). The
 * six geo test files share one compilation: the file is named by a hash of every source it is
 * built from and written under its name by rename, so parallel test workers never see half a
 * file; a change to any source compiles it again. */
export function geoModulePath(): string {
  if (compiledPath) return compiledPath;
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const sources = [join(root, "tests/fixtures/geo-module.ts"), join(root, "tests/fixtures/geo-module.asconfig.json")];
  for (const dir of ["assembly/enrich/geo", "assembly/base"]) {
    for (const f of readdirSync(join(root, dir)).sort()) if (f.endsWith(".ts")) sources.push(join(root, dir, f));
  }
  const hash = createHash("sha1");
  for (const f of sources) hash.update(f).update(readFileSync(f));
  hash.update(readFileSync(join(root, "node_modules/assemblyscript/package.json")));
  const path = join(tmpdir(), `nsg-flow-ecs-geo-${hash.digest("hex").slice(0, 16)}.wasm`);
  if (!existsSync(path)) {
    const fresh = join(mkdtempSync(join(tmpdir(), "nsg-flow-ecs-geo-")), "geo.wasm");
    compileFixture("geo-module.ts", "geo-module.asconfig.json", fresh);
    renameSync(fresh, path);
  }
  compiledPath = path;
  return path;
}

export function geoModule(): WebAssembly.Module {
  if (!compiled) compiled = new WebAssembly.Module(readFileSync(geoModulePath()));
  return compiled;
}

export function addressBytes(ip: string): Uint8Array {
  return Uint8Array.from(isIPv4(ip) ? ipv4Bytes(ip) : ipv6Bytes(ip));
}

/** One instance of the core's geo layer. */
export class Core {
  x: GeoExports;
  constructor() {
    this.x = new WebAssembly.Instance(geoModule(), {}).exports as unknown as GeoExports;
  }

  private out(n: number): Buffer {
    return Buffer.from(new Uint8Array(this.x.memory.buffer, this.x.outPtr(), n));
  }

  private text(n: number): string {
    return this.out(n).toString("utf8");
  }

  /** Adds a database file; returns null, or the core's reason for refusing it. */
  add(file: Uint8Array): string | null {
    const p = this.x.alloc(file.length);
    new Uint8Array(this.x.memory.buffer, p, file.length).set(file);
    return this.x.add(p, file.length) === 1 ? null : this.text(this.x.errorText());
  }

  /** Adds a file placed so that its last byte is the last byte of linear memory: a read past
   * its end traps. */
  addAtMemoryEnd(file: Uint8Array): string | null {
    const p = this.x.atMemoryEnd(file.length);
    if (p === 0) throw new Error("memory.grow failed");
    new Uint8Array(this.x.memory.buffer, p, file.length).set(file);
    return this.x.addUnowned(p, file.length) === 1 ? null : this.text(this.x.errorText());
  }

  clear(): void {
    this.x.clear();
  }

  count(): number {
    return this.x.count();
  }

  /** How many leading bits of an IPv4 address database `index`'s table answers at once (mmdb.ts
   * buildJump: 16, or 20 for a tree that goes on below most of its /16s). */
  jumpBits(index = 0): number {
    return this.x.jumpBitsOf(index);
  }

  private put(ip: string): number {
    const b = addressBytes(ip);
    new Uint8Array(this.x.memory.buffer, this.x.inputPtr(), b.length).set(b);
    return b.length === 4 ? 1 : 0;
  }

  /** The ECS fragment of an address with all databases ("" when nothing). */
  lookup(ip: string): string {
    const v4 = this.put(ip);
    return this.text(this.x.lookup(v4));
  }

  /** The whole record of an address in database `index`: the decoded value, null when not
   * found, or {error} when the core found the file corrupt there. */
  dump(ip: string, index = 0): unknown {
    const v4 = this.put(ip);
    const n = this.x.dump(index, v4);
    if (n === -1) return null;
    if (n < 0) return { error: this.text(this.x.errorOfDump()) };
    return JSON.parse(this.text(n));
  }

  lookupErrors(): { count: number; last: string } {
    return { count: this.x.errors(), last: this.text(this.x.lastErrorText()) };
  }
}
