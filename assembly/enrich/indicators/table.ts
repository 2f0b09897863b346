// The lookup structure: every indicator of every set, IPv4 and IPv6 apart, answering "which
// indicators cover this address" in a few loads.
//
// CIDR prefixes are laminar: two are nested or disjoint. Sorted by (start, length) they form a
// forest in which each distinct prefix is a node whose parent is the innermost prefix holding
// it; the indicators of one prefix (several sets, several STIX objects) sit together in `ord`.
// For an address, the last node starting at or before it is either its innermost covering
// prefix or a node nested in a sibling-free branch whose ancestors are exactly the prefixes
// covering it (any prefix covering the address starts before that node and so holds it): one
// binary search, then the parent chain, which lists every covering indicator, innermost first.
// A first-level index on the top 16 bits narrows the search to the nodes of one /16 (IPv4) or
// one 16-bit IPv6 top group; a bucket with no node answers from `cover`, the innermost prefix
// wider than /16 holding it, without any search: most flow addresses (private ranges, the
// cloud's own) cost two loads when they match nothing.
//
// Built by LSD radix sort over the sort keys (three passes for IPv4, up to nine for IPv6,
// passes whose digit never changes skipped): linear, where a comparison sort of a million keys
// would be several times slower in the interpreter and in V8.
import { IndicatorSet, sets, INDEX_BITS, INDEX_MASK, setOf, infoOf } from "./sets";

const BUCKETS = 65536;

// ---- IPv4 -----------------------------------------------------------------------------------
export let n4: i32 = 0;
export let start4: usize = 0; // u32 per node
export let len4: usize = 0; // u8 per node
export let parent4: usize = 0; // i32 per node, -1 for a root
export let first4: usize = 0; // u32 per node + 1: its indicators are ord4[first4[x], first4[x+1])
export let ord4: usize = 0; // u32 global indicator numbers
const bucketFirst4: usize = heap.alloc((BUCKETS + 1) << 2);
const bucketCover4: usize = heap.alloc(BUCKETS << 2);

// ---- IPv6 -----------------------------------------------------------------------------------
export let n6: i32 = 0;
export let hi6: usize = 0; // u64 per node
export let lo6: usize = 0; // u64 per node
export let len6: usize = 0;
export let parent6: usize = 0;
export let first6: usize = 0;
export let ord6: usize = 0;
const bucketFirst6: usize = heap.alloc((BUCKETS + 1) << 2);
const bucketCover6: usize = heap.alloc(BUCKETS << 2);

/** Whether any indicator is loaded: the mapper skips all of this when none is. */
export let anyIndicators: bool = false;

memory.fill(bucketFirst4, 0, (BUCKETS + 1) << 2);
memory.fill(bucketCover4, 0xff, BUCKETS << 2);
memory.fill(bucketFirst6, 0, (BUCKETS + 1) << 2);
memory.fill(bucketCover6, 0xff, BUCKETS << 2);

const counts: usize = heap.alloc(BUCKETS << 2);

@inline function mask4(len: u32): u32 {
  return len == 0 ? 0 : <u32>0xffffffff << (32 - len);
}

@inline function maskHi(len: u32): u64 {
  return len == 0 ? 0 : len >= 64 ? <u64>-1 : <u64>-1 << (64 - <u64>len);
}

@inline function maskLo(len: u32): u64 {
  return len <= 64 ? 0 : <u64>-1 << (128 - <u64>len);
}

/** One stable counting pass over records of `rec` bytes (8 or 24) by the digit
 * (word >> shift) & mask of the u64 at `word`; false (nothing moved) when every record has the
 * same digit. */
