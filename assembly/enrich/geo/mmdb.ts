// The MaxMind DB format, version 2 (maxmind.github.io/MaxMind-DB): the metadata after the last
// "\xab\xcd\xefMaxMind.com", the binary search tree (24, 28 or 32-bit records) and the data
// section's decoder. A database file is input like any flow log: every offset is checked against
// the section it points into before a byte is read, a pointer may not point at a pointer (the
// spec forbids it, and that alone ends pointer chains), nesting is bounded, and a failure is a
// message in `mmdbError`, never a trap or a loop. The file's bytes stay where the host put them;
// lookups hand back offsets into them, so nothing is copied or allocated per lookup.

/** Where a value was found: an offset into the data section, or one of these. */
export const NOT_FOUND: i64 = -1;
export const FAILED: i64 = -2;

// Data section types (the spec's numbering; 8 and above come from an extended control byte).
export const T_POINTER: i32 = 1;
export const T_STRING: i32 = 2;
export const T_DOUBLE: i32 = 3;
export const T_BYTES: i32 = 4;
export const T_UINT16: i32 = 5;
export const T_UINT32: i32 = 6;
export const T_MAP: i32 = 7;
export const T_INT32: i32 = 8;
export const T_UINT64: i32 = 9;
export const T_UINT128: i32 = 10;
export const T_ARRAY: i32 = 11;
export const T_BOOLEAN: i32 = 14;
export const T_FLOAT: i32 = 15;

/** Maps and arrays nested deeper than this are refused: real databases nest four levels. */
export const MAX_DEPTH: i32 = 32;

/** Why the last open, decode or lookup failed. */
export let mmdbError: string = "";

function fail(message: string): bool {
  mmdbError = message;
  return false;
}

// The section the decoder reads: the data section for records, the metadata for open. Pointers
// are relative to the start of the section they are in.
let secBase: usize = 0;
let secLen: u32 = 0;

/** The value decode() found: its type, its size (bytes for strings, bytes and numbers; entries
 * for maps and arrays; the value itself for booleans), where its payload starts in the
 * section, and where the value after it starts when that is known without walking it (after a
 * pointer or a scalar; for an inline map or array, `skip` finds it). */
export let vType: i32 = 0;
export let vSize: u32 = 0;
export let vAt: u32 = 0;
export let vNext: u32 = 0;
/** Whether the value decode() just read was reached through a pointer (vNext is then just past
 * the pointer, whatever the value's own size). */
export let vPointer: bool = false;

@inline function byteAt(off: u32): u32 {
  return <u32>load<u8>(secBase + <usize>off);
}

/** A value's size when its 5-bit size field is 29, 30 or 31: the spec's offsets for the 1, 2 or
 * 3 bytes (`extra`) that follow. One place for the rule; each decoder checks its own bounds. */
@inline function extendedSize(size: u32, extra: u32): u32 {
  return size == 29 ? 29 + extra : size == 30 ? 285 + extra : 65821 + extra;
}

/** Reads `n` (0-4) bytes big-endian at off; the caller checked the bounds. */
function beUint(off: u32, n: u32): u32 {
  let v: u32 = 0;
  for (let i: u32 = 0; i < n; i++) v = (v << 8) | byteAt(off + i);
  return v;
}

export function useSection(base: usize, len: u32): void {
  secBase = base;
  secLen = len;
}

