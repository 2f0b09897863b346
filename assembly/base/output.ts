// The output side: one growable byte buffer that every ABI drains after each call, and the
// JSON-writing primitives the ECS writer uses. Capacity is reserved once per record (reserve), so
// the put* functions below never check bounds on the hot path.
import { Lit, nextCapacity, firstMarkedByte } from "./bytes";
import { validSequenceLength, maximalInvalidPrefix } from "./utf8";

export let outBuf: usize = heap.alloc(65536);
export let outCap: i32 = 65536;
export let outPos: i32 = 0;

export function outReset(): void {
  outPos = 0;
}

/** Makes room for `extra` more bytes. May move the buffer: callers re-read outBuf after it. */
export function reserve(extra: i32): void {
  // The slack lets putEscaped store whole blocks before it looks at them.
  const need = outPos + extra + 64;
  if (need <= outCap) return;
  const cap = nextCapacity(outCap, need);
  outBuf = heap.realloc(outBuf, <usize>cap);
  outCap = cap;
}

/** An upper bound of what one record of `len` input bytes can become: every byte escaped to
 * \u00XX (6x) in `message`, plus the fields, which are slices of the input written at most
 * three times each (ip, address, related.ip), plus the fixed keys. */
export function worstCaseOutput(len: i32): i32 {
  return len * 6 + len * 18 + 2048;
}

/** Where the next byte goes; writers that keep the position in a local start from here and
 * hand it back with setOutputEnd. */
@inline export function outputEnd(): usize {
  return outBuf + <usize>outPos;
}

@inline export function setOutputEnd(o: usize): void {
  outPos = <i32>(o - outBuf);
}

/** Copies n bytes (regions never overlap here): memory.copy is one instruction for WAMR's
 * interpreter (a native memmove), where a loop of loads and stores costs many; V8 compiles
 * memory.copy to a call, which the short copies of copyBytes beat. */
@inline export function copySpan(dst: usize, src: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) copyBytes(dst, src, n);
  else memory.copy(dst, src, <usize>n);
}

@inline export function put(b: u32): void {
  store<u8>(outBuf + outPos, <u8>b);
  outPos++;
}

@inline export function putLit(l: Lit): void {
  copySpan(outBuf + outPos, l.ptr, l.len);
  outPos += l.len;
}

@inline export function putBytes(ptr: usize, len: i32): void {
  copySpan(outBuf + outPos, ptr, len);
  outPos += len;
}

/** n copies of byte b. */
export function putRepeated(b: u32, n: i32): void {
  memory.fill(outBuf + <usize>outPos, <u8>b, <usize>n);
  outPos += n;
}

/** memory.copy is a call into the engine's runtime (V8, WAMR): for the short runs a record is
 * made of, plain loads and stores are several times faster. Short lengths are copied as two
 * overlapping words, with no loop. Regions never overlap here. */
@inline export function copyBytes(dst: usize, src: usize, len: i32): void {
  const n = <usize>len;
  if (ASC_FEATURE_SIMD) {
    if (n >= 16) {
      if (n > 64) {
        memory.copy(dst, src, n);
        return;
      }
      let i: usize = 0;
      for (; i + 16 < n; i += 16) v128.store(dst + i, v128.load(src + i));
      v128.store(dst + n - 16, v128.load(src + n - 16));
      return;
    }
  } else if (n >= 16) {
    if (n > 64) {
      memory.copy(dst, src, n);
      return;
    }
    let i: usize = 0;
    for (; i + 8 < n; i += 8) store<u64>(dst + i, load<u64>(src + i));
    store<u64>(dst + n - 8, load<u64>(src + n - 8));
    return;
  }
  if (n >= 8) {
    store<u64>(dst, load<u64>(src));
    store<u64>(dst + n - 8, load<u64>(src + n - 8));
  } else if (n >= 4) {
    store<u32>(dst, load<u32>(src));
    store<u32>(dst + n - 4, load<u32>(src + n - 4));
  } else if (n > 0) {
    store<u8>(dst, load<u8>(src));
    store<u8>(dst + n - 1, load<u8>(src + n - 1));
    if (n == 3) store<u8>(dst + 1, load<u8>(src + 1));
  }
}