function radixPass(src: usize, dst: usize, n: i32, rec: i32, word: i32, shift: u64, mask: u64): bool {
  const buckets = <i32>mask + 1;
  memory.fill(counts, 0, <usize>buckets << 2);
  for (let i = 0; i < n; i++) {
    const d = <usize>((load<u64>(src + <usize>(i * rec + word)) >> shift) & mask);
    store<u32>(counts + (d << 2), load<u32>(counts + (d << 2)) + 1);
  }
  let sum: u32 = 0;
  for (let d = 0; d < buckets; d++) {
    const c = load<u32>(counts + (<usize>d << 2));
    if (c == <u32>n) return false;
    store<u32>(counts + (<usize>d << 2), sum);
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const s = src + <usize>(i * rec);
    const d = <usize>((load<u64>(s + <usize>word) >> shift) & mask);
    const at = load<u32>(counts + (d << 2));
    store<u32>(counts + (d << 2), at + 1);
    const o = dst + <usize>at * <usize>rec;
    store<u64>(o, load<u64>(s));
    if (rec == 24) {
      store<u64>(o, load<u64>(s, 8), 8);
      store<u64>(o, load<u64>(s, 16), 16);
    }
  }
  return true;
}

/** Whether global indicator `b` repeats `a` (the indicator kept before it under the same
 * prefix): the same set and, in a STIX set, the same object. See DEVELOPERS.md. */
function repeats(a: i32, b: i32): bool {
  const s = setOf(a);
  if (setOf(b) !== s) return false;
  if (!s.stix) return true;
  return infoOf(s, a) == infoOf(s, b);
}

function countDuplicate(g: i32): void {
  const s = setOf(g);
  s.duplicates++;
}

function freeIf(p: usize): void {
  if (p != 0) heap.free(p);
}

/** Rebuilds the whole table from `sets`; each set's `base` and `duplicates` are set here. */
export function buildTable(): void {
  let total4 = 0;
  let total6 = 0;
  let base = 0;
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    s.base = base;
    s.duplicates = 0;
    base += s.count;
    total4 += s.k4.len >> 3;
    total6 += s.k6.len / 24;
  }
  build4(total4);
  build6(total6);
  anyIndicators = n4 + n6 > 0;
}

function build4(total: i32): void {
  freeIf(start4); freeIf(len4); freeIf(parent4); freeIf(first4); freeIf(ord4);
  start4 = len4 = parent4 = first4 = ord4 = 0;
  n4 = 0;
  memory.fill(bucketFirst4, 0, (BUCKETS + 1) << 2);
  memory.fill(bucketCover4, 0xff, BUCKETS << 2);
  if (total == 0) return;

  // The keys of every set, renumbered globally, sorted on the prefix (bits 26-63).
  let keys = heap.alloc(<usize>total << 3);
  let at: usize = 0;
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    const n = s.k4.len >> 3;
    for (let j = 0; j < n; j++) {
      store<u64>(keys + at, load<u64>(s.k4.ptr + (<usize>j << 3)) + <u64>s.base);
      at += 8;
    }
  }
  let tmp = heap.alloc(<usize>total << 3);
  if (radixPass(keys, tmp, total, 8, 0, INDEX_BITS, 63)) { const t = keys; keys = tmp; tmp = t; }
  if (radixPass(keys, tmp, total, 8, 0, 32, 0xffff)) { const t = keys; keys = tmp; tmp = t; }
  if (radixPass(keys, tmp, total, 8, 0, 48, 0xffff)) { const t = keys; keys = tmp; tmp = t; }
  heap.free(tmp);

  start4 = heap.alloc(<usize>total << 2);
  len4 = heap.alloc(<usize>total);
  parent4 = heap.alloc(<usize>total << 2);
  first4 = heap.alloc((<usize>total + 1) << 2);
  ord4 = heap.alloc(<usize>total << 2);
  const stack = new StaticArray<i32>(34);
  let sp = 0;
  let n = 0;
  let m = 0;
  let lastPrefix: u64 = <u64>-1;
  for (let i = 0; i < total; i++) {
    const k = load<u64>(keys + (<usize>i << 3));
    const g = <i32>(k & INDEX_MASK);
    const prefix = k >> INDEX_BITS;
    if (prefix == lastPrefix) {
      if (repeats(load<i32>(ord4 + (<usize>(m - 1) << 2)), g)) { countDuplicate(g); continue; }
      store<u32>(ord4 + (<usize>m << 2), g);
      m++;
      continue;
    }
    lastPrefix = prefix;
    const start = <u32>(k >> 32);
    const len = <u32>(k >> INDEX_BITS) & 63;
    while (sp > 0) {
      const top = unchecked(stack[sp - 1]);
      if (((start ^ load<u32>(start4 + (<usize>top << 2))) & mask4(load<u8>(len4 + <usize>top))) == 0) break;
      sp--;
    }
    store<u32>(start4 + (<usize>n << 2), start);
    store<u8>(len4 + <usize>n, <u8>len);
    store<i32>(parent4 + (<usize>n << 2), sp > 0 ? unchecked(stack[sp - 1]) : -1);
    store<u32>(first4 + (<usize>n << 2), m);
    unchecked(stack[sp++] = n);
    n++;
    store<u32>(ord4 + (<usize>m << 2), g);
    m++;
  }
  store<u32>(first4 + (<usize>n << 2), m);
  heap.free(keys);
  n4 = n;

  let x = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    while (x < n && (load<u32>(start4 + (<usize>x << 2)) >>> 16) < <u32>b) x++;
    store<u32>(bucketFirst4 + (<usize>b << 2), x);
  }
  for (let y = 0; y < n; y++) {
    const len = <u32>load<u8>(len4 + <usize>y);
    if (len >= 16) continue;
    const s = load<u32>(start4 + (<usize>y << 2));
    const from = s >>> 16;
    const to = (s | ~mask4(len)) >>> 16;
    for (let b = from; b <= to; b++) store<i32>(bucketCover4 + (<usize>b << 2), y);
  }
}