/** Decodes the control bytes of the value at `off` without following a pointer. */
function decodeHere(off: u32): bool {
  if (off >= secLen) return fail("a data offset points past the end of its section");
  const c = byteAt(off);
  let p = off + 1;
  let type = <i32>(c >> 5);
  if (type == T_POINTER) {
    const ss = (c >> 3) & 3;
    if (<u64>p + <u64>ss + 1 > <u64>secLen) return fail("a pointer is cut off by the end of its section");
    let target: u64;
    if (ss == 0) target = ((<u64>c & 7) << 8) | <u64>byteAt(p);
    else if (ss == 1) target = 2048 + (((<u64>c & 7) << 16) | <u64>beUint(p, 2));
    else if (ss == 2) target = 526336 + (((<u64>c & 7) << 24) | <u64>beUint(p, 3));
    else target = <u64>beUint(p, 4);
    if (target >= <u64>secLen) return fail("a pointer points past the end of its section");
    vType = T_POINTER;
    vAt = <u32>target;
    vNext = p + ss + 1;
    return true;
  }
  if (type == 0) {
    if (p >= secLen) return fail("an extended type is cut off by the end of its section");
    type = 7 + <i32>byteAt(p);
    p++;
    if (type < 8 || type > 15) return fail("unknown data type " + type.toString());
    if (type == 12 || type == 13) return fail("data type " + type.toString() + " (container or end marker) is not valid in a record");
  }
  let size = c & 31;
  if (size >= 29) {
    const n: u32 = size - 28; // 1, 2 or 3 more bytes
    if (<u64>p + <u64>n > <u64>secLen) return fail("a value's size is cut off by the end of its section");
    const extra = beUint(p, n);
    p += n;
    size = extendedSize(size, extra);
  }
  vType = type;
  vSize = size;
  vAt = p;
  if (type == T_MAP || type == T_ARRAY || type == T_BOOLEAN) {
    if (type == T_BOOLEAN && size > 1) return fail("a boolean's value is not 0 or 1");
    vNext = p;
    return true;
  }
  let ok = true;
  switch (type) {
    case T_DOUBLE: ok = size == 8; break;
    case T_FLOAT: ok = size == 4; break;
    case T_UINT16: ok = size <= 2; break;
    case T_UINT32: ok = size <= 4; break;
    case T_INT32: ok = size <= 4; break;
    case T_UINT64: ok = size <= 8; break;
    case T_UINT128: ok = size <= 16; break;
  }
  if (!ok) return fail("a number of type " + type.toString() + " has the wrong size " + size.toString());
  if (<u64>p + <u64>size > <u64>secLen) return fail("a value runs past the end of its section");
  vNext = p + size;
  return true;
}

/** The last key decodeKey read: its UTF-8 bytes. */
export let keyPtr: usize = 0;
export let keyLen: u32 = 0;

/** Reads the map key at `off`: a string, or a pointer to one (the usual case: a database writes
 * each key once). Returns the offset of the value after it, or -1 (mmdbError). Keys are half of
 * what reading a record decodes, so this is decode cut down to them. */
export function decodeKey(off: u32): i64 {
  // u32 arithmetic throughout: every sum is checked as `size > len - at` with at <= len, which
  // cannot wrap.
  const len = secLen;
  if (off >= len) return skipFailed("a data offset points past the end of its section");
  let c = byteAt(off);
  let at = off;
  let next: u32 = 0;
  if ((c >> 5) == <u32>T_POINTER) {
    const ss = (c >> 3) & 3;
    const p = off + 1;
    if (ss + 1 > len - p) return skipFailed("a pointer is cut off by the end of its section");
    let target: u32;
    if (ss == 0) target = ((c & 7) << 8) | byteAt(p);
    else if (ss == 1) target = 2048 + (((c & 7) << 16) | beUint(p, 2));
    else if (ss == 2) {
      const t = <u64>526336 + <u64>(((c & 7) << 24) | beUint(p, 3));
      if (t >= <u64>len) return skipFailed("a pointer points past the end of its section");
      target = <u32>t;
    } else target = beUint(p, 4);
    if (target >= len) return skipFailed("a pointer points past the end of its section");
    next = p + ss + 1;
    at = target;
    c = byteAt(at);
    if ((c >> 5) == <u32>T_POINTER) return skipFailed("a pointer points at a pointer");
  }
  if ((c >> 5) != <u32>T_STRING) return skipFailed("a map key is not a string");
  let size = c & 31;
  let p = at + 1;
  if (size >= 29) {
    const n = size - 28;
    if (n > len - p) return skipFailed("a value's size is cut off by the end of its section");
    const extra = beUint(p, n);
    p += n;
    size = extendedSize(size, extra);
  }
  if (size > len - p) return skipFailed("a value runs past the end of its section");
  keyPtr = secBase + <usize>p;
  keyLen = size;
  return next != 0 ? <i64>next : <i64>(p + size);
}

