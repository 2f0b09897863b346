// IP address text as the tuple carries it. Strict on purpose: what passes here is written to
// ECS `*.ip` fields, which SIEMs index as the ip type and reject when malformed.
import { hexValue } from "../base/bytes";

/** Dotted quad, each part 0-255 without leading zeros (as Node's net.isIPv4). Straight-line:
 * at most three digits a part, no loop over characters. */
export function isIPv4(ptr: usize, len: i32): bool {
  if (len < 7 || len > 15) return false;
  const end = ptr + <usize>len;
  let p = ptr;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (p >= end || load<u8>(p) != 0x2e) return false;
      p++;
    }
    if (p >= end) return false;
    const d0 = <u32>load<u8>(p) - 0x30;
    if (d0 > 9) return false;
    p++;
    if (p < end) {
      const d1 = <u32>load<u8>(p) - 0x30;
      if (d1 <= 9) {
        if (d0 == 0) return false;
        p++;
        if (p < end) {
          const d2 = <u32>load<u8>(p) - 0x30;
          if (d2 <= 9) {
            if (d0 * 100 + d1 * 10 + d2 > 255) return false;
            p++;
          }
        }
      }
    }
  }
  return p == end;
}

/** RFC 4291 text form: up to 8 groups of 1-4 hex digits, at most one "::", an optional
 * trailing dotted quad standing for the last two groups; no zone id. */
export function isIPv6(ptr: usize, len: i32): bool {
  if (len < 2 || len > 45) return false;
  let groups = 0;
  let compressed = false;
  let i = 0;
  if (load<u8>(ptr) == 0x3a) {
    if (load<u8>(ptr + 1) != 0x3a) return false;
    compressed = true;
    i = 2;
    if (i == len) return true;
  }
  while (true) {
    const start = i;
    while (i < len && i - start < 5 && hexValue(load<u8>(ptr + i)) >= 0) i++;
    const n = i - start;
    if (i < len && load<u8>(ptr + i) == 0x2e) {
      // The last two groups written as IPv4.
      if (!isIPv4(ptr + start, len - start)) return false;
      groups += 2;
      break;
    }
    if (n == 0 || n > 4) return false;
    groups++;
    if (i == len) break;
    if (load<u8>(ptr + i) != 0x3a) return false;
    i++;
    if (i < len && load<u8>(ptr + i) == 0x3a) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i == len) break;
    } else if (i == len) {
      return false;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}
