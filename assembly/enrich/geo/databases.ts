// The databases an instance looks addresses up in, and the lookup the mapper calls: the layer's
// entry. A set is built by adding files (open: bytes in, a database or an error out) and
// replaced whole when its source changes (clear, then add again); each change bumps
// `generation`, so the cache's older fragments go stale and a host can tell which set answered.
// Databases are read in the order they were added, the first to give a field keeps it.
import { Mmdb, openMmdb, lookupRecord, mmdbError, FAILED, dropJump } from "./mmdb";
import { clearFields, saveFields, restoreFields, readRecord, anyField, anyGeoField, anyAsField, snapshotFields, fieldsFromSnapshot } from "./fields";
import { writeFragment, fragment, geoPartEnd } from "./write";
import { ByteBuffer } from "../../base/output";
import { bitAt, setBitAt } from "../../base/bytes";
import { setGeoLoaded } from "../../write/extras";
import { cacheFind, cacheStore, cachedBytes, cachedLength, byAddress, firstRecordFind, firstRecordSlot, countRecordHit, cacheEnabled,
  partFind, partStore, partLength, PART_ROOM } from "./cache";

/** City, Country, ASN, and room for a few more. */
export const MAX_DATABASES = 8;

const dbs = new Array<Mmdb>();
const blocks = new Array<usize>();

/** Changes with every add and clear; never 0 (the cache's empty slots). */
export let generation: u32 = 1;
/** Why the last add failed. */
export let geoError: string = "";
/** Lookups that met a corrupt record or tree (that database then gave nothing for the address),
 * and the last such fault: a host reports them, the events themselves are mapped as usual. */
export let lookupErrors: u32 = 0;
export let lastLookupError: string = "";

function bump(): void {
  generation++;
  if (generation == 0) generation = 1;
  markPresence();
}

// Which IPv4 /20s and IPv6 /16s any database of the set has something in, a bit each (128 KiB
// and 8 KiB, taken at the first change of the set and rebuilt at every change from the
// databases' tables, mmdb.ts buildJump): one read tells a lookup that no database can answer
// it, which is the answer for private addresses, the VNet's side of most flows.
const PRESENT4_BYTES: usize = 1 << 17;
const PRESENT6_BYTES: usize = 1 << 13;
let present4: usize = 0;
let present6: usize = 0;

/** Whether some database may hold IPv6 addresses whose first 16 bits are `first16` (not 0: an
 * IPv4-mapped address starts with 0 and is looked up as IPv4). Only while databases are loaded. */
@inline export function mayHoldV6(first16: u32): bool {
  return bitAt(present6, first16);
}

function markPresence(): void {
  if (present4 == 0) {
    present4 = heap.alloc(PRESENT4_BYTES);
    present6 = heap.alloc(PRESENT6_BYTES);
  }
  memory.fill(present4, 0, PRESENT4_BYTES);
  memory.fill(present6, 0, PRESENT6_BYTES);
  for (let d = 0; d < dbs.length; d++) {
    const db = dbs[d];
    if (db.jump == 0) {
      // Never so in a set (addDatabase builds the tables), but then: anything may be there.
      memory.fill(present4, 0xff, PRESENT4_BYTES);
      memory.fill(present6, 0xff, PRESENT6_BYTES);
      return;
    }
    const none = db.nodeCount;
    // A /16 entry stands for its 16 /20s: two bytes of bits.
    const shift = 20 - db.jumpBits;
    const entries = <u32>1 << db.jumpBits;
    for (let e: u32 = 0; e < entries; e++) {
      if (load<u32>(db.jump + (<usize>e << 2)) == none) continue;
      for (let a = e << shift; a < (e + 1) << shift; a++) setBitAt(present4, a);
    }
    // An IPv4 tree has no IPv6 addresses (an IPv4-mapped one is looked up as IPv4).
    if (db.jump6 == 0) continue;
    for (let a: u32 = 0; a < 65536; a++) {
      if (load<u32>(db.jump6 + (<usize>a << 2)) == none) continue;
      setBitAt(present6, a);
    }
  }
}

export function databaseCount(): i32 {
  return dbs.length;
}

export function databaseAt(i: i32): Mmdb {
  return dbs[i];
}

/** Adds the file at [ptr, ptr+len). When `owned`, it is a block from heap.alloc that the set
 * now owns (freed here when refused, and by clearDatabases otherwise); else its memory is the
 * host's and must stay as it is until clearDatabases. Returns true, or false with geoError. */