/** Decodes the value at `off`, following one pointer. After it, vNext is where the value after
 * the one at `off` starts (after the pointer itself when it was one). */
export function decode(off: u32): bool {
  vPointer = false;
  if (!decodeHere(off)) return false;
  if (vType != T_POINTER) return true;
  vPointer = true;
  const after = vNext;
  if (!decodeHere(vAt)) return false;
  if (vType == T_POINTER) return fail("a pointer points at a pointer");
  vNext = after;
  return true;
}

/** The offset just after the value decode(off) has just read: known at once after a pointer
 * or a scalar, found by skip for an inline map or array. -1 when corrupt. */
export function endOfDecoded(off: u32): i64 {
  if (vPointer || (vType != T_MAP && vType != T_ARRAY)) return <i64>vNext;
  return skip(off, 0);
}

/** The offset just after the value at `off` (a pointer counts as its own bytes), or -1. Work is
 * bounded by the bytes of the section: inline values only, and at most MAX_DEPTH levels. The
 * hot part of reading a record (most of a City record is skipped), so it reads the control
 * bytes itself instead of going through decodeHere: the same bounds, none of its bookkeeping. */
export function skip(off: u32, depth: i32): i64 {
  const len = secLen;
  if (off >= len) return skipFailed("a data offset points past the end of its section");
  const c = byteAt(off);
  let p = off + 1;
  let type = c >> 5;
  if (type == <u32>T_POINTER) {
    const n = ((c >> 3) & 3) + 1;
    return n <= len - p ? <i64>(p + n) : skipFailed("a pointer is cut off by the end of its section");
  }
  if (type == 0) {
    if (p >= len) return skipFailed("an extended type is cut off by the end of its section");
    type = 7 + byteAt(p);
    p++;
    if (type < 8 || type > 15 || type == 12 || type == 13) return skipFailed("unknown or invalid data type " + type.toString());
  }
  let size = c & 31;
  if (size >= 29) {
    const n = size - 28;
    if (n > len - p) return skipFailed("a value's size is cut off by the end of its section");
    const extra = beUint(p, n);
    p += n;
    size = extendedSize(size, extra);
  }
  if (type == <u32>T_MAP || type == <u32>T_ARRAY) {
    if (depth >= MAX_DEPTH) return skipFailed("maps and arrays nest too deep");
    // Each entry takes at least a byte: a count beyond the section's end is corrupt at once.
    const n: u64 = type == <u32>T_MAP ? <u64>size * 2 : <u64>size;
    if (n > <u64>(len - p)) return skipFailed("a map or array has more entries than its section has bytes");
    let at = <i64>p;
    for (let i: u64 = 0; i < n; i++) {
      at = skip(<u32>at, depth + 1);
      if (at < 0) return -1;
    }
    return at;
  }
  if (type == <u32>T_BOOLEAN) return <i64>p;
  return size <= len - p ? <i64>(p + size) : skipFailed("a value runs past the end of its section");
}

function skipFailed(message: string): i64 {
  mmdbError = message;
  return -1;
}

/** Whether the value just decoded is a string equal to [key, key+keyLen). */
@inline function stringIs(key: usize, keyLen: u32): bool {
  return vType == T_STRING && vSize == keyLen && memory.compare(secBase + <usize>vAt, key, <usize>keyLen) == 0;
}

/** The unsigned value of the number just decoded (uint16/32/64, or int32 as mmdb readers read
 * it: fewer than four bytes are unsigned), or -1 when it is not one of those. */
