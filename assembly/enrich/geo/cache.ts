// Recent lookups: flow logs name the same few addresses over and over (a VM's own address in
// every tuple, its DNS servers, its load balancer), so the fragment of an address is kept and
// copied the next time instead of walking the tree and the records again. A two-way
// set-associative table: 4,096 sets of two 512-byte slots (4 MiB, taken at the first lookup, so
// an instance without databases never pays it), the set chosen by a multiplicative hash of the
// 16-byte address, a byte a set saying which slot was used last (the other goes next). A slot
// holds the address, the generation of the databases it was computed with, and the fragment (an
// empty one too; but an IPv4 address in no database's /16 or /20, as private addresses are, is
// answered by the databases' IPv4 tables before this table is asked: databases.ts geoLookup). A
// second table, its tags apart, is keyed by one database's record (the part table, below). Two
// ways rather than one: 3,000 busy
// addresses in a direct-mapped table of 4,096 slots collide often enough to lose a third of the
// hits (measured: 68% hits where 93% were possible). A new set of databases bumps the
// generation, which makes every slot stale at once. A fragment longer than a slot is not kept
// (a full City + ASN fragment is about 350 bytes; only a pathological file gives more).

const HEADER: usize = 24; // key (16), generation (4), length (4)

/** One table: its memory (0 until first used), its size as log2 of its sets, its slots' size. */
export class CacheTable {
  base: usize = 0;
  /** One byte a set: which of its two slots was used last (the other is the next to go). */
  recent: usize = 0;
  constructor(public setBits: u32, public slotBytes: usize) {}
  /** The longest value a slot holds. */
  get room(): i32 {
    return <i32>(this.slotBytes - HEADER);
  }
}

/** Keyed by the 16-byte address: whole fragments. */
export const byAddress = new CacheTable(12, 512);
export let cacheHits: u64 = 0;
export let cacheMisses: u64 = 0;
export let recordHits: u64 = 0;
/** Off for benchmarks of the lookups themselves. */
export let cacheEnabled: bool = true;

export function setCacheEnabled(on: bool): void {
  cacheEnabled = on;
  bypassing = false;
  windowLookups = 0;
  windowHits = 0;
}

// Whether the address table pays for itself. On addresses that hardly repeat (measured: 1% hits
// on the benchmark corpus's tuples) its probes and stores, each a line of 4 MiB that is rarely in
// the CPU's caches, cost more than the hits save, so after a window of lookups with under 5%
// hits it is bypassed, except one lookup in 8, which still probes and stores: when those find 10%
// hits or more over a window (flow logs whose busy addresses come back), it is used again. The
// answers are the same either way; only where they come from changes.
const WINDOW: u32 = 4096;
let windowLookups: u32 = 0;
let windowHits: u32 = 0;
let bypassing: bool = false;
let sampleTick: u32 = 0;
/** The last cacheFind of byAddress skipped the table: its cacheStore skips it too. */
let skipped: bool = false;

/** Whether the address table is being bypassed (see above). */
export function cacheBypassed(): bool {
  return bypassing;
}

function countWindow(hit: bool): void {
  windowLookups++;
  if (hit) windowHits++;
  if (windowLookups < WINDOW) return;
  if (!bypassing && windowHits * 20 < windowLookups) bypassing = true;
  else if (bypassing && windowHits * 10 >= windowLookups) bypassing = false;
  windowLookups = 0;
  windowHits = 0;
}

@inline function setOf(t: CacheTable, key: usize): usize {
  const h = (load<u64>(key) ^ (load<u64>(key, 8) * 0x9e3779b97f4a7c15)) * 0xff51afd7ed558ccd;
  return t.base + <usize>(h >> (64 - <u64>t.setBits)) * (t.slotBytes << 1);
}

@inline function holds(slot: usize, key: usize, generation: u32): bool {
  return load<u32>(slot, 16) == generation && load<u64>(slot) == load<u64>(key) && load<u64>(slot, 8) == load<u64>(key, 8);
}

