// SHA-1 (FIPS 180-4), streaming, over byte spans. Used for identifiers (event.id, and the
// Community ID flow hash), never for security: what matters is that it is the published,
// well-specified function every other implementation computes the same way.
//
// One context lives in module globals; snapshot/restore let a caller that hashes many messages
// sharing a prefix (the tuples of one flow group) hash the prefix once.

import { HEX_DIGITS } from "./bytes";

const H = new StaticArray<u32>(5);
const W = new StaticArray<u32>(80);
const block: usize = heap.alloc(64);
let blockLen: i32 = 0;
let total: u64 = 0;

export function sha1Reset(): void {
  unchecked(H[0] = 0x67452301);
  unchecked(H[1] = 0xefcdab89);
  unchecked(H[2] = 0x98badcfe);
  unchecked(H[3] = 0x10325476);
  unchecked(H[4] = 0xc3d2e1f0);
  blockLen = 0;
  total = 0;
}

function compress(p: usize): void {
  for (let t = 0; t < 16; t++) unchecked(W[t] = bswap<u32>(load<u32>(p + (<usize>t << 2))));
  for (let t = 16; t < 80; t++) {
    unchecked(W[t] = rotl<u32>(W[t - 3] ^ W[t - 8] ^ W[t - 14] ^ W[t - 16], 1));
  }
  let a = unchecked(H[0]);
  let b = unchecked(H[1]);
  let c = unchecked(H[2]);
  let d = unchecked(H[3]);
  let e = unchecked(H[4]);
  for (let t = 0; t < 80; t++) {
    let f: u32;
    let k: u32;
    if (t < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
    else { f = b ^ c ^ d; k = 0xca62c1d6; }
    const temp = rotl<u32>(a, 5) + f + e + k + unchecked(W[t]);
    e = d;
    d = c;
    c = rotl<u32>(b, 30);
    b = a;
    a = temp;
  }
  unchecked(H[0] = H[0] + a);
  unchecked(H[1] = H[1] + b);
  unchecked(H[2] = H[2] + c);
  unchecked(H[3] = H[3] + d);
  unchecked(H[4] = H[4] + e);
}

export function sha1Update(ptr: usize, len: i32): void {
  total += <u64>len;
  let p = ptr;
  let n = len;
  if (blockLen > 0) {
    const take = min(64 - blockLen, n);
    memory.copy(block + <usize>blockLen, p, <usize>take);
    blockLen += take;
    p += <usize>take;
    n -= take;
    if (blockLen < 64) return;
    compress(block);
    blockLen = 0;
  }
  while (n >= 64) {
    compress(p);
    p += 64;
    n -= 64;
  }
  if (n > 0) {
    memory.copy(block, p, <usize>n);
    blockLen = n;
  }
}

const one = heap.alloc(4);

export function sha1UpdateByte(b: u32): void {
  store<u8>(one, <u8>b);
  sha1Update(one, 1);
}

/** A 32-bit big-endian integer, as length prefixes are written. */
export function sha1UpdateU32(v: u32): void {
  store<u32>(one, bswap<u32>(v));
  sha1Update(one, 4);
}

/** Ends the message and writes the 20-byte digest to `out`. */
export function sha1Finish(out: usize): void {
  const bits = total << 3;
  store<u8>(block + <usize>blockLen, 0x80);
  blockLen++;
  if (blockLen > 56) {
    memory.fill(block + <usize>blockLen, 0, <usize>(64 - blockLen));
    compress(block);
    blockLen = 0;
  }
  memory.fill(block + <usize>blockLen, 0, <usize>(56 - blockLen));
  store<u64>(block + 56, bswap<u64>(bits));
  compress(block);
  for (let i = 0; i < 5; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(unchecked(H[i])));
}

/** Bytes a snapshot of the context takes. */
export const SHA1_SNAPSHOT_BYTES = 20 + 64 + 4 + 8;

export function sha1Snapshot(to: usize): void {
  memory.copy(to, changetype<usize>(H), 20);
  memory.copy(to + 20, block, 64);
  store<i32>(to + 84, blockLen);
  store<u64>(to + 88, total);
}

export function sha1Restore(from: usize): void {
  memory.copy(changetype<usize>(H), from, 20);
  memory.copy(block, from + 20, 64);
  blockLen = load<i32>(from + 84);
  total = load<u64>(from + 88);
}

/** `n` bytes at `from` as 2n lowercase hex digits at `to`. */
export function toHex(to: usize, from: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const b = <usize>load<u8>(from + <usize>i);
    store<u8>(to + (<usize>i << 1), load<u8>(HEX_DIGITS + (b >> 4)));
    store<u8>(to + (<usize>i << 1) + 1, load<u8>(HEX_DIGITS + (b & 15)));
  }
}
