// Byte-level helpers shared by the scanner, the tuple parser and the writers. Everything on the
// hot path works on (pointer, length) spans of UTF-8 bytes: no strings, no allocation.

/** A UTF-8 byte string encoded once at start-up, for keys and fixed values. */
export class Lit {
  constructor(public buf: ArrayBuffer, public ptr: usize, public len: i32) {}
}

export function lit(s: string): Lit {
  const buf = String.UTF8.encode(s);
  return new Lit(buf, changetype<usize>(buf), buf.byteLength);
}

/** "0123456789abcdef". */
export const HEX_DIGITS: usize = memory.data<u8>([0x30,0x31,0x32,0x33,0x34,0x35,0x36,0x37,0x38,0x39,0x61,0x62,0x63,0x64,0x65,0x66]);

@inline export function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

/** Bit `i` of the bitmap at `p` (bit i & 7 of byte i >> 3): the enrichments' "can anything
 * here match" filters. */
@inline export function bitAt(p: usize, i: u32): bool {
  return ((<u32>load<u8>(p + <usize>(i >> 3)) >> (i & 7)) & 1) != 0;
}

@inline export function setBitAt(p: usize, i: u32): void {
  const q = p + <usize>(i >> 3);
  store<u8>(q, <u32>load<u8>(q) | (<u32>1 << (i & 7)));
}

@inline export function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

@inline export function spanEquals(ptr: usize, len: i32, l: Lit): bool {
  return len == l.len && bytesEqual(ptr, l.ptr, len);
}

@inline export function spansEqual(a: usize, alen: i32, b: usize, blen: i32): bool {
  return alen == blen && bytesEqual(a, b, alen);
}

/** Equality of two byte runs of the same length: words, the last one overlapping, instead of
 * memory.compare's byte loop (keys and values here are short). */
export function bytesEqual(a: usize, b: usize, len: i32): bool {
  const n = <usize>len;
  if (n >= 8) {
    let i: usize = 0;
    for (; i + 8 < n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
    return load<u64>(a + n - 8) == load<u64>(b + n - 8);
  }
  if (n >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + n - 4) == load<u32>(b + n - 4);
  for (let i: usize = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/** Parses 1..maxDigits ASCII digits as an unsigned value; -1 when the span is anything else. */
export function parseSmallUint(ptr: usize, len: i32, maxDigits: i32): i64 {
  if (len < 1 || len > maxDigits) return -1;
  let v: i64 = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (!isDigit(c)) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}

// parseU64 reports overflow through this flag rather than a sentinel: every u64 is a valid counter.
export let u64Ok: bool = false;

/** Parses 1..20 ASCII digits into a u64; sets u64Ok=false when not digits or ≥ 2^64. */
export function parseU64(ptr: usize, len: i32): u64 {
  u64Ok = false;
  if (len < 1 || len > 20) return 0;
  let v: u64 = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (!isDigit(c)) return 0;
    const d = <u64>(c - 0x30);
    if (v > (<u64>0xFFFFFFFFFFFFFFFF - d) / 10) return 0;
    v = v * 10 + d;
  }
  u64Ok = true;
  return v;
}

/** The next capacity of a growable buffer that must hold `need` bytes (doubling). */
export function nextCapacity(cap: i32, need: i32): i32 {
  let c = cap < 4096 ? 4096 : cap;
  while (c < need) c = c < 0x20000000 ? c << 1 : c + 0x10000000;
  return c;
}

/** For a word of byte flags (only bits 0x80 of each byte may be set, the lowest set one marking
 * the byte wanted): that byte's index, 0-7. WAMR's interpreter computes ctz one bit at a time (a
 * loop of up to 64 steps per call), so the portable build isolates the lowest bit and reads its
 * position off a multiplication instead; the SIMD build (V8) keeps the single ctz instruction. */
@inline export function firstMarkedByte(mask: u64): usize {
  if (ASC_FEATURE_SIMD) return <usize>(ctz(mask) >> 3);
  return <usize>((((mask & (0 - mask)) >> 7) * 0x0001020304050607) >> 56);
}
