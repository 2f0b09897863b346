// The lookup structure: every indicator of every set, IPv4 and IPv6 apart, answering "which
// indicators cover this address" in a few loads.
//
// CIDR prefixes are laminar: two are nested or disjoint. Sorted by (start, length) they form a
// forest in which each distinct prefix is a node whose parent is the innermost prefix holding
// it; the indicators of one prefix (several sets, several STIX objects) sit together in `ord`.
// For an address, the last node starting at or before it is either its innermost covering
// prefix or a node whose ancestors include every prefix covering it (a prefix covering the
// address starts at or before that node, so it holds that node): one binary search, then the
// parent chain, which lists every covering indicator, innermost first. A first-level index on
// the top 16 bits narrows the search to the nodes of one /16 (IPv6: of one top 16-bit group);
// a bucket with no node answers from `cover`, the innermost prefix wider than /16 holding it,
// without any search. Before all of it, a bitmap (below) lets out the addresses no indicator
// can cover, most flow addresses, after one load.
//
// Memory (the budget: a million indicators in 64 MiB, and AssemblyScript's heap doubles the
// whole linear memory whenever a block does not fit): the sort keys are sorted in place (an
// MSD radix sort, no second buffer), and the nodes are written over the sorted keys they come
// from (node i is written once key i has been read), so a load never holds its prefixes twice.
// A radix sort, not a comparison sort: linear in the number of keys, and a million keys spread
// over the first 16-bit digit leave buckets small enough for insertion sort.
import { IndicatorSet, sets, INDEX_BITS, INDEX_MASK, setOf, infoOf } from "./sets";
import { setIndicatorsLoaded } from "../../write/extras";
import { bitAt, setBitAt } from "../../base/bytes";

const BUCKETS = 65536;

// ---- IPv4: nodes are u64 start << 32 | length << 26 | (parent + 1) ---------------------------
export let n4: i32 = 0;
export let node4: usize = 0;
export let first4: usize = 0; // u32 per node + 1: node x's indicators are ord4[first4[x], first4[x+1])
export let ord4: usize = 0; // u32 global indicator numbers
const bucketFirst4: usize = heap.alloc((BUCKETS + 1) << 2);
const bucketCover4: usize = heap.alloc(BUCKETS << 2);

// ---- IPv6: nodes are 24 bytes, u64 high half, u64 low half, u32 length << 24 | (parent + 1),
// u32 first indicator in ord6 -------------------------------------------------------------------
export let n6: i32 = 0;
export let node6: usize = 0;
export let ord6: usize = 0;
export let ordLen6: i32 = 0;
const bucketFirst6: usize = heap.alloc((BUCKETS + 1) << 2);
const bucketCover6: usize = heap.alloc(BUCKETS << 2);

/** Whether any indicator is loaded: the mapper skips all of this when none is. */
export let anyIndicators: bool = false;

// ---- The no-match filter: one bit per IPv4 block and per IPv6 top 16-bit group ---------------
// A clear bit says that no indicator can cover an address there: no node starts in that block
// and none holds it whole, so the innermost covering node, which does one or the other, does not
// exist. About 99% of flow addresses match nothing, and with a million indicators the buckets are
// full enough (a dozen nodes a /16) that the search was most of their cost. The IPv4 blocks are
// /16s (8 KiB, always there) until the table has BIG4 nodes, then /24s (2 MiB, allocated then):
// 700,000 exact addresses touch about 5% of the public /24s but most /16s, while a feed of a few
// thousand lines leaves most /16s empty and is not worth 2 MiB of every instance's memory.
// `bits4Shift` is the block size. The IPv6 bits sit over the same top groups as the search
// buckets: a feed's IPv6 prefixes are in a few top groups, flows' mostly in others (fd00::/8,
// the cloud's own), and one group can be read from the text without parsing the address.
const BIG4 = 32768;
const BITS24_BYTES = 1 << 21;
const bits16: usize = heap.alloc(BUCKETS >> 3);
export let bits4: usize = bits16;
let bits4Shift: u32 = 16;
const bits6: usize = heap.alloc(BUCKETS >> 3);

