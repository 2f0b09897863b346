// The loaded indicator sets, each under its feed's name, as parsed: the lookup table
// (table.ts) is built from all of them together, and is rebuilt whenever one is added or
// replaced, so that a set can be swapped (a feed file that changed) without touching the others.
import { Buf } from "./buf";

/** Bits of an indicator's number within a sort key: the number rides in the key's low bits so
 * that a stable radix sort on the prefix alone keeps the indicators of one prefix in load order. */
export const INDEX_BITS: u32 = 26;
export const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/** 67 million indicators in all: far above any feed, and the 64 MiB budget is spent long before. */
export const MAX_INDICATORS: i32 = 1 << INDEX_BITS;

// ECS threat.indicator.confidence keywords (STIX 2.1 Appendix A, None/Low/Med/High scale).
export const CONF_ABSENT: u8 = 0;
export const CONF_NONE: u8 = 1;
export const CONF_LOW: u8 = 2;
export const CONF_MEDIUM: u8 = 3;
export const CONF_HIGH: u8 = 4;

export class IndicatorSet {
  name: string;
  /** The name as UTF-8, for the writer. */
  nameBytes: Buf = new Buf();
  /** STIX sets may hold one prefix under two objects (two ids); lists may not (see table.ts). */
  stix: bool = false;
  /** IPv4 prefixes: u64 start << 32 | length << INDEX_BITS | number within the set. */
  k4: Buf = new Buf();
  /** IPv6 prefixes: three u64 each, high half, low half, length << INDEX_BITS | number. */
  k6: Buf = new Buf();
  /** For the indicators that have details, in their order: u32 number within the set, u32
   * offset + 1 of the details in `arena`. Most lists have none (Tor, FireHOL): a dense array
   * would cost 4 bytes an indicator for nothing, and it is only read when an event matched. */
  info: Buf = new Buf();
  /** Details: u32 description length, description, u32 id length, id, u8 confidence. */
  arena: Buf = new Buf();
  count: i32 = 0;
  /** The global number of its first indicator (table.ts). */
  base: i32 = 0;
  /** Indicators that repeated one already in the set, found when the table was built. */
  duplicates: i32 = 0;
  /** Whether its prefixes are in the table (and k4/k6 given back): a later rebuild reads them
   * from the table, so a loaded set costs no second copy of its prefixes. */
  built: bool = false;
  /** False once the set is replaced or removed. */
  live: bool = true;

  constructor(name: string) {
    this.name = name;
    this.nameBytes.pushString(name);
  }

  /** Details shared by the indicators that follow (a STIX object, a commented list line);
   * returns the value to pass to add4/add6. */
  addInfo(desc: usize, descLen: i32, id: usize, idLen: i32, confidence: u8): u32 {
    if (descLen == 0 && idLen == 0 && confidence == CONF_ABSENT) return 0;
    const at = this.arena.len;
    this.arena.pushU32(<u32>descLen);
    this.arena.pushBytes(desc, descLen);
    this.arena.pushU32(<u32>idLen);
    this.arena.pushBytes(id, idLen);
    this.arena.pushU8(confidence);
    return <u32>at + 1;
  }

  private addInfoOf(info: u32): void {
    if (info == 0) return;
    this.info.pushU32(<u32>this.count);
    this.info.pushU32(info);
  }

  add4(start: u32, len: i32, info: u32): void {
    this.k4.pushU64((<u64>start << 32) | (<u64>len << INDEX_BITS) | <u64>this.count);
    this.addInfoOf(info);
    this.count++;
  }

  add6(hi: u64, lo: u64, len: i32, info: u32): void {
    this.k6.pushU64(hi);
    this.k6.pushU64(lo);
    this.k6.pushU64((<u64>len << INDEX_BITS) | <u64>this.count);
    this.addInfoOf(info);
    this.count++;
  }

  /** Gives back the room the buffers grew into beyond what they hold. */
  trim(): void {
    this.k4.trim();
    this.k6.trim();
    this.info.trim();
    this.arena.trim();
  }

  free(): void {
    this.live = false;
    this.nameBytes.free();
    this.k4.free();
    this.k6.free();
    this.info.free();
    this.arena.free();
    this.count = 0;
  }
}

export const sets = new Array<IndicatorSet>();

/** Changes whenever the sets change (a set loaded or replaced): the hosts and, later, a reload
 * compare it to tell whether what they mapped with is still current. */
export let generation: u32 = 0;

export function bumpGeneration(): void { generation++; }

export function totalIndicators(): i32 {
  let n = 0;
  for (let i = 0; i < sets.length; i++) n += unchecked(sets[i]).count;
  return n;
}

export function findSet(name: string): i32 {
  for (let i = 0; i < sets.length; i++) if (unchecked(sets[i]).name == name) return i;
  return -1;
}

/** The set holding global indicator number `g` (sets are few: a short walk). */
export function setOf(g: i32): IndicatorSet {
  let s = unchecked(sets[0]);
  for (let i = 1; i < sets.length; i++) {
    const t = unchecked(sets[i]);
    if (t.base > g) break;
    s = t;
  }
  return s;
}

/** The details offset of global indicator `g` in `s` (0: none): a binary search, done only
 * for an indicator that matched. */
export function infoOf(s: IndicatorSet, g: i32): u32 {
  const local = <u32>(g - s.base);
  let lo = 0;
  let hi = s.info.len >> 3;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = load<u32>(s.info.ptr + (<usize>mid << 3));
    if (at == local) return load<u32>(s.info.ptr + (<usize>mid << 3), 4);
    if (at < local) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}
