// The flow tuple, `flow.0`: comma-separated fields in the documented NSG (8 or 13 fields) or
// VNet (13 fields) shape. A tuple of any other shape is not an error: the event keeps its
// envelope fields only (see DEVELOPERS.md, "The tuple").
//
// Parsed in one pass, field after field: each step reads its field up to the comma (or the end)
// and returns the position of that terminator, or 0 when the field is not what the shape needs
// (0 is never a record's address). Digits are checked and converted in the same loop, so the
// interpreter Fluent Bit runs touches each byte once.
import { isIPv6 } from "./ip";
import { firstMarkedByte } from "../base/bytes";

// The parsed tuple. Spans point into the tuple text.
export let epoch: u64 = 0;
export let srcIpPtr: usize = 0;
export let srcIpLen: i32 = 0;
export let dstIpPtr: usize = 0;
export let dstIpLen: i32 = 0;
/** The addresses as numbers when they are IPv4 (0xffffffff + 1 when IPv6): read as they are
 * checked, for the lookups of enrich/ (indicator sets, geo), which would pay again per character. */
export let srcIpV4: u64 = 0;
export let dstIpV4: u64 = 0;
const NOT_IPV4: u64 = 0x100000000;
let ipv4Value: u64 = 0;
export let srcPort: i32 = 0;
export let dstPort: i32 = 0;
/** NSG: 'T' or 'U'. */
export let protocolLetter: u8 = 0;
/** VNet: the protocol number as written. */
export let protocolPtr: usize = 0;
export let protocolLen: i32 = 0;
/** 'I' or 'O'. */
export let direction: u8 = 0;
/** NSG: 'A' or 'D'. */
export let decision: u8 = 0;
/** 'B', 'C', 'E' (and VNet 'D'), or 0 when the NSG tuple leaves it empty. */
export let state: u8 = 0;
export let encryptionPtr: usize = 0;
export let encryptionLen: i32 = 0;
// The four counters (source packets, source bytes, destination packets, destination bytes), at a
// fixed address: 8 bytes of value, then whether it is there.
const COUNTERS: usize = memory.data(4 * 16, 8);
@inline function setCounter(k: i32, v: u64, present: bool): void {
  store<u64>(COUNTERS + (<usize>k << 4), v);
  store<u8>(COUNTERS + (<usize>k << 4), <u8>present, 8);
}
/** Counter k (0-3); 0 when absent. */
@inline export function counter(k: i32): u64 { return load<u64>(COUNTERS + (<usize>k << 4)); }
@inline export function hasCounter(k: i32): bool { return load<u8>(COUNTERS + (<usize>k << 4), 8) != 0; }

const COMMA: u32 = 0x2c;

/** The value of the last digits field read. */
let value: u64 = 0;

/** 1 to `max` digits (max <= 19: no overflow) up to the comma or the end; the value in `value`.
 * Eight bytes at a time where the tuple has them: which are digits, and their value, with a few
 * word operations instead of two branches per digit (each a guess for the host CPU of Fluent
 * Bit's interpreter). */
@inline function digitsField(p: usize, end: usize, max: usize): usize {
  const start = p;
  let v: u64 = 0;
  while (p + 8 <= end) {
    const t = load<u64>(p) - 0x3030303030303030;
    // A byte is not a digit when, less '0', it is above 9 (adding 0x76 sets its high bit) or
    // wrapped below 0 (its high bit is set). Borrows and carries only run upwards, from a byte
    // that is itself marked: the lowest mark is exact.
    const marks = ((t + 0x7676767676767676) | t) & 0x8080808080808080;
    if (marks == 0) {
      v = v * 100000000 + eightDigits(t);
      p += 8;
      continue;
    }
    const n = firstMarkedByte(marks);
    if (n != 0) {
      // The n digits to the top of the word, zeros (leading zero digits) below them.
      v = v * load<u64>(POWERS_OF_TEN + (n << 3)) + eightDigits(t << (<u64>(8 - n) << 3));
      p += n;
    }
    return digitsEnd(p, end, start, max, v);
  }
  while (p < end) {
    const d = <u32>load<u8>(p) - 0x30;
    if (d > 9) break;
    v = v * 10 + <u64>d;
    p++;
  }
  return digitsEnd(p, end, start, max, v);
}