// "00".."99": two digits per division.
const DIGIT_PAIRS: usize = memory.data(200);
for (let i = 0; i < 100; i++) {
  store<u8>(DIGIT_PAIRS + <usize>(i * 2), <u8>(0x30 + i / 10));
  store<u8>(DIGIT_PAIRS + <usize>(i * 2 + 1), <u8>(0x30 + i % 10));
}

export function putU64(v: u64): void {
  setOutputEnd(numberAt(outputEnd(), v));
}

/** Writes v in decimal at o; returns the position after it. Ports and most counters are below
 * 100,000: those are written inline, two digits at a time, without a loop or a call. */
@inline export function numberAt(o: usize, v: u64): usize {
  if (v >= 100000) return u64At(o, v);
  const w = <u32>v;
  if (w < 100) {
    if (w < 10) {
      store<u8>(o, <u8>(0x30 + w));
      return o + 1;
    }
    store<u16>(o, load<u16>(DIGIT_PAIRS + <usize>(w << 1)));
    return o + 2;
  }
  const high = w / 100;
  const low = w - high * 100;
  if (high < 10) {
    store<u8>(o, <u8>(0x30 + high));
    o++;
  } else if (high < 100) {
    store<u16>(o, load<u16>(DIGIT_PAIRS + <usize>(high << 1)));
    o += 2;
  } else {
    const top = high / 100;
    store<u8>(o, <u8>(0x30 + top));
    store<u16>(o + 1, load<u16>(DIGIT_PAIRS + <usize>((high - top * 100) << 1)));
    o += 3;
  }
  store<u16>(o, load<u16>(DIGIT_PAIRS + <usize>(low << 1)));
  return o + 2;
}