export function addDatabase(ptr: usize, len: u32, owned: bool = true): bool {
  if (dbs.length >= MAX_DATABASES) {
    if (owned) heap.free(ptr);
    geoError = "at most " + MAX_DATABASES.toString() + " databases";
    return false;
  }
  const db = openMmdb(ptr, len);
  if (db == null) {
    if (owned) heap.free(ptr);
    geoError = mmdbError;
    return false;
  }
  dbs.push(db);
  blocks.push(owned ? ptr : 0);
  bump();
  setGeoLoaded(true);
  return true;
}

export function clearDatabases(): void {
  for (let i = 0; i < blocks.length; i++) if (blocks[i] != 0) heap.free(blocks[i]);
  for (let i = 0; i < dbs.length; i++) dropJump(dbs[i]);
  dbs.length = 0;
  blocks.length = 0;
  lookupErrors = 0;
  lastLookupError = "";
  bump();
  setGeoLoaded(false);
}

// The address as the cache and the tree walk take it: 16 bytes, IPv4 as ::ffff:a.b.c.d.
const key: usize = heap.alloc(16);
// Where the address led in each database: the data offset, or NO_RECORD.
const offsets = new StaticArray<u32>(MAX_DATABASES);
const NO_RECORD: u32 = 0xffffffff;
const FAULT: u32 = 0xfffffffe;

// One record's part of the fragment, as the part table (cache.ts) keeps it: a header, then its `geo`
// part, then its `as` part, each as writeFragment writes it for that record alone.
//   u16 length of the geo part, u8 GIVES_GEO | GIVES_AS (which fields it gave: a record whose
//   only geo field is a region code gives no geo bytes alone, yet would with another's country).
const PART_HEADER: i32 = 4;
const GIVES_GEO: u8 = 1;
const GIVES_AS: u8 = 2;
const partScratch: usize = heap.alloc(512);
const geoScratch: usize = heap.alloc(512);
const asScratch: usize = heap.alloc(512);

/** The generation in which two databases gave fields of the same part for one address (City
 * and Country: both give the country): their merge (first to give a field keeps it) is not two
 * records' parts side by side, so that set takes the full path from then on. */
let overlapGeneration: u32 = 0;

/** Where the last lookup's fragment is (geoLookup returned its length). */
export let fragmentAt: usize = 0;

/** Decodes record `off` of database `i` alone and keeps its part (see PART_HEADER) under `k`:
 * where the table keeps it (partLength bytes), or 0 when it does not fit (then the caller takes
 * the full path). A corrupt record gives FAULT_PART (counted in lookupErrors), never kept. */
const FAULT_PART: usize = 1;
function recordPart(i: i32, off: u32, k: u64): usize {
  clearFields();
  if (!readRecord(unchecked(dbs[i]), off)) {
    lookupErrors++;
    lastLookupError = "database " + (i + 1).toString() + ": " + mmdbError;
    return FAULT_PART;
  }
  const flags = (anyGeoField() ? GIVES_GEO : 0) | (anyAsField() ? GIVES_AS : 0);
  const len = flags != 0 ? writeFragment() : 0;
  if (len + PART_HEADER > PART_ROOM) return 0;
  store<u16>(partScratch, <u16>(flags != 0 ? geoPartEnd : 0));
  store<u8>(partScratch, <u8>flags, 2);
  memory.copy(partScratch + PART_HEADER, fragment.ptr, <usize>len);
  return partStore(k, generation, partScratch, len + PART_HEADER);
}

/** The fragment of an address (4 bytes when isV4, else 16, network order) with every
 * database: returns its length (0: nothing found, or no databases), its bytes at fragmentAt
 * until the next lookup. With `keep`, they are in `keep` instead (fragmentAt is keep.ptr), where
 * the next lookup leaves them: the mapper's source fragment, which must outlive the
 * destination's lookup. Records' parts are put together there directly, so keeping costs no
 * copy on that path (the benchmark corpus's usual one). */