export function decodedUint(): i64 {
  if (vType == T_UINT16 || vType == T_UINT32 || vType == T_INT32 || vType == T_UINT64) {
    let v: u64 = 0;
    for (let i: u32 = 0; i < vSize; i++) v = (v << 8) | <u64>byteAt(vAt + i);
    if (vType == T_INT32 && vSize == 4) return <i64><i32><u32>v;
    if (v > <u64>i64.MAX_VALUE) return -1;
    return <i64>v;
  }
  return -1;
}

/** The value of the double or float just decoded (NaN for any other type). */
export function decodedFloat(): f64 {
  if (vType == T_DOUBLE) {
    const hi = <u64>beUint(vAt, 4);
    const lo = <u64>beUint(vAt + 4, 4);
    return reinterpret<f64>((hi << 32) | lo);
  }
  if (vType == T_FLOAT) return <f64>reinterpret<f32>(beUint(vAt, 4));
  return NaN;
}

/** Absolute address of the payload just decoded. */
@inline export function decodedPtr(): usize {
  return secBase + <usize>vAt;
}

/** In the map at `mapOff`, the value of `key`: its offset (pass it to decode), NOT_FOUND, or
 * FAILED (with mmdbError) when the map is not a map or is corrupt. Keys may be pointers. */
export function mapFind(mapOff: u32, key: usize, keyLen: u32): i64 {
  if (!decode(mapOff)) return FAILED;
  if (vType != T_MAP) return NOT_FOUND;
  const n = vSize;
  let at = vAt;
  for (let i: u32 = 0; i < n; i++) {
    if (!decode(at)) return FAILED;
    if (vType != T_STRING) {
      fail("a map key is not a string");
      return FAILED;
    }
    const found = stringIs(key, keyLen);
    const valueAt = vNext;
    if (found) return <i64>valueAt;
    const next = skip(valueAt, 1);
    if (next < 0) return FAILED;
    at = <u32>next;
  }
  return NOT_FOUND;
}

const MARKER: usize = memory.data<u8>([0xab, 0xcd, 0xef, 0x4d, 0x61, 0x78, 0x4d, 0x69, 0x6e, 0x64, 0x2e, 0x63, 0x6f, 0x6d]);
const MARKER_LEN: u32 = 14;
/** The spec bounds the metadata at 128 KiB: the marker is searched for no further back. */
const METADATA_MAX: u32 = 131072;

/** One opened database: the file's bytes (owned by whoever opened it) and its layout. */
export class Mmdb {
  base: usize = 0;
  len: u32 = 0;
  nodeCount: u32 = 0;
  recordSize: u32 = 0;
  nodeBytes: u32 = 0;
  ipVersion: u32 = 0;
  dataBase: usize = 0;
  dataLen: u32 = 0;
  /** The node (or record value, when the tree ends sooner) an IPv4 address starts from in an
   * IPv6 tree: after 96 zero bits, the ::/96 subtree where the spec puts IPv4. */
  ipv4Start: u32 = 0;
  /** database_type, as bytes in the metadata. */
  typePtr: usize = 0;
  typeLen: u32 = 0;
  buildEpoch: u64 = 0;
  /** Where an IPv4 address is after its first `jumpBits` bits (a node, or the record value where
   * the tree ends sooner), by those bits: the top of every IPv4 walk done once at open, one load
   * instead of 16 or 20 dependent reads scattered over the tree. A heap block of 2^jumpBits u32
   * that the database owns (dropJump frees it); 0 when not built (checkDatabase). */
  jump: usize = 0;
  jumpBits: u32 = 0;
  /** In an IPv6 tree, where an IPv6 address is after its first 16 bits, the same way (256 KiB):
   * the top of an IPv6 walk, which follows the spec's aliases (2001::/32, 2002::/16) and the
   * networks' prefixes for 16 levels before any address differs much. 0 in an IPv4 tree. */
  jump6: usize = 0;
}

