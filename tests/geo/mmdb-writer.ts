// A small MaxMind DB (format 2) writer for the tests: no MaxMind database may be committed, so
// the tests write their own files, with every data type, 24/28/32-bit records, IPv4-only and
// IPv6 trees (IPv4 at ::/96, optionally aliased at ::ffff:0:0/96 as MaxMind's files are), and
// pointers of every size. tests/geo/mmdb-writer.test.ts reads its files back with the maxmind
// package to show that they are what the spec says.
import { isIPv4 } from "node:net";

/** A value of an explicit MMDB type (a plain JS number is written as uint32 when it is a
 * non-negative integer below 2^32, else as a double). */
export class Typed {
  constructor(public type: "double" | "float" | "uint16" | "uint32" | "int32" | "uint64" | "uint128" | "bytes", public value: number | bigint | Uint8Array) {}
}
export type MValue = string | number | boolean | Typed | MValue[] | { [key: string]: MValue };

export const u16 = (v: number) => new Typed("uint16", v);
export const u32 = (v: number) => new Typed("uint32", v);
export const i32 = (v: number) => new Typed("int32", v);
export const u64 = (v: bigint) => new Typed("uint64", v);
export const u128 = (v: bigint) => new Typed("uint128", v);
export const dbl = (v: number) => new Typed("double", v);
export const flt = (v: number) => new Typed("float", v);
export const bytes = (v: Uint8Array) => new Typed("bytes", v);

const TYPE = { pointer: 1, utf8: 2, double: 3, bytes: 4, uint16: 5, uint32: 6, map: 7, int32: 8, uint64: 9, uint128: 10, array: 11, boolean: 14, float: 15 } as const;

function control(type: number, size: number): number[] {
  const out: number[] = [];
  let first = type <= 7 ? type << 5 : 0;
  let extra: number[] = [];
  if (size < 29) first |= size;
  else if (size < 285) { first |= 29; extra = [size - 29]; }
  else if (size < 65821) { first |= 30; const v = size - 285; extra = [v >> 8, v & 255]; }
  else { first |= 31; const v = size - 65821; extra = [(v >> 16) & 255, (v >> 8) & 255, v & 255]; }
  out.push(first);
  if (type > 7) out.push(type - 7);
  return out.concat(extra);
}

function bigBytes(v: bigint): number[] {
  const out: number[] = [];
  while (v > 0n) { out.unshift(Number(v & 255n)); v >>= 8n; }
  return out;
}

/** A pointer to data offset t; `wide` forces the 4-byte form (any offset fits it). */
export function pointer(t: number, wide = false): number[] {
  if (!wide && t < 2048) return [0x20 | (t >> 8), t & 255];
  if (!wide && t < 526336) { const v = t - 2048; return [0x28 | (v >> 16), (v >> 8) & 255, v & 255]; }
  if (!wide && t < 134744064) { const v = t - 526336; return [0x30 | (v >> 24), (v >> 16) & 255, (v >> 8) & 255, v & 255]; }
  return [0x38, (t >>> 24) & 255, (t >> 16) & 255, (t >> 8) & 255, t & 255];
}

/** Appends values to a data section; with `dedupe`, a string, map or array written before is
 * written again as a pointer to its first copy. */
export class DataWriter {
  private parts: Buffer[] = [];
  length = 0;
  private seen = new Map<string, number>();
  constructor(private dedupe: boolean, private widePointers = false) {}

  private push(b: number[] | Uint8Array): void {
    const buf = Buffer.from(b);
    this.parts.push(buf);
    this.length += buf.length;
  }

