// IP address text to its network-order bytes (4 for IPv4, 16 for IPv6), for the Community ID
// (which hashes and orders addresses as bytes) and network.type. The text is validated with
// flow/ip.ts first, so the parsing below may assume a well-formed address.
import { hexValue } from "../base/bytes";
import { isIPv4, isIPv6 } from "./ip";

const words = new StaticArray<u32>(8);

/** Writes the address at `out` (room for 16 bytes). Returns 4 or 16, or 0 when the text is not
 * an IPv4 or IPv6 address. */
export function ipToBytes(ptr: usize, len: i32, out: usize): i32 {
  if (isIPv4(ptr, len)) {
    dottedQuad(ptr, len, out);
    return 4;
  }
  if (isIPv6(ptr, len)) {
    ipv6(ptr, len, out);
    return 16;
  }
  return 0;
}

/** The same for text already known to be an address (the tuple's, which flow/tuple.ts checked). */
export function knownIpToBytes(ptr: usize, len: i32, out: usize): i32 {
  // An IPv4 address is at most 15 characters, and the 5th of an IPv6 one of that length is ':'
  // at the latest: a colon among the first five tells.
  for (let i = 0; i < len && i < 5; i++) {
    if (load<u8>(ptr + <usize>i) == 0x3a) {
      ipv6(ptr, len, out);
      return 16;
    }
  }
  dottedQuad(ptr, len, out);
  return 4;
}

/** The first 16 bits of an IPv6 address text already known to be one (the tuple's): its first
 * group, 0 when it starts with "::". Enough to tell that no database can hold it before the
 * whole text is parsed. */
export function knownIpv6FirstGroup(ptr: usize, len: i32): u32 {
  let v: u32 = 0;
  for (let i = 0; i < len && i < 4; i++) {
    const h = hexValue(load<u8>(ptr + <usize>i));
    if (h < 0) break;
    v = (v << 4) | <u32>h;
  }
  return v;
}

function dottedQuad(ptr: usize, len: i32, out: usize): void {
  let part = 0;
  let v: u32 = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == 0x2e) {
      store<u8>(out + <usize>part, <u8>v);
      part++;
      v = 0;
    } else {
      v = v * 10 + (c - 0x30);
    }
  }
  store<u8>(out + <usize>part, <u8>v);
}

const quad: usize = heap.alloc(4);

function ipv6(ptr: usize, len: i32, out: usize): void {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (load<u8>(ptr) == 0x3a) {
    // A leading "::".
    gap = 0;
    i = 2;
  }
  while (i < len) {
    let v: u32 = 0;
    let j = i;
    while (j < len) {
      const h = hexValue(load<u8>(ptr + <usize>j));
      if (h < 0) break;
      v = (v << 4) | <u32>h;
      j++;
    }
    if (j < len && load<u8>(ptr + <usize>j) == 0x2e) {
      // The last two groups written as a dotted quad.
      dottedQuad(ptr + <usize>i, len - i, quad);
      unchecked(words[n++] = (<u32>load<u8>(quad) << 8) | <u32>load<u8>(quad + 1));
      unchecked(words[n++] = (<u32>load<u8>(quad + 2) << 8) | <u32>load<u8>(quad + 3));
      break;
    }
    unchecked(words[n++] = v);
    i = j;
    if (i >= len) break;
    i++; // the ':'
    if (i < len && load<u8>(ptr + <usize>i) == 0x3a) {
      gap = n;
      i++;
    }
  }
  // The words before the "::", the zero words it stands for, the words after it.
  const zeros = 8 - n;
  let k = 0;
  for (let w = 0; w < 8; w++) {
    let v: u32 = 0;
    if (gap < 0 || w < gap) v = unchecked(words[k++]);
    else if (w >= gap + zeros) v = unchecked(words[k++]);
    store<u8>(out + <usize>(w * 2), <u8>(v >> 8));
    store<u8>(out + <usize>(w * 2 + 1), <u8>v);
  }
}
