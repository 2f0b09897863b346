// The output side: one growable byte buffer that every ABI drains after each call, and the
// JSON-writing primitives the ECS writer uses. Capacity is reserved once per record (reserve), so
// the put* functions below never check bounds on the hot path.
import { Lit, nextCapacity } from "./bytes";
import { validSequenceLength, maximalInvalidPrefix } from "./utf8";

export let outBuf: usize = heap.alloc(65536);
export let outCap: i32 = 65536;
export let outPos: i32 = 0;

export function outReset(): void {
  outPos = 0;
}

/** Makes room for `extra` more bytes. May move the buffer: callers re-read outBuf after it. */
export function reserve(extra: i32): void {
  const need = outPos + extra;
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

@inline export function put(b: u32): void {
  store<u8>(outBuf + outPos, <u8>b);
  outPos++;
}

@inline export function putLit(l: Lit): void {
  copyBytes(outBuf + outPos, l.ptr, l.len);
  outPos += l.len;
}

@inline export function putBytes(ptr: usize, len: i32): void {
  copyBytes(outBuf + outPos, ptr, len);
  outPos += len;
}

/** memory.copy is a call into the engine's runtime (V8, WAMR): for the short runs a record is
 * made of, plain loads and stores are several times faster. Regions never overlap here. */
@inline export function copyBytes(dst: usize, src: usize, len: i32): void {
  if (len > 64) {
    memory.copy(dst, src, <usize>len);
    return;
  }
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= len; i += 16) v128.store(dst + i, v128.load(src + i));
  }
  for (; i + 8 <= len; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < len; i++) store<u8>(dst + i, load<u8>(src + i));
}

export function putU64(v: u64): void {
  // Digits are produced backwards into a scratch area past the write position, then moved.
  // Ports and most counters fit 32 bits, where division is cheaper.
  let n = 0;
  const tmp = outBuf + outPos + 24;
  while (v > 0xffffffff) {
    store<u8>(tmp + 23 - n, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
    n++;
  }
  let w = <u32>v;
  do {
    store<u8>(tmp + 23 - n, <u8>(0x30 + w % 10));
    w /= 10;
    n++;
  } while (w != 0);
  copyBytes(outBuf + outPos, tmp + 24 - n, n);
  outPos += n;
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

/** Position of the first byte in [p, end) that is not a plain copy, or end. */
@inline function plainRunEnd(p: usize, end: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const quote = i8x16.splat(0x22);
    const backslash = i8x16.splat(0x5c);
    const ed = i8x16.splat(<i8>0xed);
    const space = i8x16.splat(0x20);
    while (p + 16 <= end) {
      const v = v128.load(p);
      const hit = v128.or(
        v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)),
        v128.or(i8x16.eq(v, ed), i8x16.lt_u(v, space)),
      );
      const mask = i8x16.bitmask(hit);
      if (mask != 0) return p + <usize>ctz(mask);
      p += 16;
    }
  }
  while (p < end && load<u8>(ESCAPE_CLASS + <usize>load<u8>(p)) == 0) p++;
  return p;
}

/** Writes bytes as the inside of a JSON string. Input is valid UTF-8, or WTF-8 where a lone
 * surrogate came from an escape: those are written back as \udxxx, like JSON.stringify. */
export function putEscaped(ptr: usize, len: i32): void {
  let p = ptr;
  const end = ptr + <usize>len;
  while (p < end) {
    const run = plainRunEnd(p, end);
    if (run > p) {
      putBytes(p, <i32>(run - p));
      p = run;
      if (p >= end) break;
    }
    const c = <u32>load<u8>(p);
    if (c == 0xed) {
      const c1 = p + 1 < end ? <u32>load<u8>(p + 1) : 0;
      if (c1 >= 0xa0 && c1 <= 0xbf && p + 2 < end) {
        const cp = 0xd000 | ((c1 & 0x3f) << 6) | (<u32>load<u8>(p + 2) & 0x3f);
        putUnicodeEscape(cp);
        p += 3;
      } else {
        put(c);
        p++;
      }
      continue;
    }
    put(0x5c);
    switch (c) {
      case 0x22: put(0x22); break;
      case 0x5c: put(0x5c); break;
      case 0x08: put(0x62); break;
      case 0x0c: put(0x66); break;
      case 0x0a: put(0x6e); break;
      case 0x0d: put(0x72); break;
      case 0x09: put(0x74); break;
      default: {
        outPos--;
        putUnicodeEscape(c);
      }
    }
    p++;
  }
}

function putUnicodeEscape(cp: u32): void {
  put(0x5c);
  put(0x75);
  put(load<u8>(HEX + ((cp >> 12) & 15)));
  put(load<u8>(HEX + ((cp >> 8) & 15)));
  put(load<u8>(HEX + ((cp >> 4) & 15)));
  put(load<u8>(HEX + (cp & 15)));
}

@inline export function putString(ptr: usize, len: i32): void {
  put(0x22);
  putEscaped(ptr, len);
  put(0x22);
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

// Members of the object being written: a comma goes before every member but the first, and an
// object that got no member is taken back out (optional ECS objects such as `network`).
const MAX_NESTING = 8;
const firstAt = new StaticArray<bool>(MAX_NESTING);
const openedAt = new StaticArray<i32>(MAX_NESTING);
let level: i32 = -1;

export function beginRecord(): void {
  level = 0;
  unchecked(firstAt[0] = true);
  unchecked(openedAt[0] = outPos);
  put(0x7b);
}

export function endRecord(): void {
  put(0x7d);
  level = -1;
}

/** Writes `,"key":` (or without the comma for the first member). `key` holds `"key":`. */
@inline export function key(k: Lit): void {
  if (unchecked(firstAt[level])) unchecked(firstAt[level] = false);
  else put(0x2c);
  putLit(k);
}

/** Opens a member object; it disappears again if nothing is written into it. */
export function beginObject(k: Lit): void {
  const start = outPos;
  key(k);
  put(0x7b);
  level++;
  unchecked(firstAt[level] = true);
  unchecked(openedAt[level] = start);
}

export function endObject(): void {
  if (unchecked(firstAt[level])) {
    // Empty: roll back, and restore the parent's "first member" flag if it was ours.
    const start = unchecked(openedAt[level]);
    level--;
    const hadComma = load<u8>(outBuf + start) == 0x2c;
    outPos = start;
    if (!hadComma) unchecked(firstAt[level] = true);
    return;
  }
  put(0x7d);
  level--;
}

export function keyString(k: Lit, ptr: usize, len: i32): void {
  key(k);
  putString(ptr, len);
}

export function keyLitString(k: Lit, v: Lit): void {
  key(k);
  put(0x22);
  putLit(v);
  put(0x22);
}

export function keyU64(k: Lit, v: u64): void {
  key(k);
  putU64(v);
}

// The put* functions can write into another buffer for a while: the blob splitter builds each
// flattened event apart from the output, then maps it into the output.
export class ByteBuffer {
  ptr: usize = heap.alloc(4096);
  cap: i32 = 4096;
  len: i32 = 0;
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