memory.fill(bits16, 0, BUCKETS >> 3);
memory.fill(bits6, 0, BUCKETS >> 3);
memory.fill(bucketFirst4, 0, (BUCKETS + 1) << 2);
memory.fill(bucketCover4, 0xff, BUCKETS << 2);
memory.fill(bucketFirst6, 0, (BUCKETS + 1) << 2);
memory.fill(bucketCover6, 0xff, BUCKETS << 2);

/** False when no IPv4 indicator can cover `a`; true says only "maybe". */
@inline export function may4(a: u32): bool {
  return bitAt(bits4, a >>> bits4Shift);
}

/** False when no IPv6 indicator can cover an address whose top 16 bits are `top`. */
@inline export function may6(top: u32): bool {
  return bitAt(bits6, top);
}

@inline function mask4(len: u32): u32 {
  return len == 0 ? 0 : <u32>0xffffffff << (32 - len);
}

@inline function maskHi(len: u32): u64 {
  return len == 0 ? 0 : len >= 64 ? <u64>-1 : <u64>-1 << (64 - <u64>len);
}

@inline function maskLo(len: u32): u64 {
  return len <= 64 ? 0 : <u64>-1 << (128 - <u64>len);
}

// ---- Node accessors (write.ts walks the parent chains with these) -----------------------------

@inline export function start4Of(x: i32): u32 { return <u32>(load<u64>(node4 + (<usize>x << 3)) >> 32); }
@inline export function len4Of(x: i32): u32 { return (<u32>load<u64>(node4 + (<usize>x << 3)) >> INDEX_BITS) & 63; }
@inline export function parent4Of(x: i32): i32 { return <i32>(<u32>load<u64>(node4 + (<usize>x << 3)) & <u32>INDEX_MASK) - 1; }
@inline export function from4(x: i32): u32 { return load<u32>(first4 + (<usize>x << 2)); }
@inline export function to4(x: i32): u32 { return load<u32>(first4 + (<usize>x << 2), 4); }
@inline export function ord4At(k: u32): i32 { return load<i32>(ord4 + (<usize>k << 2)); }

@inline function node6At(x: i32): usize { return node6 + <usize>x * 24; }
@inline export function hi6Of(x: i32): u64 { return load<u64>(node6At(x)); }
@inline export function lo6Of(x: i32): u64 { return load<u64>(node6At(x), 8); }
@inline export function len6Of(x: i32): u32 { return load<u32>(node6At(x), 16) >> 24; }
@inline export function parent6Of(x: i32): i32 { return <i32>(load<u32>(node6At(x), 16) & 0xffffff) - 1; }
@inline export function from6(x: i32): u32 { return load<u32>(node6At(x), 20); }
@inline export function to6(x: i32): u32 { return x + 1 < n6 ? load<u32>(node6At(x + 1), 20) : <u32>ordLen6; }
@inline export function ord6At(k: u32): i32 { return load<i32>(ord6 + (<usize>k << 2)); }

// ---- Sorting in place ------------------------------------------------------------------------------

const SMALL = 32;

/** Whether record a sorts before record b (`words` u64 words compared in order). */
@inline function less(a: usize, b: usize, words: i32): bool {
  for (let w = 0; w < words; w++) {
    const x = load<u64>(a + (<usize>w << 3));
    const y = load<u64>(b + (<usize>w << 3));
    if (x != y) return x < y;
  }
  return false;
}

function swap(a: usize, b: usize, words: i32): void {
  for (let w = 0; w < words; w++) {
    const o = <usize>w << 3;
    const t = load<u64>(a + o);
    store<u64>(a + o, load<u64>(b + o));
    store<u64>(b + o, t);
  }
}

