// Recent lookups: flow logs name the same few addresses over and over (a VM's own address in
// every tuple, its DNS servers, its load balancer), so the fragment of an address is kept and
// copied the next time instead of walking the tree and the records again. A two-way
// set-associative table: 4,096 sets of two 512-byte slots (4 MiB, taken at the first lookup, so
// an instance without databases never pays it), the set chosen by a multiplicative hash of the
// 16-byte address, the more recently used slot first. A slot holds the address, the generation
// of the databases it was computed with, and the fragment (an empty one too: private addresses,
// found in no database, are the most repeated of all). Two ways rather than one: 3,000 busy
// addresses in a direct-mapped table of 4,096 slots collide often enough to lose a third of the
// hits (measured: 68% hits where 93% were possible). A new set of databases bumps the
// generation, which makes every slot stale at once. A fragment longer than a slot is not kept
// (a full City + ASN fragment is about 350 bytes; only a pathological file gives more).

const SETS: u32 = 4096;
const SET_SHIFT: u64 = 52; // 64 - log2(SETS)
const SLOT_BYTES: usize = 512;
const SET_BYTES: usize = SLOT_BYTES * 2;
const HEADER: usize = 24; // address (16), generation (4), length (4)
export const CACHE_ROOM: i32 = <i32>(SLOT_BYTES - HEADER);

let table: usize = 0;

export let cacheHits: u64 = 0;
export let cacheMisses: u64 = 0;
/** Off for benchmarks of the lookups themselves. */
export let cacheEnabled: bool = true;

export function setCacheEnabled(on: bool): void {
  cacheEnabled = on;
}

@inline function setOf(key: usize): usize {
  const h = (load<u64>(key) ^ (load<u64>(key, 8) * 0x9e3779b97f4a7c15)) * 0xff51afd7ed558ccd;
  return table + <usize>(h >> SET_SHIFT) * SET_BYTES;
}

@inline function holds(slot: usize, key: usize, generation: u32): bool {
  return load<u32>(slot, 16) == generation && load<u64>(slot) == load<u64>(key) && load<u64>(slot, 8) == load<u64>(key, 8);
}

// A hit in the second slot is copied out to here and the two slots swapped, so that the slot
// handed back stays valid until the next lookup.
const swap: usize = heap.alloc(SLOT_BYTES);

/** The slot holding the fragment of `key` (16 bytes) for `generation`, or 0. Its fragment is
 * cachedLength(slot) bytes at cachedBytes(slot), valid until the next cacheStore. */
export function cacheFind(key: usize, generation: u32): usize {
  if (!cacheEnabled || table == 0) {
    cacheMisses++;
    return 0;
  }
  const s = setOf(key);
  if (holds(s, key, generation)) {
    cacheHits++;
    return s;
  }
  const t = s + SLOT_BYTES;
  if (holds(t, key, generation)) {
    cacheHits++;
    // Most recently used first.
    const n = HEADER + <usize>load<i32>(t, 20);
    memory.copy(swap, t, n);
    memory.copy(t, s, HEADER + <usize>load<i32>(s, 20));
    memory.copy(s, swap, n);
    return s;
  }
  cacheMisses++;
  return 0;
}

@inline export function cachedLength(slot: usize): i32 {
  return load<i32>(slot, 20);
}

@inline export function cachedBytes(slot: usize): usize {
  return slot + HEADER;
}

/** Keeps a fragment as the most recent of its set; the least recent one leaves. */
export function cacheStore(key: usize, generation: u32, ptr: usize, len: i32): void {
  if (!cacheEnabled || len > CACHE_ROOM) return;
  if (table == 0) {
    table = heap.alloc(<usize>SETS * SET_BYTES);
    // Generation 0 is never current: a zeroed slot is empty.
    memory.fill(table, 0, <usize>SETS * SET_BYTES);
  }
  const s = setOf(key);
  memory.copy(s + SLOT_BYTES, s, HEADER + <usize>load<i32>(s, 20));
  store<u64>(s, load<u64>(key));
  store<u64>(s, load<u64>(key, 8), 8);
  store<u32>(s, generation, 16);
  store<i32>(s, len, 20);
  memory.copy(s + HEADER, ptr, <usize>len);
}

export function resetCacheCounters(): void {
  cacheHits = 0;
  cacheMisses = 0;
}