/** Writes v in decimal at o; returns the position after it. */
export function u64At(o: usize, v: u64): usize {
  // Digits are produced backwards into a scratch area past the write position, then moved.
  // Ports and most counters fit 32 bits, where division is cheaper.
  let n = 0;
  const tmp = o + 24;
  while (v > 0xffffffff) {
    store<u8>(tmp + 23 - n, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
    n++;
  }
  let w = <u32>v;
  while (w >= 100) {
    const pair = w % 100;
    w /= 100;
    store<u16>(tmp + 22 - n, load<u16>(DIGIT_PAIRS + <usize>(pair * 2)));
    n += 2;
  }
  if (w >= 10) {
    store<u16>(tmp + 22 - n, load<u16>(DIGIT_PAIRS + <usize>(w * 2)));
    n += 2;
  } else {
    store<u8>(tmp + 23 - n, <u8>(0x30 + w));
    n++;
  }
  copyBytes(o, tmp + 24 - n, n);
  return o + <usize>n;
}

// Which bytes need attention inside a JSON string: 1 = escape it, 2 = 0xED (a possible
// WTF-8 lone surrogate that came from a \uD8xx escape), 0 = copy as is.
const ESCAPE_CLASS: usize = memory.data<u8>([
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,2,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
]);

const HEX: usize = memory.data<u8>([0x30,0x31,0x32,0x33,0x34,0x35,0x36,0x37,0x38,0x39,0x61,0x62,0x63,0x64,0x65,0x66]);

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** For 8 bytes at once: a nonzero mask whose lowest set bit marks the first byte that needs
 * attention (a quote, a backslash, a control character or 0xED). Higher bits may be spurious
 * (borrows), the lowest never is. */
@inline function specialBytes(x: u64): u64 {
  const lt20 = (x - 0x2020202020202020) & ~x;
  const q = x ^ 0x2222222222222222;
  const b = x ^ 0x5c5c5c5c5c5c5c5c;
  const e = x ^ 0xedededededededed;
  return (lt20 | ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((e - ONES) & ~e)) & HIGHS;
}

// For each pattern of quotes/backslashes among 8 bytes, the shuffle that writes the 8 bytes
// with a backslash before each marked one: lanes 0-7 are the bytes, lane 8 is a backslash.
const BACKSLASH_SHUFFLES: usize = memory.data(256 * 16);
for (let m = 0; m < 256; m++) {
  let j = 0;
  for (let i = 0; i < 8; i++) {
    if ((m >> i) & 1) store<u8>(BACKSLASH_SHUFFLES + <usize>(m * 16 + j++), 8);
    store<u8>(BACKSLASH_SHUFFLES + <usize>(m * 16 + j++), <u8>i);
  }
  for (; j < 16; j++) store<u8>(BACKSLASH_SHUFFLES + <usize>(m * 16 + j), 8);
}

@inline function insertBackslashes(o: usize, bytes: u64, marks: i32): usize {
  if (ASC_FEATURE_SIMD) {
    if (marks == 0) {
      store<u64>(o, bytes);
      return o + 8;
    }
    const src = i64x2.replace_lane(i8x16.splat(0x5c), 0, bytes);
    v128.store(o, i8x16.swizzle(src, v128.load(BACKSLASH_SHUFFLES + <usize>(marks << 4))));
    return o + 8 + <usize>popcnt(marks);
  }
  return o;
}

/** Writes bytes as the inside of a JSON string. Input is valid UTF-8, or WTF-8 where a lone
 * surrogate came from an escape: those are written back as \udxxx, like JSON.stringify.
 * Blocks are stored whole before they are checked (reserve keeps slack for that), and the
 * write cursor then advances only past the bytes that needed nothing. */
export function putEscaped(ptr: usize, len: i32): void {
  let p = ptr;
  const end = ptr + <usize>len;
  let o = outBuf + <usize>outPos;
  while (true) {
    if (ASC_FEATURE_SIMD) {
      const quote = i8x16.splat(0x22);
      const backslash = i8x16.splat(0x5c);
      const ed = i8x16.splat(<i8>0xed);
      const space = i8x16.splat(0x20);
      while (p + 16 <= end) {
        const v = v128.load(p);
        v128.store(o, v);
        const quotes = i8x16.bitmask(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)));
        const others = i8x16.bitmask(v128.or(i8x16.eq(v, ed), i8x16.lt_u(v, space)));
        if (others != 0) {
          // A control character or 0xED: up to it as usual, then the byte-wise path below.
          const k = <usize>ctz(quotes | others);
          p += k;
          o += k;
          break;
        }
        if (quotes == 0) {
          p += 16;
          o += 16;
          continue;
        }
        // Only quotes and backslashes (a raw event's `message` is full of them): each half
        // block gets its backslashes inserted by one shuffle from a table of the 256 patterns.
        o = insertBackslashes(o, i64x2.extract_lane(v, 0), quotes & 0xff);
        o = insertBackslashes(o, i64x2.extract_lane(v, 1), quotes >> 8);
        p += 16;
      }
    } else {
      while (p + 8 <= end) {
        const x = load<u64>(p);
        store<u64>(o, x);
        const mask = specialBytes(x);
        if (mask != 0) {
          const k = firstMarkedByte(mask);
          p += k;
          o += k;
          break;
        }
        p += 8;
        o += 8;
      }
    }
    if (p >= end) break;
    const c = <u32>load<u8>(p);
    const cls = load<u8>(ESCAPE_CLASS + <usize>c);
    if (cls == 0) {
      store<u8>(o++, <u8>c);
      p++;
      continue;
    }
    if (cls == 2) {
      const c1 = p + 1 < end ? <u32>load<u8>(p + 1) : 0;
      if (c1 >= 0xa0 && c1 <= 0xbf && p + 2 < end) {
        o = unicodeEscapeAt(o, 0xd000 | ((c1 & 0x3f) << 6) | (<u32>load<u8>(p + 2) & 0x3f));
        p += 3;
      } else {
        store<u8>(o++, <u8>c);
        p++;
      }
      continue;
    }
    let short: u32 = 0;
    switch (c) {
      case 0x22: short = 0x22; break;
      case 0x5c: short = 0x5c; break;
      case 0x08: short = 0x62; break;
      case 0x0c: short = 0x66; break;
      case 0x0a: short = 0x6e; break;
      case 0x0d: short = 0x72; break;
      case 0x09: short = 0x74; break;
    }
    if (short != 0) {
      store<u8>(o, 0x5c);
      store<u8>(o + 1, <u8>short);
      o += 2;
    } else {
      o = unicodeEscapeAt(o, c);
    }
    p++;
  }
  outPos = <i32>(o - outBuf);
}