  /** Writes v and returns its offset. */
  write(v: MValue): number {
    const key = this.dedupe && (typeof v === "string" || Array.isArray(v) || (typeof v === "object" && !(v instanceof Typed))) ? canonical(v) : undefined;
    if (key !== undefined) {
      const at = this.seen.get(key);
      if (at !== undefined) {
        const here = this.length;
        this.push(pointer(at, this.widePointers));
        return here;
      }
    }
    const at = this.length;
    if (key !== undefined) this.seen.set(key, at);
    if (typeof v === "string") {
      const b = Buffer.from(v, "utf8");
      this.push(control(TYPE.utf8, b.length));
      this.push(b);
    } else if (typeof v === "boolean") {
      this.push(control(TYPE.boolean, v ? 1 : 0));
    } else if (typeof v === "number") {
      this.writeTyped(Number.isInteger(v) && v >= 0 && v < 2 ** 32 ? u32(v) : dbl(v));
    } else if (v instanceof Typed) {
      this.writeTyped(v);
    } else if (Array.isArray(v)) {
      this.push(control(TYPE.array, v.length));
      for (const x of v) this.write(x);
    } else {
      const entries = Object.entries(v);
      this.push(control(TYPE.map, entries.length));
      for (const [k, x] of entries) {
        this.write(k);
        this.write(x);
      }
    }
    return at;
  }

  private writeTyped(t: Typed): void {
    switch (t.type) {
      case "double": { const b = Buffer.alloc(8); b.writeDoubleBE(t.value as number); this.push(control(TYPE.double, 8)); this.push(b); break; }
      case "float": { const b = Buffer.alloc(4); b.writeFloatBE(t.value as number); this.push(control(TYPE.float, 4)); this.push(b); break; }
      case "bytes": { const b = t.value as Uint8Array; this.push(control(TYPE.bytes, b.length)); this.push(b); break; }
      case "int32": {
        const n = t.value as number;
        const b = n < 0 ? bigBytes(BigInt(n >>> 0)) : bigBytes(BigInt(n));
        this.push(control(TYPE.int32, b.length));
        this.push(b);
        break;
      }
      default: {
        const b = bigBytes(BigInt(t.value as number | bigint));
        this.push(control(TYPE[t.type], b.length));
        this.push(b);
      }
    }
  }