/** Every database gets a table of its IPv4 /16s (256 KiB). */
const JUMP_BITS = 16;
/** A database where this many of its IPv4 /16s or more lead on to further nodes (a City or an
 * ASN file, whose networks are /20s to /24s and smaller: nearly all of its /16s in use) gets a
 * table of /20s instead (1,048,576 entries, 4 MiB): on the benchmark's City, four dependent
 * reads of the tree taken off every IPv4 lookup. One where few do (its networks are /16s or
 * larger) keeps the /16 table, where the walk is short anyway. */
const DEEP_JUMP_BITS = 20;
const DEEP_JUMP_MIN_NODES = 4096;

/** A table of `1 << bits` entries from the table `from` of `1 << fromBits` (or from the node
 * `root` when from is 0): each entry's two records level by level, or itself once it is not a
 * node any more. Every read is of a node below nodeCount (validated: in the tree). */
function expandJump(db: Mmdb, from: usize, fromBits: u32, bits: u32, root: u32): usize {
  const n = db.nodeCount;
  const out = heap.alloc(<usize>4 << <usize>bits);
  if (from == 0) store<u32>(out, root);
  else memory.copy(out, from, <usize>4 << <usize>fromBits);
  // In place, widest level last: entry i of level d+1 is at 2i and 2i+1, so walking i downwards
  // never overwrites an entry of level d before it is read.
  for (let depth: u32 = from == 0 ? 0 : fromBits; depth < bits; depth++) {
    for (let i = (<i32>1 << <i32>depth) - 1; i >= 0; i--) {
      const node = load<u32>(out + (<usize>i << 2));
      const p = out + (<usize>i << 3);
      store<u32>(p, node < n ? record(db, node, 0) : node);
      store<u32>(p, node < n ? record(db, node, 1) : node, 4);
    }
  }
  return out;
}

function buildJump(db: Mmdb): void {
  let table = expandJump(db, 0, 0, JUMP_BITS, db.ipv4Start);
  let bits = JUMP_BITS;
  let deeper = 0;
  for (let i: usize = 0; i < (<usize>1 << JUMP_BITS); i++) if (load<u32>(table + (i << 2)) < db.nodeCount) deeper++;
  if (deeper >= DEEP_JUMP_MIN_NODES) {
    const wide = expandJump(db, table, JUMP_BITS, DEEP_JUMP_BITS, 0);
    heap.free(table);
    table = wide;
    bits = DEEP_JUMP_BITS;
  }
  db.jump = table;
  db.jumpBits = bits;
  if (db.ipVersion == 6) db.jump6 = expandJump(db, 0, 0, JUMP_BITS, 0);
}

/** Frees the database's tables (when it is dropped: the file's block is its owner's). */
export function dropJump(db: Mmdb): void {
  if (db.jump != 0) heap.free(db.jump);
  if (db.jump6 != 0) heap.free(db.jump6);
  db.jump = 0;
  db.jumpBits = 0;
  db.jump6 = 0;
}

function metaField(name: string): i64 {
  const k = String.UTF8.encode(name);
  return mapFind(0, changetype<usize>(k), <u32>k.byteLength);
}

/** A required unsigned number of the metadata, or -1 (with mmdbError). */
function metaUint(name: string): i64 {
  const at = metaField(name);
  if (at == FAILED) return -1;
  if (at == NOT_FOUND) {
    fail("the metadata has no " + name);
    return -1;
  }
  if (!decode(<u32>at)) return -1;
  const v = decodedUint();
  if (v < 0) fail("the metadata's " + name + " is not an unsigned number");
  return v;
}

/** Reads the layout of the file at [base, base+len). Returns null with mmdbError when it is not
 * a MaxMind DB v2 file or its metadata does not describe a tree that fits in it. `lookups`:
 * builds the IPv4 table too (a database only checked does without; dropJump frees it). */