function insertionSort(p: usize, n: i32, words: i32): void {
  const rec = <usize>words << 3;
  for (let i = 1; i < n; i++) {
    let j = i;
    while (j > 0 && less(p + <usize>j * rec, p + <usize>(j - 1) * rec, words)) {
      swap(p + <usize>j * rec, p + <usize>(j - 1) * rec, words);
      j--;
    }
  }
}

/** The digit of `bits` bits whose lowest bit is `pos` (counted from the least significant bit
 * of the record's last word; the first word is the most significant). */
@inline function digitOf(r: usize, words: i32, pos: i32, bits: i32): u32 {
  const w = words - 1 - (pos >> 6);
  return <u32>(load<u64>(r + (<usize>w << 3)) >> <u64>(pos & 63)) & ((1 << bits) - 1);
}

/** Sorts n records of `words` u64 words in place (American flag sort), by the digit at `pos`
 * (16 bits at the top level, 8 below), then the next ones, insertion sort for small runs. */
function msdSort(p: usize, n: i32, words: i32, pos: i32, bits: i32): void {
  if (n <= SMALL || pos < 0) {
    insertionSort(p, n, words);
    return;
  }
  const rec = <usize>words << 3;
  const buckets = 1 << bits;
  const counts = heap.alloc(<usize>buckets << 3); // u32 next, u32 end per digit
  memory.fill(counts, 0, <usize>buckets << 3);
  for (let i = 0; i < n; i++) {
    const d = <usize>digitOf(p + <usize>i * rec, words, pos, bits);
    store<u32>(counts + (d << 3), load<u32>(counts + (d << 3)) + 1);
  }
  let sum: u32 = 0;
  for (let d = 0; d < buckets; d++) {
    const c = load<u32>(counts + (<usize>d << 3));
    store<u32>(counts + (<usize>d << 3), sum);
    sum += c;
    store<u32>(counts + (<usize>d << 3), sum, 4);
  }
  // Each record is swapped straight to the next free place of its digit's bucket.
  for (let d = 0; d < buckets; d++) {
    const end = load<u32>(counts + (<usize>d << 3), 4);
    let next = load<u32>(counts + (<usize>d << 3));
    while (next < end) {
      const here = p + <usize>next * rec;
      let e = <usize>digitOf(here, words, pos, bits);
      while (e != <usize>d) {
        const to = load<u32>(counts + (e << 3));
        store<u32>(counts + (e << 3), to + 1);
        swap(here, p + <usize>to * rec, words);
        e = <usize>digitOf(here, words, pos, bits);
      }
      next++;
      store<u32>(counts + (<usize>d << 3), next);
    }
  }
  // The buckets' ends are their starts now: recurse on each run of one digit.
  let from: u32 = 0;
  for (let d = 0; d < buckets; d++) {
    const end = load<u32>(counts + (<usize>d << 3), 4);
    if (end - from > 1) msdSort(p + <usize>from * rec, <i32>(end - from), words, pos - 8, 8);
    from = end;
  }
  heap.free(counts);
}

// ---- Building -------------------------------------------------------------------------------------

/** Whether global indicator `b` repeats `a` (the indicator kept before it under the same
 * prefix): the same set and, in a STIX set, the same object. See DEVELOPERS.md. */
function repeats(a: i32, b: i32): bool {
  const s = setOf(a);
  if (setOf(b) !== s) return false;
  if (!s.stix) return true;
  return infoOf(s, a) == infoOf(s, b);
}

function freeIf(p: usize): void {
  if (p != 0) heap.free(p);
}

// The sets as the table last numbered them: old global numbers map back to (set, number in it).
let builtSets = new Array<IndicatorSet>();
let builtBases = new Array<i32>();

/** The new global number of old global number `g`, or -1 when its set is gone. */
function renumber(g: i32): i32 {
  let i = builtSets.length - 1;
  while (i > 0 && unchecked(builtBases[i]) > g) i--;
  const s = unchecked(builtSets[i]);
  return s.live ? s.base + (g - unchecked(builtBases[i])) : -1;
}