function build6(total: i32): void {
  freeIf(hi6); freeIf(lo6); freeIf(len6); freeIf(parent6); freeIf(first6); freeIf(ord6);
  hi6 = lo6 = len6 = parent6 = first6 = ord6 = 0;
  n6 = 0;
  memory.fill(bucketFirst6, 0, (BUCKETS + 1) << 2);
  memory.fill(bucketCover6, 0xff, BUCKETS << 2);
  if (total == 0) return;

  let recs = heap.alloc(<usize>total * 24);
  let at: usize = 0;
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    const n = s.k6.len / 24;
    for (let j = 0; j < n; j++) {
      const r = s.k6.ptr + <usize>j * 24;
      store<u64>(recs + at, load<u64>(r));
      store<u64>(recs + at, load<u64>(r, 8), 8);
      store<u64>(recs + at, load<u64>(r, 16) + <u64>s.base, 16);
      at += 24;
    }
  }
  let tmp = heap.alloc(<usize>total * 24);
  if (radixPass(recs, tmp, total, 24, 16, INDEX_BITS, 0xff)) { const t = recs; recs = tmp; tmp = t; }
  for (let word = 8; word >= 0; word -= 8) {
    for (let shift: u64 = 0; shift < 64; shift += 16) {
      if (radixPass(recs, tmp, total, 24, word, shift, 0xffff)) { const t = recs; recs = tmp; tmp = t; }
    }
  }
  heap.free(tmp);

  hi6 = heap.alloc(<usize>total << 3);
  lo6 = heap.alloc(<usize>total << 3);
  len6 = heap.alloc(<usize>total);
  parent6 = heap.alloc(<usize>total << 2);
  first6 = heap.alloc((<usize>total + 1) << 2);
  ord6 = heap.alloc(<usize>total << 2);
  const stack = new StaticArray<i32>(130);
  let sp = 0;
  let n = 0;
  let m = 0;
  for (let i = 0; i < total; i++) {
    const r = recs + <usize>i * 24;
    const hi = load<u64>(r);
    const lo = load<u64>(r, 8);
    const meta = load<u64>(r, 16);
    const g = <i32>(meta & INDEX_MASK);
    const len = <u32>(meta >> INDEX_BITS) & 0xff;
    if (n > 0) {
      const p = n - 1;
      if (load<u64>(hi6 + (<usize>p << 3)) == hi && load<u64>(lo6 + (<usize>p << 3)) == lo && <u32>load<u8>(len6 + <usize>p) == len) {
        if (repeats(load<i32>(ord6 + (<usize>(m - 1) << 2)), g)) { countDuplicate(g); continue; }
        store<u32>(ord6 + (<usize>m << 2), g);
        m++;
        continue;
      }
    }
    while (sp > 0) {
      const top = unchecked(stack[sp - 1]);
      const tl = <u32>load<u8>(len6 + <usize>top);
      if (((hi ^ load<u64>(hi6 + (<usize>top << 3))) & maskHi(tl)) == 0 &&
          ((lo ^ load<u64>(lo6 + (<usize>top << 3))) & maskLo(tl)) == 0) break;
      sp--;
    }
    store<u64>(hi6 + (<usize>n << 3), hi);
    store<u64>(lo6 + (<usize>n << 3), lo);
    store<u8>(len6 + <usize>n, <u8>len);
    store<i32>(parent6 + (<usize>n << 2), sp > 0 ? unchecked(stack[sp - 1]) : -1);
    store<u32>(first6 + (<usize>n << 2), m);
    unchecked(stack[sp++] = n);
    n++;
    store<u32>(ord6 + (<usize>m << 2), g);
    m++;
  }
  store<u32>(first6 + (<usize>n << 2), m);
  heap.free(recs);
  n6 = n;

  let x = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    while (x < n && <u32>(load<u64>(hi6 + (<usize>x << 3)) >> 48) < <u32>b) x++;
    store<u32>(bucketFirst6 + (<usize>b << 2), x);
  }
  for (let y = 0; y < n; y++) {
    const len = <u32>load<u8>(len6 + <usize>y);
    if (len >= 16) continue;
    const h = load<u64>(hi6 + (<usize>y << 3));
    const from = <u32>(h >> 48);
    const to = <u32>((h | ~maskHi(len)) >> 48);
    for (let b = from; b <= to; b++) store<i32>(bucketCover6 + (<usize>b << 2), y);
  }
}