export function openMmdb(base: usize, len: u32, lookups: bool = true): Mmdb | null {
  // The last marker: the data section could contain the same bytes, the metadata comes last.
  let markerAt: i64 = -1;
  if (len >= MARKER_LEN) {
    const lowest: u32 = len - MARKER_LEN > METADATA_MAX ? len - MARKER_LEN - METADATA_MAX : 0;
    for (let i: i64 = <i64>(len - MARKER_LEN); i >= <i64>lowest; i--) {
      if (load<u8>(base + <usize>i) == 0xab && memory.compare(base + <usize>i, MARKER, MARKER_LEN) == 0) {
        markerAt = i;
        break;
      }
    }
  }
  if (markerAt < 0) {
    fail("not a MaxMind DB file: no metadata marker in its last 128 KiB");
    return null;
  }
  const metaStart = <u32>markerAt + MARKER_LEN;
  useSection(base + <usize>metaStart, len - metaStart);
  if (!decode(0)) {
    mmdbError = "the metadata: " + mmdbError;
    return null;
  }
  if (vType != T_MAP) {
    fail("the metadata is not a map");
    return null;
  }
  const major = metaUint("binary_format_major_version");
  if (major < 0) return null;
  if (major != 2) {
    fail("binary format version " + major.toString() + " (only version 2 is read)");
    return null;
  }
  const nodeCount = metaUint("node_count");
  const recordSize = metaUint("record_size");
  const ipVersion = metaUint("ip_version");
  if (nodeCount < 0 || recordSize < 0 || ipVersion < 0) return null;
  if (recordSize != 24 && recordSize != 28 && recordSize != 32) {
    fail("record size " + recordSize.toString() + " (24, 28 or 32 expected)");
    return null;
  }
  if (ipVersion != 4 && ipVersion != 6) {
    fail("ip_version " + ipVersion.toString() + " (4 or 6 expected)");
    return null;
  }
  if (nodeCount == 0 || nodeCount > 0xffffffef) {
    fail("node count " + nodeCount.toString() + " is not a tree");
    return null;
  }
  const db = new Mmdb();
  const typeAt = metaField("database_type");
  if (typeAt == FAILED) return null;
  if (typeAt >= 0) {
    if (!decode(<u32>typeAt)) return null;
    if (vType == T_STRING) {
      db.typePtr = decodedPtr();
      db.typeLen = vSize;
    }
  }
  const epochAt = metaField("build_epoch");
  if (epochAt == FAILED) return null;
  if (epochAt >= 0) {
    if (!decode(<u32>epochAt)) return null;
    const e = decodedUint();
    if (e > 0) db.buildEpoch = <u64>e;
  }
  const nodeBytes = <u32>recordSize / 4;
  const treeSize = <u64>nodeCount * <u64>nodeBytes;
  const dataEnd = <u64>markerAt;
  if (treeSize + 16 > dataEnd) {
    fail("the search tree (" + nodeCount.toString() + " nodes of " + nodeBytes.toString() + " bytes) does not fit before the metadata: truncated or corrupt");
    return null;
  }
  db.base = base;
  db.len = len;
  db.nodeCount = <u32>nodeCount;
  db.recordSize = <u32>recordSize;
  db.nodeBytes = nodeBytes;
  db.ipVersion = <u32>ipVersion;
  db.dataBase = base + <usize>(treeSize + 16);
  db.dataLen = <u32>(dataEnd - treeSize - 16);
  let node: u32 = 0;
  if (ipVersion == 6) {
    for (let i = 0; i < 96 && node < db.nodeCount; i++) node = record(db, node, 0);
  }
  db.ipv4Start = node;
  if (lookups) buildJump(db);
  return db;
}

/** The left (bit 0) or right (bit 1) record of a node; node < nodeCount, so it is in the tree. */
// A node's left (bit 0) or right (bit 1) record, the node at `p`, by record size: the one place
// for each layout, inlined into record() and into lookupRecord's walks.
@inline function record24(p: usize, bit: u32): u32 {
  const q = p + <usize>(bit * 3);
  return (<u32>load<u8>(q) << 16) | (<u32>load<u8>(q, 1) << 8) | <u32>load<u8>(q, 2);
}