/** Rebuilds the whole table from `sets`: the prefixes of sets already in it are read back from
 * the current table, the new sets' from their parse buffers (then given back). Each set's
 * `base` (its first global number) is set here, and the new sets' `duplicates`. */
export function buildTable(): void {
  let base = 0;
  let fresh = 0;
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    s.base = base;
    base += s.count;
    if (!s.built) {
      s.duplicates = 0;
      fresh++;
    }
  }
  build4();
  build6();
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    s.built = true;
    s.k4.free();
    s.k6.free();
  }
  builtSets = sets.slice();
  builtBases = new Array<i32>(sets.length);
  for (let i = 0; i < sets.length; i++) unchecked(builtBases[i] = unchecked(sets[i]).base);
  anyIndicators = n4 + n6 > 0;
  // The mapper stops calling enrich/event.ts when nothing is loaded (write/extras.ts).
  setIndicatorsLoaded(anyIndicators);
}

/** The keys of one family: the table's own and the new sets' (renumbered), in one block. When
 * the table is empty and one new set has keys, its parse buffer is taken as it is. */
function gather(words: i32, fromTable: i32, k4: bool): usize {
  const rec = <usize>words << 3;
  let total = fromTable;
  let only: IndicatorSet | null = null;
  let sources = 0;
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    if (s.built) continue;
    const b = k4 ? s.k4 : s.k6;
    if (b.len == 0) continue;
    total += b.len / <i32>rec;
    only = s;
    sources++;
  }
  gathered = total;
  if (total == 0) return 0;
  if (fromTable == 0 && sources == 1) {
    // Taken over: renumbered in place.
    const s = changetype<IndicatorSet>(only);
    const b = k4 ? s.k4 : s.k6;
    const p = b.ptr;
    for (let i = 0; i < total; i++) {
      const w = p + <usize>i * rec + rec - 8;
      store<u64>(w, load<u64>(w) + <u64>s.base);
    }
    b.ptr = 0;
    b.len = 0;
    b.cap = 0;
    return p;
  }
  const keys = heap.alloc(<usize>total * rec);
  let at = keys;
  if (k4) {
    for (let x = 0; x < n4; x++) {
      const prefix = (<u64>start4Of(x) << 32) | (<u64>len4Of(x) << INDEX_BITS);
      for (let k = from4(x); k < to4(x); k++) {
        const g = renumber(ord4At(k));
        if (g < 0) continue;
        store<u64>(at, prefix | <u64>g);
        at += 8;
      }
    }
  } else {
    for (let x = 0; x < n6; x++) {
      const len = <u64>len6Of(x) << INDEX_BITS;
      for (let k = from6(x); k < to6(x); k++) {
        const g = renumber(ord6At(k));
        if (g < 0) continue;
        store<u64>(at, hi6Of(x));
        store<u64>(at, lo6Of(x), 8);
        store<u64>(at, len | <u64>g, 16);
        at += 24;
      }
    }
  }
  for (let i = 0; i < sets.length; i++) {
    const s = unchecked(sets[i]);
    if (s.built) continue;
    const b = k4 ? s.k4 : s.k6;
    const n = b.len / <i32>rec;
    for (let j = 0; j < n; j++) {
      const r = b.ptr + <usize>j * rec;
      memory.copy(at, r, rec);
      store<u64>(at + rec - 8, load<u64>(at + rec - 8) + <u64>s.base);
      at += rec;
    }
    b.free();
  }
  gathered = <i32>((at - keys) / rec);
  return keys;
}

let gathered = 0;