export function geoLookup(addr: usize, isV4: bool, keep: ByteBuffer | null = null): i32 {
  const n = dbs.length;
  if (n == 0) return 0;
  // Most addresses of a flow log are private (the VNet's own side of every flow), in no
  // database: when the set's presence bits say so, that is the answer, without the cache.
  if (isV4 || (load<u64>(addr) == 0 && load<u32>(addr, 8) == 0xffff0000)) {
    const v4 = isV4 ? addr : addr + 12;
    const a = (<u32>load<u8>(v4) << 12) | (<u32>load<u8>(v4, 1) << 4) | (<u32>load<u8>(v4, 2) >> 4);
    if (!bitAt(present4, a)) return 0;
  } else {
    if (!mayHoldV6((<u32>load<u8>(addr) << 8) | <u32>load<u8>(addr, 1))) return 0;
  }
  if (isV4) {
    store<u64>(key, 0);
    store<u32>(key, 0xffff0000, 8);
    store<u32>(key, load<u32>(addr), 12);
  } else {
    store<u64>(key, load<u64>(addr));
    store<u64>(key, load<u64>(addr, 8), 8);
  }
  const slot = cacheFind(byAddress, key, generation);
  if (slot != 0) {
    fragmentAt = cachedBytes(slot);
    return kept(keep, cachedLength(slot));
  }
  let anyRecord = false;
  for (let i = 0; i < n; i++) {
    const off = lookupRecord(unchecked(dbs[i]), key, false);
    let o = NO_RECORD;
    if (off >= 0) {
      o = <u32>off;
      anyRecord = true;
    } else if (off == FAILED) {
      lookupErrors++;
      lastLookupError = "database " + (i + 1).toString() + ": " + mmdbError;
      o = FAULT;
    }
    unchecked(offsets[i] = o);
  }
  if (!anyRecord) {
    fragmentAt = fragment.ptr;
    cacheStore(byAddress, key, generation, fragment.ptr, 0);
    return 0;
  }
  if (byRecordUsable()) {
    const len = keep != null ? fromParts(n, keep, false) : fromParts(n, fragment, true);
    if (len >= 0) {
      cacheStore(byAddress, key, generation, fragmentAt, len);
      return len;
    }
  }
  return kept(keep, fullLookup(n));
}

/** The fragment of `len` bytes at fragmentAt, copied into `keep` when given and not already
 * there. */
function kept(keep: ByteBuffer | null, len: i32): i32 {
  if (keep == null || len == 0) return len;
  if (fragmentAt != keep.ptr) {
    keep.len = 0;
    keep.append(fragmentAt, len, len);
    fragmentAt = keep.ptr;
  }
  return len;
}

@inline function byRecordUsable(): bool {
  return overlapGeneration != generation && cacheEnabled;
}

/** The fragment put together from each record's part (into `into`; with `inPlace`, left where
 * the part table holds it when there is one part): its length, at fragmentAt, or -1 when a part
 * does not fit the table or two records give the same part (a corrupt record met before that is
 * then counted again by the full path: two faults in one lookup, the rarest of cases). */
function fromParts(n: i32, into: ByteBuffer, inPlace: bool): i32 {
  let given: u8 = 0;
  let decoded = false;
  let geoAt: usize = 0;
  let geoLen: i32 = 0;
  let asAt: usize = 0;
  let asLen: i32 = 0;
  for (let i = 0; i < n; i++) {
    const off = unchecked(offsets[i]);
    if (off >= FAULT) continue;
    const k = (<u64>i << 32) | <u64>off;
    let at = partFind(k, generation);
    if (at == 0) {
      // The store may take the slot of a part already found (three databases or more):
      // those are copied out first.
      if (geoLen != 0 && geoAt != geoScratch) {
        memory.copy(geoScratch, geoAt, <usize>geoLen);
        geoAt = geoScratch;
      }
      if (asLen != 0 && asAt != asScratch) {
        memory.copy(asScratch, asAt, <usize>asLen);
        asAt = asScratch;
      }
      at = recordPart(i, off, k);
      decoded = true;
      if (at == 0) return -1;
    }
    if (at == FAULT_PART) continue;
    const flags = load<u8>(at, 2);
    if ((flags & given) != 0) {
      overlapGeneration = generation;
      return -1;
    }
    given |= flags;
    const g = <i32>load<u16>(at);
    if (flags & GIVES_GEO) {
      geoAt = at + PART_HEADER;
      geoLen = g;
    }
    if (flags & GIVES_AS) {
      asAt = at + PART_HEADER + <usize>g;
      asLen = partLength - PART_HEADER - g;
    }
  }
  if (!decoded) countRecordHit();
  // One part alone (an ASN record and no City one, say) is the fragment as the table holds it,
  // valid until the next lookup stores a part: no copy, unless it must outlive that.
  if (inPlace && (geoLen == 0 || asLen == 0)) {
    fragmentAt = geoLen != 0 ? geoAt : asAt;
    return geoLen + asLen;
  }
  // Each part fits a slot: both fit a ByteBuffer's first 4 KiB.
  memory.copy(into.ptr, geoAt, <usize>geoLen);
  memory.copy(into.ptr + <usize>geoLen, asAt, <usize>asLen);
  into.len = geoLen + asLen;
  fragmentAt = into.ptr;
  return into.len;
}

