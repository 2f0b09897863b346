// UTF-8 validity: the whole record is checked once up front, so the JSON scanner can treat
// every byte >= 0x80 as part of a valid string character.

/** Offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or -1 when all of [ptr, ptr+len) is valid. */
export function firstInvalidUtf8(ptr: usize, len: i32): i32 {
  const end = ptr + <usize>len;
  let p = ptr;
  while (p < end) {
    // ASCII is the common case in flow logs: skip it a word (or a vector) at a time.
    if (ASC_FEATURE_SIMD) {
      while (p + 16 <= end && i8x16.bitmask(v128.load(p)) == 0) p += 16;
    }
    while (p + 8 <= end && (load<u64>(p) & 0x8080808080808080) == 0) p += 8;
    if (p >= end) break;
    const c = <u32>load<u8>(p);
    if (c < 0x80) { p++; continue; }
    const n = validSequenceLength(p, end);
    if (n == 0) return <i32>(p - ptr);
    p += <usize>n;
  }
  return -1;
}

/** Whether the sequence walkSequence last looked at is one whole valid character. */
let sequenceComplete = false;

/** Walks the UTF-8 sequence at p as the WHATWG decoder does: the lead byte, then each
 * continuation byte while it is acceptable (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF). Returns how many bytes that is (at least 1). */
function walkSequence(p: usize, end: usize): i32 {
  const c = <u32>load<u8>(p);
  sequenceComplete = false;
  let n: i32, lo: u32 = 0x80, hi: u32 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
  } else return 1;
  let i = 1;
  while (i < n && p + <usize>i < end) {
    const ci = <u32>load<u8>(p + i);
    if (ci < lo || ci > hi) break;
    lo = 0x80;
    hi = 0xbf;
    i++;
  }
  sequenceComplete = i == n;
  return i;
}

/** Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
export function validSequenceLength(p: usize, end: usize): i32 {
  const n = walkSequence(p, end);
  return sequenceComplete ? n : 0;
}

/** How many bytes one U+FFFD replaces at an invalid position (WHATWG: the lead byte plus any
 * continuation bytes that were still acceptable). */
export function maximalInvalidPrefix(p: usize, end: usize): i32 {
  return walkSequence(p, end);
}