function build4(): void {
  const keys = gather(1, n4 > 0 ? <i32>to4(n4 - 1) : 0, true);
  const total = gathered;
  freeIf(node4); freeIf(first4); freeIf(ord4);
  node4 = first4 = ord4 = 0;
  n4 = 0;
  memory.fill(bucketFirst4, 0, (BUCKETS + 1) << 2);
  memory.fill(bucketCover4, 0xff, BUCKETS << 2);
  if (total == 0) {
    freeIf(keys);
    useBits4(false);
    return;
  }
  // By start, length, then global number: one prefix's indicators in set order, then file order.
  msdSort(keys, total, 1, 48, 16);

  first4 = heap.alloc((<usize>total + 1) << 2);
  ord4 = heap.alloc(<usize>total << 2);
  node4 = keys; // node x is written over key x, once keys up to x have been read
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
      if (repeats(ord4At(m - 1), g)) { setOf(g).duplicates++; continue; }
      store<u32>(ord4 + (<usize>m << 2), g);
      m++;
      continue;
    }
    lastPrefix = prefix;
    const start = <u32>(k >> 32);
    const len = <u32>(k >> INDEX_BITS) & 63;
    while (sp > 0) {
      const top = unchecked(stack[sp - 1]);
      if (((start ^ start4Of(top)) & mask4(len4Of(top))) == 0) break;
      sp--;
    }
    const parent = sp > 0 ? unchecked(stack[sp - 1]) : -1;
    store<u64>(keys + (<usize>n << 3), (<u64>start << 32) | (<u64>len << INDEX_BITS) | <u64>(parent + 1));
    store<u32>(first4 + (<usize>n << 2), m);
    unchecked(stack[sp++] = n);
    n++;
    store<u32>(ord4 + (<usize>m << 2), g);
    m++;
  }
  store<u32>(first4 + (<usize>n << 2), m);
  n4 = n;
  node4 = heap.realloc(keys, <usize>n << 3);
  first4 = heap.realloc(first4, (<usize>n + 1) << 2);
  ord4 = heap.realloc(ord4, <usize>m << 2);

  let x = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    while (x < n && (start4Of(x) >>> 16) < <u32>b) x++;
    store<u32>(bucketFirst4 + (<usize>b << 2), x);
  }
  for (let y = 0; y < n; y++) {
    const len = len4Of(y);
    if (len >= 16) continue;
    const s = start4Of(y);
    const from = s >>> 16;
    const to = (s | ~mask4(len)) >>> 16;
    for (let b = from; b <= to; b++) store<i32>(bucketCover4 + (<usize>b << 2), y);
  }

  // Allocated last, when the sort's and the parse buffers' blocks are free again.
  useBits4(n >= BIG4);
  const blockBits: u32 = 32 - bits4Shift;
  for (let y = 0; y < n; y++) {
    const len = len4Of(y);
    const from = start4Of(y) >>> bits4Shift;
    if (len >= blockBits) {
      setBitAt(bits4, from);
    } else if (len + 3 <= blockBits) {
      // At least 8 blocks, aligned on their count: whole bytes.
      memory.fill(bits4 + <usize>(from >>> 3), 0xff, <usize>1 << (blockBits - 3 - len));
    } else {
      for (let b = from; b < from + (<u32>1 << (blockBits - len)); b++) setBitAt(bits4, b);
    }
  }
}

/** Points the IPv4 filter at /24 bits (allocated) or /16 bits, cleared. */
function useBits4(big: bool): void {
  if (big) {
    if (bits4 == bits16) bits4 = heap.alloc(BITS24_BYTES);
    bits4Shift = 8;
    memory.fill(bits4, 0, BITS24_BYTES);
  } else {
    if (bits4 != bits16) heap.free(bits4);
    bits4 = bits16;
    bits4Shift = 16;
    memory.fill(bits4, 0, BUCKETS >> 3);
  }
}