/** The slot of table `tab` holding the fragment of `key` (16 bytes) for `generation`, or 0.
 * Its fragment is cachedLength(slot) bytes at cachedBytes(slot), valid until the next
 * cacheStore into the same table. */
export function cacheFind(tab: CacheTable, key: usize, generation: u32): usize {
  const counted = tab === byAddress;
  if (counted) {
    skipped = bypassing && (++sampleTick & 7) != 0;
    if (skipped) {
      cacheMisses++;
      return 0;
    }
  }
  if (!cacheEnabled || tab.base == 0) {
    if (counted) cacheMisses++;
    return 0;
  }
  const s = setOf(tab, key);
  for (let way: usize = 0; way < 2; way++) {
    const slot = s + way * tab.slotBytes;
    if (holds(slot, key, generation)) {
      if (counted) {
        cacheHits++;
        countWindow(true);
      }
      // Marked, not moved: the other slot is the one the next store replaces.
      store<u8>(tab.recent + ((s - tab.base) / (tab.slotBytes << 1)), <u8>way);
      return slot;
    }
  }
  if (counted) {
    cacheMisses++;
    countWindow(false);
  }
  return 0;
}

@inline export function cachedLength(slot: usize): i32 {
  return load<i32>(slot, 20);
}

@inline export function cachedBytes(slot: usize): usize {
  return slot + HEADER;
}

/** Keeps a fragment as the most recent of its set, in place of the less recent one: its slot, or
 * 0 when not kept. */
export function cacheStore(tab: CacheTable, key: usize, generation: u32, ptr: usize, len: i32): usize {
  if (!cacheEnabled || len > tab.room || (skipped && tab === byAddress)) return 0;
  if (tab.base == 0) {
    const sets = <usize>1 << <usize>tab.setBits;
    tab.base = heap.alloc(sets * (tab.slotBytes << 1));
    tab.recent = heap.alloc(sets);
    // Generation 0 is never current: a zeroed slot is empty.
    memory.fill(tab.base, 0, sets * (tab.slotBytes << 1));
    memory.fill(tab.recent, 0, sets);
  }
  const s = setOf(tab, key);
  const mark = tab.recent + ((s - tab.base) / (tab.slotBytes << 1));
  const way = <usize>(load<u8>(mark) ^ 1);
  const slot = s + way * tab.slotBytes;
  store<u8>(mark, <u8>way);
  store<u64>(slot, load<u64>(key));
  store<u64>(slot, load<u64>(key, 8), 8);
  store<u32>(slot, generation, 16);
  store<i32>(slot, len, 20);
  memory.copy(slot + HEADER, ptr, <usize>len);
  return slot;
}

/** A lookup missed the address table and every one of its records' parts was kept. */
export function countRecordHit(): void {
  recordHits++;
}

export function resetCacheCounters(): void {
  cacheHits = 0;
  cacheMisses = 0;
  recordHits = 0;
}

// The first database's records, decoded, for sets whose databases give the same fields (City +
// Country), where parts cannot be put side by side (databases.ts): what a record gives depends
// on nothing else when it is read first (no field is set yet), so its fields (pointers into the
// file, the location, the AS number) are kept by data offset and restored instead of decoding
// the record again. 4,096 slots of 128 bytes (512 KiB), direct-mapped, taken at first use; a new
// generation makes them all stale.
const FIRST_SLOTS_BITS: u32 = 12;
const FIRST_SLOT_BYTES: usize = 128;
let firstBase: usize = 0;
export let firstRecordHits: u64 = 0;

@inline function firstSlotOf(off: u32): usize {
  return firstBase + <usize>((off * 0x9e3779b1) >> (32 - FIRST_SLOTS_BITS)) * FIRST_SLOT_BYTES;
}

/** The kept fields of the first database's record at `off` (fields.ts fieldsFromSnapshot), or 0. */
export function firstRecordFind(off: u32, generation: u32): usize {
  if (!cacheEnabled || firstBase == 0) return 0;
  const slot = firstSlotOf(off);
  if (load<u32>(slot) != off || load<u32>(slot, 4) != generation) return 0;
  firstRecordHits++;
  return slot + 8;
}

