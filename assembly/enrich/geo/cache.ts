// Recent lookups: flow logs name the same few addresses over and over (a VM's own address in
// every tuple, its DNS servers, its load balancer), so the fragment of an address is kept and
// copied the next time instead of walking the tree and the records again. A direct-mapped table
// of 4096 slots of 512 bytes (2 MiB, taken at the first lookup, so an instance without
// databases never pays it), indexed by a multiplicative hash of the 16-byte address; a slot
// holds the address, the generation of the databases it was computed with, and the fragment
// (an empty one too: private addresses, found in no database, are the most repeated of all).
// A new set of databases bumps the generation, which makes every slot stale at once. A fragment
// longer than a slot is not kept (only a pathological file gives one).

const SLOTS: u32 = 4096;
const SLOT_SHIFT: u64 = 52; // 64 - log2(SLOTS)
const SLOT_BYTES: usize = 512;
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

@inline function slotOf(key: usize): usize {
  const h = (load<u64>(key) ^ (load<u64>(key, 8) * 0x9e3779b97f4a7c15)) * 0xff51afd7ed558ccd;
  return table + <usize>(h >> SLOT_SHIFT) * SLOT_BYTES;
}

/** The slot holding the fragment of `key` (16 bytes) for `generation`, or 0. Its fragment is
 * at slot + cacheDataOffset(), cachedLength(slot) bytes long. */
export function cacheFind(key: usize, generation: u32): usize {
  if (!cacheEnabled || table == 0) {
    cacheMisses++;
    return 0;
  }
  const s = slotOf(key);
  if (load<u32>(s, 16) == generation && load<u64>(s) == load<u64>(key) && load<u64>(s, 8) == load<u64>(key, 8)) {
    cacheHits++;
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

export function cacheStore(key: usize, generation: u32, ptr: usize, len: i32): void {
  if (!cacheEnabled || len > CACHE_ROOM) return;
  if (table == 0) {
    table = heap.alloc(<usize>SLOTS * SLOT_BYTES);
    // Generation 0 is never current: a zeroed slot is empty.
    memory.fill(table, 0, <usize>SLOTS * SLOT_BYTES);
  }
  const s = slotOf(key);
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