/** The innermost IPv4 node covering `a`, or -1. */
export function lookup4(a: u32): i32 {
  const b = <usize>(a >>> 16);
  let lo = load<i32>(bucketFirst4 + (b << 2));
  let hi = load<i32>(bucketFirst4 + (b << 2), 4);
  if (lo == hi || load<u32>(start4 + (<usize>lo << 2)) > a) return load<i32>(bucketCover4 + (b << 2));
  // The last node of the bucket starting at or before a.
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (load<u32>(start4 + (<usize>mid << 2)) <= a) lo = mid;
    else hi = mid;
  }
  let x = lo;
  while (x >= 0 && ((a ^ load<u32>(start4 + (<usize>x << 2))) & mask4(load<u8>(len4 + <usize>x))) != 0) {
    x = load<i32>(parent4 + (<usize>x << 2));
  }
  return x;
}

@inline function before6(x: i32, hi: u64, lo: u64): bool {
  const h = load<u64>(hi6 + (<usize>x << 3));
  return h < hi || (h == hi && load<u64>(lo6 + (<usize>x << 3)) <= lo);
}

/** The innermost IPv6 node covering hi:lo, or -1. */
export function lookup6(hi: u64, lo: u64): i32 {
  const b = <usize>(hi >> 48);
  let l = load<i32>(bucketFirst6 + (b << 2));
  let h = load<i32>(bucketFirst6 + (b << 2), 4);
  if (l == h || !before6(l, hi, lo)) return load<i32>(bucketCover6 + (b << 2));
  while (h - l > 1) {
    const mid = (l + h) >>> 1;
    if (before6(mid, hi, lo)) l = mid;
    else h = mid;
  }
  let x = l;
  while (x >= 0) {
    const len = <u32>load<u8>(len6 + <usize>x);
    if (((hi ^ load<u64>(hi6 + (<usize>x << 3))) & maskHi(len)) == 0 &&
        ((lo ^ load<u64>(lo6 + (<usize>x << 3))) & maskLo(len)) == 0) break;
    x = load<i32>(parent6 + (<usize>x << 2));
  }
  return x;
}

/** Linear memory the table holds (for the benchmark's figure). */
export function tableBytes(): i32 {
  return n4 * 13 + n6 * 25 + (BUCKETS * 16);
}