@inline function digitsEnd(p: usize, end: usize, start: usize, max: usize, v: u64): usize {
  const n = p - start;
  if (n == 0 || n > max || (p < end && <u32>load<u8>(p) != COMMA)) return 0;
  value = v;
  return p;
}

/** The value of 8 decimal digits, one per byte, the first (most significant) in the lowest byte:
 * pairs, then quads, then the eight (three multiplications). */
@inline function eightDigits(t: u64): u64 {
  t = ((t & 0x0f0f0f0f0f0f0f0f) * 2561) >> 8;
  t = ((t & 0x00ff00ff00ff00ff) * 6553601) >> 16;
  return ((t & 0x0000ffff0000ffff) * 42949672960001) >> 32;
}

const POWERS_OF_TEN = memory.data<u64>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000]);

/** A field of one letter: the letter, or 0 (empty, longer, or not followed by a comma/the end). */
@inline function letterField(p: usize, end: usize): u8 {
  if (p >= end || (p + 1 < end && <u32>load<u8>(p + 1) != COMMA)) return 0;
  const c = load<u8>(p);
  return c == COMMA ? 0 : c;
}

/** The position of the next comma from p, or the end. */
@inline function fieldEnd(p: usize, end: usize): usize {
  while (p < end && <u32>load<u8>(p) != COMMA) p++;
  return p;
}

/** An IP address field: a dotted quad read in place (each part 0-255 without leading zeros, as
 * Node's net.isIPv4), else an IPv6 address (flow/ip.ts; "01::1" and "256::1" are IPv6).
 * Inlined, as parseCommon and parseCounters are: each runs once or twice a tuple, and a call
 * costs WAMR's interpreter about ten instructions' time. */
@inline function ipField(p: usize, end: usize): usize {
  const start = p;
  let v: u32 = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (p >= end || load<u8>(p) != 0x2e) return ipv6Field(start, end);
      p++;
    }
    if (p >= end) return 0;
    const d0 = <u32>load<u8>(p) - 0x30;
    if (d0 > 9) return ipv6Field(start, end);
    p++;
    let x = d0;
    if (p < end) {
      const d1 = <u32>load<u8>(p) - 0x30;
      if (d1 <= 9) {
        if (d0 == 0) return ipv6Field(start, end);
        p++;
        x = d0 * 10 + d1;
        if (p < end) {
          const d2 = <u32>load<u8>(p) - 0x30;
          if (d2 <= 9) {
            x = x * 10 + d2;
            if (x > 255) return ipv6Field(start, end);
            p++;
          }
        }
      }
    }
    v = (v << 8) | x;
  }
  if (p < end && <u32>load<u8>(p) != COMMA) return ipv6Field(start, end);
  ipv4Value = v;
  return p;
}

function ipv6Field(p: usize, end: usize): usize {
  const q = fieldEnd(p, end);
  ipv4Value = NOT_IPV4;
  return isIPv6(p, <i32>(q - p)) ? q : 0;
}

/** The five fields both shapes open with: epoch, source IP, destination IP, ports. Returns the
 * position after the fifth field's comma, or 0. */
@inline function parseCommon(p: usize, end: usize): usize {
  let q = digitsField(p, end, 19);
  if (q == 0 || q >= end) return 0;
  epoch = value;
  p = q + 1;
  q = ipField(p, end);
  if (q == 0 || q >= end) return 0;
  srcIpPtr = p;
  srcIpLen = <i32>(q - p);
  srcIpV4 = ipv4Value;
  p = q + 1;
  q = ipField(p, end);
  if (q == 0 || q >= end) return 0;
  dstIpPtr = p;
  dstIpLen = <i32>(q - p);
  dstIpV4 = ipv4Value;
  p = q + 1;
  q = digitsField(p, end, 5);
  if (q == 0 || q >= end || value > 65535) return 0;
  srcPort = <i32>value;
  p = q + 1;
  q = digitsField(p, end, 5);
  if (q == 0 || q >= end || value > 65535) return 0;
  dstPort = <i32>value;
  return q + 1;
}