/** Where to keep the fields of the first database's record at `off` (fields.ts snapshotFields),
 * replacing what was in its slot; 0 with the cache off. */
export function firstRecordSlot(off: u32, generation: u32): usize {
  if (!cacheEnabled) return 0;
  if (firstBase == 0) {
    const bytes = (<usize>1 << <usize>FIRST_SLOTS_BITS) * FIRST_SLOT_BYTES;
    firstBase = heap.alloc(bytes);
    memory.fill(firstBase, 0, bytes);
  }
  const slot = firstSlotOf(off);
  store<u32>(slot, off);
  store<u32>(slot, generation, 4);
  return slot + 8;
}

// Each record's part of the fragment (databases.ts recordPart), keyed by (database index, data
// offset): most addresses that miss the address table lead to records met before (a City record
// covers a city's networks, an ASN record a whole operator's), while the pair of a City and an
// ASN record is much rarer; kept apart, a miss costs the tree walks and two copies, not decoding
// and escaping the records and printing the coordinates again. Two-way set-associative like the
// address table, but its tags (key, generation, length: 16 bytes a way, 32 a set, so a set is
// one half of a cache line) are apart from the bytes: a probe reads 256 KiB of tags, not lines
// scattered over 6 MiB (a probe of slots that held their own headers was the geo layer's largest
// cost in V8). 8,192 sets of two 384-byte slots (6 MiB) behind them: a full GeoLite2-City part is
// about 300 bytes, an ASN part under 100; a longer one is not kept (that address then takes the
// full path). 4,096 sets lost about a fifth of the parts on the benchmark corpus (5,000 City and
// about 2,000 ASN records in play). Taken at first use; a new generation makes them all stale.
const PART_SET_BITS: u64 = 13;
export const PART_ROOM: i32 = 384;
let partTags: usize = 0;
let partData: usize = 0;
let partRecent: usize = 0;
/** The length of the part partFind or partStore last gave. */
export let partLength: i32 = 0;

@inline function partSetOf(k: u64): usize {
  return <usize>((k * 0x9e3779b97f4a7c15) >> (64 - PART_SET_BITS));
}

/** The bytes of the part kept under `k` (database index << 32 | data offset) for `generation`
 * (partLength of them), or 0. Valid until the next partStore. */
export function partFind(k: u64, generation: u32): usize {
  if (!cacheEnabled || partTags == 0) return 0;
  const set = partSetOf(k);
  const t = partTags + (set << 5);
  for (let way: usize = 0; way < 2; way++) {
    const tag = t + (way << 4);
    if (load<u64>(tag) == k && load<u32>(tag, 8) == generation) {
      store<u8>(partRecent + set, <u8>way);
      partLength = load<i32>(tag, 12);
      return partData + ((set << 1) + way) * <usize>PART_ROOM;
    }
  }
  return 0;
}

/** Keeps `len` bytes at `ptr` as the part under `k`, in place of its set's less recent one: where
 * they now are, or 0 when not kept (too long, or the cache off). */
export function partStore(k: u64, generation: u32, ptr: usize, len: i32): usize {
  if (!cacheEnabled || len > PART_ROOM) return 0;
  const sets = <usize>1 << <usize>PART_SET_BITS;
  if (partTags == 0) {
    partTags = heap.alloc(sets << 5);
    partData = heap.alloc(sets * 2 * <usize>PART_ROOM);
    partRecent = heap.alloc(sets);
    // Generation 0 is never current: a zeroed tag is empty.
    memory.fill(partTags, 0, sets << 5);
    memory.fill(partRecent, 0, sets);
  }
  const set = partSetOf(k);
  const way = <usize>(load<u8>(partRecent + set) ^ 1);
  store<u8>(partRecent + set, <u8>way);
  const tag = partTags + (set << 5) + (way << 4);
  store<u64>(tag, k);
  store<u32>(tag, generation, 8);
  store<i32>(tag, len, 12);
  const at = partData + ((set << 1) + way) * <usize>PART_ROOM;
  memory.copy(at, ptr, <usize>len);
  partLength = len;
  return at;
}
