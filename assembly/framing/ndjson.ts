// NDJSON framing over a byte stream fed in chunks of any size: complete lines are mapped where
// they lie; only a line cut by a chunk boundary is copied (into `carry`), and a line over the
// record limit is not kept whole: its head is kept for the error event and the rest is counted.
import { ByteBuffer, put, putBytes, reserve, countLine } from "../base/output";
import { mapRecord, tooLarge, lastWasError, MAX_RECORD_BYTES } from "../map/mapper";

/** What each framed record goes through: the mapping, or a plain copy (the benchmark's roof). */
export const MODE_MAP = 0;
export const MODE_COPY = 1;

// The head of a line that did not end in the previous chunk. Never more than the limit + 4
// bytes (enough to cut the kept head at a character boundary).
const CARRY_MAX = MAX_RECORD_BYTES + 4;
const carry = new ByteBuffer();
/** Length of the pending line so far, which may exceed what carry holds. */
let pendingLen: i64 = 0;


export function resetFraming(): void {
  carry.len = 0;
  pendingLen = 0;
}

@inline function isBlank(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0d;
}

function emit(ptr: usize, len: i32, totalLen: i64, mode: i32): void {
  // CRLF files: the \r belongs to the framing, not to the record.
  if (len > 0 && len == totalLen && load<u8>(ptr + len - 1) == 0x0d) { len--; totalLen--; }
  let blank = true;
  for (let i = 0; i < len; i++) {
    if (!isBlank(load<u8>(ptr + i))) { blank = false; break; }
  }
  if (blank && totalLen == len) return;
  if (mode == MODE_COPY) {
    reserve(len + 1);
    putBytes(ptr, len);
    countLine(false);
  } else if (totalLen > <i64>len) {
    tooLarge(ptr, len, totalLen);
    countLine(true);
  } else {
    mapRecord(ptr, len);
    countLine(lastWasError);
  }
  put(0x0a);
}

function appendCarry(ptr: usize, len: i32): void {
  pendingLen += len;
  carry.append(ptr, len, CARRY_MAX);
}

@inline function findNewline(p: usize, end: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const nl = i8x16.splat(0x0a);
    while (p + 16 <= end) {
      const mask = i8x16.bitmask(i8x16.eq(v128.load(p), nl));
      if (mask != 0) return p + <usize>ctz(mask);
      p += 16;
    }
  } else {
    while (p + 8 <= end) {
      const y = load<u64>(p) ^ 0x0a0a0a0a0a0a0a0a;
      const mask = (y - 0x0101010101010101) & ~y & 0x8080808080808080;
      if (mask != 0) return p + <usize>(ctz(mask) >> 3);
      p += 8;
    }
  }
  while (p < end && load<u8>(p) != 0x0a) p++;
  return p;
}

/** Frames and processes [ptr, ptr+len); output is appended to the output buffer. With `last`,
 * a final line without a newline is processed too. */
export function feedLines(ptr: usize, len: i32, last: bool, mode: i32): void {
  let p = ptr;
  const end = ptr + <usize>len;
  while (p < end) {
    const nl = findNewline(p, end);
    if (nl >= end) break;
    const lineLen = <i32>(nl - p);
    if (pendingLen > 0) {
      appendCarry(p, lineLen);
      emit(carry.ptr, carry.len, pendingLen, mode);
      resetFraming();
    } else {
      emit(p, lineLen, <i64>lineLen, mode);
    }
    p = nl + 1;
  }
  if (p < end) appendCarry(p, <i32>(end - p));
  if (last && pendingLen > 0) {
    emit(carry.ptr, carry.len, pendingLen, mode);
    resetFraming();
  }
}