const U64_MAX_DIGITS: usize = memory.data<u8>([0x31,0x38,0x34,0x34,0x36,0x37,0x34,0x34,0x30,0x37,0x33,0x37,0x30,0x39,0x35,0x35,0x31,0x36,0x31,0x35]);

/** The four counters, the last fields: each empty (absent) or 1-20 digits below 2^64. Returns
 * whether they are there, with the end right after the fourth. */
@inline function parseCounters(p: usize, end: usize): bool {
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (p >= end) return false;
      p++; // the comma
    }
    if (p >= end || <u32>load<u8>(p) == COMMA) {
      setCounter(k, 0, false);
      continue;
    }
    const start = p;
    let q = digitsField(p, end, 19);
    if (q == 0) {
      // 20 digits fit below 2^64 when they do not exceed 18446744073709551615.
      q = fieldEnd(p, end);
      if (q - start != 20 || !fitsU64(start)) return false;
      const last = <u64>(load<u8>(start + 19) - 0x30);
      digitsField(start, start + 19, 19);
      value = value * 10 + last;
    }
    setCounter(k, value, true);
    p = q;
  }
  return p == end;
}

/** Whether the 20 bytes at p are digits not above 2^64 - 1. Every byte is checked to be a digit,
 * also after the first that tells the comparison (found by npm run fuzz: "1234567890123456789x"
 * passed for a number). */
function fitsU64(p: usize): bool {
  let below = false;
  for (let i: usize = 0; i < 20; i++) {
    const c = load<u8>(p + i);
    const m = load<u8>(U64_MAX_DIGITS + i);
    if (c - 0x30 > 9) return false;
    if (!below && c != m) {
      if (c > m) return false;
      below = true;
    }
  }
  return true;
}

function noCounters(): void {
  memory.fill(COUNTERS, 0, 4 * 16);
}

/** `epoch,src,dst,sport,dport,T|U,I|O,A|D[,B|C|E|,n,n,n,n]` */
export function parseNsgTuple(ptr: usize, len: i32): bool {
  const end = ptr + <usize>len;
  let p = parseCommon(ptr, end);
  if (p == 0 || p + 5 > end) return false;
  protocolLetter = letterField(p, end);
  direction = letterField(p + 2, end);
  decision = letterField(p + 4, end);
  if (protocolLetter != 0x54 && protocolLetter != 0x55) return false;
  if (direction != 0x49 && direction != 0x4f) return false;
  if (decision != 0x41 && decision != 0x44) return false;
  state = 0;
  p += 5;
  if (p == end) {
    noCounters();
    return true;
  }
  p++; // the comma after the decision
  if (p < end && <u32>load<u8>(p) != COMMA) {
    state = letterField(p, end);
    if (state != 0x42 && state != 0x43 && state != 0x45) return false;
    p++;
  }
  if (p >= end) return false;
  return parseCounters(p + 1, end);
}

/** `epochMs,src,dst,sport,dport,proto,I|O,B|C|E|D,encryption,n,n,n,n` */
export function parseVnetTuple(ptr: usize, len: i32): bool {
  const end = ptr + <usize>len;
  let p = parseCommon(ptr, end);
  if (p == 0) return false;
  const q = digitsField(p, end, 3);
  if (q == 0 || q + 4 > end) return false;
  protocolPtr = p;
  protocolLen = <i32>(q - p);
  p = q + 1;
  direction = letterField(p, end);
  if (direction != 0x49 && direction != 0x4f) return false;
  state = letterField(p + 2, end);
  if (state != 0x42 && state != 0x43 && state != 0x45 && state != 0x44) return false;
  p += 4;
  const e = fieldEnd(p, end);
  if (e == p || e >= end) return false;
  encryptionPtr = p;
  encryptionLen = <i32>(e - p);
  return parseCounters(e + 1, end);
}