/** Every record decoded into one set of fields, in the databases' order, then written. */
function fullLookup(n: i32): i32 {
  clearFields();
  for (let i = 0; i < n; i++) {
    const off = unchecked(offsets[i]);
    if (off >= FAULT) continue;
    const db = unchecked(dbs[i]);
    // The first database reads into empty fields: what its record gives is kept (cache.ts).
    if (i == 0) {
      const kept = firstRecordFind(off, generation);
      if (kept != 0) {
        fieldsFromSnapshot(kept);
        continue;
      }
    }
    saveFields();
    if (!readRecord(db, off)) {
      restoreFields();
      lookupErrors++;
      lastLookupError = "database " + (i + 1).toString() + ": " + mmdbError;
    } else if (i == 0) {
      const slot = firstRecordSlot(off, generation);
      if (slot != 0) snapshotFields(slot);
    }
  }
  const len = anyField() ? writeFragment() : 0;
  fragmentAt = fragment.ptr;
  cacheStore(byAddress, key, generation, fragment.ptr, len);
  return len;
}

/** Puts the files at ptrs[i] (lens[i] bytes each, heap blocks the set then owns) in place of
 * the current databases, all at once: a reload swaps in a new list only when every file in it
 * opened, so a bad update never leaves an instance with half its databases. A block already in
 * the set may be passed again (it is kept, not copied). Returns true, or false with geoError
 * (then nothing changed and the caller still owns the new blocks). */
export function replaceDatabases(ptrs: Array<usize>, lens: Array<u32>): bool {
  if (ptrs.length > MAX_DATABASES) {
    geoError = "at most " + MAX_DATABASES.toString() + " databases";
    return false;
  }
  const opened = new Array<Mmdb>();
  for (let i = 0; i < ptrs.length; i++) {
    const db = openMmdb(ptrs[i], lens[i]);
    if (db == null) {
      geoError = mmdbError;
      for (let j = 0; j < opened.length; j++) dropJump(opened[j]);
      return false;
    }
    opened.push(db);
  }
  for (let i = 0; i < blocks.length; i++) if (blocks[i] != 0 && !ptrs.includes(blocks[i])) heap.free(blocks[i]);
  for (let i = 0; i < dbs.length; i++) dropJump(dbs[i]);
  dbs.length = 0;
  blocks.length = 0;
  for (let i = 0; i < opened.length; i++) {
    dbs.push(opened[i]);
    blocks.push(ptrs[i]);
  }
  lookupErrors = 0;
  lastLookupError = "";
  bump();
  setGeoLoaded(dbs.length > 0);
  return true;
}

/** The database_type of database i, as its metadata names it. */
export function databaseType(i: i32): string {
  const db = dbs[i];
  return String.UTF8.decodeUnsafe(db.typePtr, <usize>db.typeLen);
}

/** Why the file at [ptr, ptr+len) would be refused, or "" (nothing is added either way). */
export function checkDatabase(ptr: usize, len: u32): string {
  return openMmdb(ptr, len, false) == null ? mmdbError : "";
}

/** Database i as a host reports it: a JSON object with `database_type`, `build_epoch`,
 * `ip_version`, `node_count`, `record_size` and the file's size. */
export function describeDatabase(i: i32): string {
  const db = dbs[i];
  return '{"database_type":' + jsonString(String.UTF8.decodeUnsafe(db.typePtr, db.typeLen))
    + ',"build_epoch":' + db.buildEpoch.toString()
    + ',"ip_version":' + db.ipVersion.toString()
    + ',"node_count":' + db.nodeCount.toString()
    + ',"record_size":' + db.recordSize.toString()
    + ',"bytes":' + db.len.toString() + "}";
}

/** A string as JSON (the metadata's and the errors' text may hold anything). */
export function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}