/** 28-bit records (GeoLite2-City): the middle byte's high nibble tops the left record, its low
 * nibble the right one. */
@inline function record28(p: usize, bit: u32): u32 {
  const middle = <u32>load<u8>(p, 3);
  const q = p + <usize>(bit << 2);
  return ((bit != 0 ? middle & 0x0f : middle >> 4) << 24) | (<u32>load<u8>(q) << 16) | (<u32>load<u8>(q, 1) << 8) | <u32>load<u8>(q, 2);
}

@inline function record32(p: usize, bit: u32): u32 {
  return bswap<u32>(load<u32>(p + <usize>(bit * 4)));
}

@inline function record(db: Mmdb, node: u32, bit: u32): u32 {
  const p = db.base + <usize>node * <usize>db.nodeBytes;
  if (db.recordSize == 24) return record24(p, bit);
  if (db.recordSize == 28) return record28(p, bit);
  return record32(p, bit);
}

/** The record of an address: its offset in the data section, NOT_FOUND, or FAILED (mmdbError).
 * `addr` holds 4 bytes when isV4, else 16 (network order). IPv4 in an IPv6 tree is looked up
 * in the ::/96 subtree, and so is an IPv4-mapped IPv6 address (::ffff:a.b.c.d), as the spec's
 * aliases make MaxMind's own files answer; an IPv6 address in an IPv4 tree is not found. */
export function lookupRecord(db: Mmdb, addr: usize, isV4: bool): i64 {
  let bytes = addr;
  let v4 = isV4;
  if (!v4 && load<u64>(addr) == 0 && load<u32>(addr, 8) == 0xffff0000) {
    bytes = addr + 12;
    v4 = true;
  }
  let node: u32;
  let bits: i32;
  let start = 0;
  if (v4) {
    bits = 32;
    if (db.jump != 0) {
      start = <i32>db.jumpBits;
      node = load<u32>(db.jump + (<usize>(bswap<u32>(load<u32>(bytes)) >> (32 - db.jumpBits)) << 2));
    } else node = db.ipv4Start;
  } else {
    if (db.ipVersion == 4) return NOT_FOUND;
    bits = 128;
    if (db.jump6 != 0) {
      start = JUMP_BITS;
      node = load<u32>(db.jump6 + (<usize>((<u32>load<u8>(bytes) << 8) | <u32>load<u8>(bytes, 1)) << 2));
    } else node = 0;
  }
  const n = db.nodeCount;
  // One loop per record size, the node's address computed in it: this walk is a third of a miss.
  const tree = db.base;
  if (db.recordSize == 24) {
    for (let i = start; i < bits && node < n; i++) {
      const bit = (<u32>load<u8>(bytes + <usize>(i >> 3)) >> (7 - (<u32>i & 7))) & 1;
      node = record24(tree + <usize>node * 6, bit);
    }
  } else if (db.recordSize == 32) {
    for (let i = start; i < bits && node < n; i++) {
      const bit = (<u32>load<u8>(bytes + <usize>(i >> 3)) >> (7 - (<u32>i & 7))) & 1;
      node = record32(tree + <usize>node * 8, bit);
    }
  } else {
    for (let i = start; i < bits && node < n; i++) {
      const bit = (<u32>load<u8>(bytes + <usize>(i >> 3)) >> (7 - (<u32>i & 7))) & 1;
      node = record28(tree + <usize>node * 7, bit);
    }
  }
  if (node <= n) return NOT_FOUND; // == n: no data; < n: the address ran out of bits first
  if (node < n + 16) {
    fail("a search tree record points into the separator before the data section");
    return FAILED;
  }
  const off = node - n - 16;
  if (off >= db.dataLen) {
    fail("a search tree record points past the end of the data section");
    return FAILED;
  }
  return <i64>off;
}

/** Makes the decoder read this database's data section. */
export function useData(db: Mmdb): void {
  useSection(db.dataBase, db.dataLen);
}