  /** Raw bytes (a corrupt value, or padding nothing points at). */
  raw(b: number[] | Uint8Array): number {
    const at = this.length;
    this.push(b);
    return at;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function canonical(v: MValue): string {
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x instanceof Typed ? { t: x.type, v: x.value instanceof Uint8Array ? Buffer.from(x.value).toString("hex") : typeof x.value === "bigint" ? `${x.value}n` : x.value } : x);
}

type Child = null | TreeNode | { data: number } | { alias: TreeNode };
class TreeNode {
  children: [Child, Child] = [null, null];
}

/** A network "a.b.c.d/n" or "x::/n" as bits: IPv4 networks go at ::/96 in an IPv6 tree. */
export function networkBits(network: string, ipVersion: 4 | 6): number[] {
  const [addr, lenText] = network.split("/");
  const len = Number(lenText);
  const v4 = isIPv4(addr);
  const bytes = v4 ? ipv4Bytes(addr) : ipv6Bytes(addr);
  if (!v4 && ipVersion === 4) throw new Error(`IPv6 network ${network} in an IPv4 tree`);
  const all: number[] = [];
  if (v4 && ipVersion === 6) for (let i = 0; i < 96; i++) all.push(0);
  for (const b of bytes) for (let i = 7; i >= 0; i--) all.push((b >> i) & 1);
  return all.slice(0, (v4 && ipVersion === 6 ? 96 : 0) + len);
}

export function ipv4Bytes(a: string): number[] {
  return a.split(".").map(Number);
}

export function ipv6Bytes(a: string): number[] {
  let text = a;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail = ipv4Bytes(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const r = rest !== undefined ? (rest ? rest.split(":") : []) : [];
  const groups = rest !== undefined ? [...h, ...Array(8 - h.length - r.length).fill("0"), ...r] : h;
  const out: number[] = [];
  for (const g of groups) { const n = parseInt(g, 16); out.push(n >> 8, n & 255); }
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

export interface WriteOptions {
  ipVersion: 4 | 6;
  recordSize: 24 | 28 | 32;
  databaseType?: string;
  /** Write repeated strings, maps and arrays once, as pointers after the first. */
  dedupe?: boolean;
  widePointers?: boolean;
  /** Bytes of padding nothing points at, written before the entry of that index: makes later
   * data offsets large enough for the 3- and 4-byte pointer forms. */
  padBefore?: Map<number, number>;
  /** IPv6 trees: ::ffff:0:0/96 leads to the IPv4 subtree, as in MaxMind's files. */
  ipv4Aliases?: boolean;
  /** Metadata overrides (a corrupt file's), merged over the computed ones. */
  metadata?: Record<string, MValue>;
}

/** The entries are [network, record]; a later network overrides an earlier one where they overlap. */
export function writeMmdb(entries: [string, MValue][], o: WriteOptions): Buffer {
  const data = new DataWriter(o.dedupe ?? true, o.widePointers ?? false);
  const root = new TreeNode();
  const records = new Map<string, number>();
  entries.forEach(([network, value], index) => {
    const pad = o.padBefore?.get(index);
    if (pad) data.raw(Buffer.concat([Buffer.from(control(TYPE.bytes, pad)), Buffer.alloc(pad, 0x5a)]));
    // The same record for several networks is written once (the tree points at it).
    const key = canonical(value);
    let at = records.get(key);
    if (at === undefined) { at = data.write(value); records.set(key, at); }
    insert(root, networkBits(network, o.ipVersion), { data: at });
  });
  if (o.ipVersion === 6 && o.ipv4Aliases) {
    let node: Child = root;
    for (let i = 0; i < 96 && node instanceof TreeNode; i++) node = node.children[0];
    const target: Child = node instanceof TreeNode ? { alias: node } : node;
    const bits = networkBits("::ffff:0:0/96", 6);
    insert(root, bits, target);
  }
  // Nodes are numbered breadth first; an alias is a record, not a second path to number.
  const order: TreeNode[] = [];
  const number = new Map<TreeNode, number>();
  const queue: TreeNode[] = [root];
  for (let q = 0; q < queue.length; q++) {
    const n = queue[q];
    number.set(n, order.length);
    order.push(n);
    for (const c of n.children) if (c instanceof TreeNode) queue.push(c);
  }
  const nodeCount = order.length;
  const value = (c: Child): number => {
    if (c === null) return nodeCount;
    if (c instanceof TreeNode) return number.get(c)!;
    if ("alias" in c) return number.get(c.alias)!;
    return nodeCount + 16 + c.data;
  };
  const nodeBytes = o.recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  const limit = 2 ** o.recordSize;
  order.forEach((n, i) => {
    const l = value(n.children[0]);
    const r = value(n.children[1]);
    if (l >= limit || r >= limit) throw new Error(`record ${Math.max(l, r)} does not fit ${o.recordSize} bits`);
    const p = i * nodeBytes;
    if (o.recordSize === 24) { tree.writeUIntBE(l, p, 3); tree.writeUIntBE(r, p + 3, 3); }
    else if (o.recordSize === 28) {
      tree.writeUIntBE(l & 0xffffff, p, 3);
      tree[p + 3] = (((l >>> 24) & 15) << 4) | ((r >>> 24) & 15);
      tree.writeUIntBE(r & 0xffffff, p + 4, 3);
    } else { tree.writeUInt32BE(l, p); tree.writeUInt32BE(r, p + 4); }
  });
  const meta = new DataWriter(false);
  meta.write({
    binary_format_major_version: u16(2),
    binary_format_minor_version: u16(0),
    build_epoch: u64(1767225600n),
    database_type: o.databaseType ?? "Test-DB",
    description: { en: "written by tests/geo/mmdb-writer.ts" },
    ip_version: u16(o.ipVersion),
    languages: ["en"],
    node_count: u32(nodeCount),
    record_size: u16(o.recordSize),
    ...o.metadata,
  });
  return Buffer.concat([tree, Buffer.alloc(16), data.bytes(), METADATA_MARKER, meta.bytes()]);
}

export const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from("MaxMind.com")]);

function insert(root: TreeNode, bits: number[], leaf: Child): void {
  if (bits.length === 0) throw new Error("a network of prefix length 0 cannot be a tree record");
  let node = root;
  for (let i = 0; i < bits.length - 1; i++) {
    const c: Child = node.children[bits[i]];
    if (c instanceof TreeNode) { node = c; continue; }
    // A shorter network's record (or nothing) is pushed down to both halves.
    const split = new TreeNode();
    split.children = [c, c];
    node.children[bits[i]] = split;
    node = split;
  }
  node.children[bits[bits.length - 1]] = leaf;
}