function unicodeEscapeAt(o: usize, cp: u32): usize {
  store<u8>(o, 0x5c);
  store<u8>(o + 1, 0x75);
  store<u8>(o + 2, load<u8>(HEX + ((cp >> 12) & 15)));
  store<u8>(o + 3, load<u8>(HEX + ((cp >> 8) & 15)));
  store<u8>(o + 4, load<u8>(HEX + ((cp >> 4) & 15)));
  store<u8>(o + 5, load<u8>(HEX + (cp & 15)));
  return o + 6;
}

/** Writes arbitrary bytes as the inside of a JSON string, replacing each maximal invalid UTF-8
 * subsequence with U+FFFD exactly as the WHATWG decoder (TextDecoder) does. For error events,
 * whose raw input may not be UTF-8 at all. */
export function putEscapedRepaired(ptr: usize, len: i32): void {
  const end = ptr + <usize>len;
  let p = ptr;
  let runStart = p;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c < 0x80) { p++; continue; }
    const n = validSequenceLength(p, end);
    if (n > 0) { p += n; continue; }
    putEscaped(runStart, <i32>(p - runStart));
    put(0xef); put(0xbf); put(0xbd);
    p += <usize>maximalInvalidPrefix(p, end);
    runStart = p;
  }
  putEscaped(runStart, <i32>(p - runStart));
}

// The put* functions can write into another buffer for a while: the blob splitter builds each
// flattened event apart from the output, then maps it into the output.
export class ByteBuffer {
  ptr: usize = heap.alloc(4096);
  cap: i32 = 4096;
  len: i32 = 0;

  /** Appends n bytes, growing the buffer, but never past `limit` bytes in all. */
  append(from: usize, n: i32, limit: i32): void {
    const room = limit - this.len;
    if (n > room) n = room;
    if (n <= 0) return;
    if (this.len + n > this.cap) {
      this.cap = nextCapacity(this.cap, this.len + n);
      this.ptr = heap.realloc(this.ptr, <usize>this.cap);
    }
    memory.copy(this.ptr + <usize>this.len, from, <usize>n);
    this.len += n;
  }
}

let savedBuf: usize = 0;
let savedCap: i32 = 0;
let savedPos: i32 = 0;

/** Makes `b` the write target (appending after its current content) until restoreOutput. */
export function redirectOutput(b: ByteBuffer): void {
  savedBuf = outBuf;
  savedCap = outCap;
  savedPos = outPos;
  outBuf = b.ptr;
  outCap = b.cap;
  outPos = b.len;
}

export function restoreOutput(b: ByteBuffer): void {
  b.ptr = outBuf;
  b.cap = outCap;
  b.len = outPos;
  outBuf = savedBuf;
  outCap = savedCap;
  outPos = savedPos;
}

// Output lines written and how many of them are error events, over the instance's life: the
// ABIs report the difference across a call.
export let linesOut: i32 = 0;
export let errorLinesOut: i32 = 0;

@inline export function countLine(isError: bool): void {
  linesOut++;
  if (isError) errorLinesOut++;
}