function build6(): void {
  const recs = gather(3, n6 > 0 ? ordLen6 : 0, false);
  const total = gathered;
  freeIf(node6); freeIf(ord6);
  node6 = ord6 = 0;
  n6 = 0;
  ordLen6 = 0;
  memory.fill(bucketFirst6, 0, (BUCKETS + 1) << 2);
  memory.fill(bucketCover6, 0xff, BUCKETS << 2);
  memory.fill(bits6, 0, BUCKETS >> 3);
  if (total == 0) {
    freeIf(recs);
    return;
  }
  msdSort(recs, total, 3, 176, 16);

  ord6 = heap.alloc(<usize>total << 2);
  node6 = recs;
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
    if (n > 0 && hi6Of(n - 1) == hi && lo6Of(n - 1) == lo && len6Of(n - 1) == len) {
      if (repeats(ord6At(m - 1), g)) { setOf(g).duplicates++; continue; }
      store<u32>(ord6 + (<usize>m << 2), g);
      m++;
      continue;
    }
    while (sp > 0) {
      const top = unchecked(stack[sp - 1]);
      const tl = len6Of(top);
      if (((hi ^ hi6Of(top)) & maskHi(tl)) == 0 && ((lo ^ lo6Of(top)) & maskLo(tl)) == 0) break;
      sp--;
    }
    const parent = sp > 0 ? unchecked(stack[sp - 1]) : -1;
    const o = node6At(n);
    store<u64>(o, hi);
    store<u64>(o, lo, 8);
    store<u32>(o, (len << 24) | <u32>(parent + 1), 16);
    store<u32>(o, m, 20);
    unchecked(stack[sp++] = n);
    n++;
    store<u32>(ord6 + (<usize>m << 2), g);
    m++;
  }
  n6 = n;
  ordLen6 = m;
  node6 = heap.realloc(recs, <usize>n * 24);
  ord6 = heap.realloc(ord6, <usize>m << 2);

  let x = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    while (x < n && <u32>(hi6Of(x) >> 48) < <u32>b) x++;
    store<u32>(bucketFirst6 + (<usize>b << 2), x);
  }
  for (let y = 0; y < n; y++) {
    const len = len6Of(y);
    if (len >= 16) continue;
    const h = hi6Of(y);
    const from = <u32>(h >> 48);
    const to = <u32>((h | ~maskHi(len)) >> 48);
    for (let b = from; b <= to; b++) store<i32>(bucketCover6 + (<usize>b << 2), y);
  }
  for (let b: u32 = 0; b < <u32>BUCKETS; b++) {
    const p = bucketFirst6 + (<usize>b << 2);
    if (load<u32>(p) != load<u32>(p, 4) || load<i32>(bucketCover6 + (<usize>b << 2)) >= 0) setBitAt(bits6, b);
  }
}

// ---- Lookups ------------------------------------------------------------------------------------------

/** The innermost IPv4 node covering `a`, or -1. */
export function lookup4(a: u32): i32 {
  if (!may4(a)) return -1;
  const b = <usize>(a >>> 16);
  let lo = load<i32>(bucketFirst4 + (b << 2));
  let hi = load<i32>(bucketFirst4 + (b << 2), 4);
  // A node value is at most `key` exactly when the node starts at or before a.
  const key = (<u64>a << 32) | 0xffffffff;
  if (lo == hi || load<u64>(node4 + (<usize>lo << 3)) > key) return load<i32>(bucketCover4 + (b << 2));
  // The last node of the bucket starting at or before a.
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (load<u64>(node4 + (<usize>mid << 3)) <= key) lo = mid;
    else hi = mid;
  }
  let x = lo;
  while (x >= 0) {
    const v = load<u64>(node4 + (<usize>x << 3));
    if (((a ^ <u32>(v >> 32)) & mask4((<u32>v >> INDEX_BITS) & 63)) == 0) break;
    x = <i32>(<u32>v & <u32>INDEX_MASK) - 1;
  }
  return x;
}

@inline function before6(x: i32, hi: u64, lo: u64): bool {
  const h = hi6Of(x);
  return h < hi || (h == hi && lo6Of(x) <= lo);
}

/** The innermost IPv6 node covering hi:lo, or -1. */
export function lookup6(hi: u64, lo: u64): i32 {
  if (!may6(<u32>(hi >> 48))) return -1;
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
    const len = len6Of(x);
    if (((hi ^ hi6Of(x)) & maskHi(len)) == 0 && ((lo ^ lo6Of(x)) & maskLo(len)) == 0) break;
    x = parent6Of(x);
  }
  return x;
}
