// Base64 (RFC 4648 section 4, the standard alphabet, with `=` padding): the Community ID is the
// base64 of a SHA-1 digest. Only encoding is needed.

const ALPHABET: usize = memory.data<u8>([
  0x41,0x42,0x43,0x44,0x45,0x46,0x47,0x48,0x49,0x4a,0x4b,0x4c,0x4d,0x4e,0x4f,0x50,
  0x51,0x52,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5a,0x61,0x62,0x63,0x64,0x65,0x66,
  0x67,0x68,0x69,0x6a,0x6b,0x6c,0x6d,0x6e,0x6f,0x70,0x71,0x72,0x73,0x74,0x75,0x76,
  0x77,0x78,0x79,0x7a,0x30,0x31,0x32,0x33,0x34,0x35,0x36,0x37,0x38,0x39,0x2b,0x2f,
]);

@inline function sextet(v: u32): u8 {
  return load<u8>(ALPHABET + <usize>(v & 63));
}

/** The encoded length of n bytes. */
@inline export function base64Length(n: i32): i32 {
  return ((n + 2) / 3) * 4;
}

/** Writes the base64 of [from, from+n) at `to` (base64Length(n) bytes). */
export function base64Encode(to: usize, from: usize, n: i32): void {
  let i = 0;
  let o = to;
  for (; i + 3 <= n; i += 3) {
    const v = (<u32>load<u8>(from + <usize>i) << 16) | (<u32>load<u8>(from + <usize>i + 1) << 8) | <u32>load<u8>(from + <usize>i + 2);
    store<u8>(o, sextet(v >> 18));
    store<u8>(o + 1, sextet(v >> 12));
    store<u8>(o + 2, sextet(v >> 6));
    store<u8>(o + 3, sextet(v));
    o += 4;
  }
  const rest = n - i;
  if (rest == 0) return;
  let v = <u32>load<u8>(from + <usize>i) << 16;
  if (rest == 2) v |= <u32>load<u8>(from + <usize>i + 1) << 8;
  store<u8>(o, sextet(v >> 18));
  store<u8>(o + 1, sextet(v >> 12));
  store<u8>(o + 2, rest == 2 ? sextet(v >> 6) : 0x3d);
  store<u8>(o + 3, 0x3d);
}
