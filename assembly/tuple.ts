// The flow tuple, `flow.0`: comma-separated fields in the documented NSG (8 or 13 fields) or
// VNet (13 fields) shape. A tuple of any other shape is not an error: the event keeps its
// envelope fields only (see DEVELOPERS.md, "The tuple").
import { isDigit, parseSmallUint, parseU64, u64Ok, firstMarkedByte } from "./bytes";
import { isIP } from "./ip";

const MAX_FIELDS = 13;
const fieldStart = new StaticArray<usize>(MAX_FIELDS);
const fieldLen = new StaticArray<i32>(MAX_FIELDS);
let fieldCount = 0;

// The parsed tuple. Spans point into the tuple text.
export let epoch: u64 = 0;
export let srcIpPtr: usize = 0;
export let srcIpLen: i32 = 0;
export let dstIpPtr: usize = 0;
export let dstIpLen: i32 = 0;
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
/** Source packets, source bytes, destination packets, destination bytes. */
export const counters = new StaticArray<u64>(4);
export const counterPresent = new StaticArray<bool>(4);

function split(ptr: usize, len: i32): bool {
  fieldCount = 0;
  let start = ptr;
  const end = ptr + <usize>len;
  let p = ptr;
  if (ASC_FEATURE_SIMD) {
    const comma = i8x16.splat(0x2c);
    while (p + 16 <= end) {
      let commas = i8x16.bitmask(i8x16.eq(v128.load(p), comma));
      while (commas != 0) {
        const at = p + <usize>ctz(commas);
        if (!addField(start, at)) return false;
        start = at + 1;
        commas &= commas - 1;
      }
      p += 16;
    }
  }
  // Eight bytes a step: an exact mask of the commas among them (no borrow between bytes).
  while (p + 8 <= end) {
    const y = load<u64>(p) ^ 0x2c2c2c2c2c2c2c2c;
    let commas = ~(((y & 0x7f7f7f7f7f7f7f7f) + 0x7f7f7f7f7f7f7f7f) | y | 0x7f7f7f7f7f7f7f7f);
    while (commas != 0) {
      const at = p + firstMarkedByte(commas);
      if (!addField(start, at)) return false;
      start = at + 1;
      commas &= commas - 1;
    }
    p += 8;
  }
  for (; p < end; p++) {
    if (load<u8>(p) == 0x2c) {
      if (!addField(start, p)) return false;
      start = p + 1;
    }
  }
  unchecked(fieldStart[fieldCount] = start);
  unchecked(fieldLen[fieldCount] = <i32>(end - start));
  fieldCount++;
  return true;
}

@inline function addField(start: usize, comma: usize): bool {
  if (fieldCount == MAX_FIELDS - 1) return false;
  unchecked(fieldStart[fieldCount] = start);
  unchecked(fieldLen[fieldCount] = <i32>(comma - start));
  fieldCount++;
  return true;
}

@inline function fs(i: i32): usize { return unchecked(fieldStart[i]); }
@inline function fl(i: i32): i32 { return unchecked(fieldLen[i]); }

function singleLetter(i: i32): u8 {
  return fl(i) == 1 ? load<u8>(fs(i)) : 0;
}

/** The five fields both shapes open with: epoch, source IP, destination IP, ports. */
function parseCommon(): bool {
  const e = fs(0);
  const el = fl(0);
  if (el < 1 || el > 19) return false;
  for (let i = 0; i < el; i++) if (!isDigit(load<u8>(e + i))) return false;
  epoch = parseU64(e, el);
  if (!u64Ok) return false;
  srcIpPtr = fs(1); srcIpLen = fl(1);
  dstIpPtr = fs(2); dstIpLen = fl(2);
  if (!isIP(srcIpPtr, srcIpLen) || !isIP(dstIpPtr, dstIpLen)) return false;
  const sp = parseSmallUint(fs(3), fl(3), 5);
  const dp = parseSmallUint(fs(4), fl(4), 5);
  if (sp < 0 || sp > 65535 || dp < 0 || dp > 65535) return false;
  srcPort = <i32>sp;
  dstPort = <i32>dp;
  return true;
}

/** Counters at fields first..first+3: empty means absent, otherwise digits below 2^64. */
function parseCounters(first: i32): bool {
  for (let k = 0; k < 4; k++) {
    const n = fl(first + k);
    if (n == 0) {
      unchecked(counterPresent[k] = false);
      continue;
    }
    const v = parseU64(fs(first + k), n);
    if (!u64Ok) return false;
    unchecked(counters[k] = v);
    unchecked(counterPresent[k] = true);
  }
  return true;
}

function noCounters(): void {
  for (let k = 0; k < 4; k++) unchecked(counterPresent[k] = false);
}

/** `epoch,src,dst,sport,dport,T|U,I|O,A|D[,B|C|E|,n,n,n,n]` */
export function parseNsgTuple(ptr: usize, len: i32): bool {
  if (!split(ptr, len) || (fieldCount != 8 && fieldCount != 13)) return false;
  if (!parseCommon()) return false;
  protocolLetter = singleLetter(5);
  direction = singleLetter(6);
  decision = singleLetter(7);
  if (protocolLetter != 0x54 && protocolLetter != 0x55) return false;
  if (direction != 0x49 && direction != 0x4f) return false;
  if (decision != 0x41 && decision != 0x44) return false;
  state = 0;
  if (fieldCount == 8) {
    noCounters();
    return true;
  }
  if (fl(8) != 0) {
    state = singleLetter(8);
    if (state != 0x42 && state != 0x43 && state != 0x45) return false;
  }
  return parseCounters(9);
}

/** `epochMs,src,dst,sport,dport,proto,I|O,B|C|E|D,encryption,n,n,n,n` */
export function parseVnetTuple(ptr: usize, len: i32): bool {
  if (!split(ptr, len) || fieldCount != 13) return false;
  if (!parseCommon()) return false;
  protocolPtr = fs(5);
  protocolLen = fl(5);
  if (parseSmallUint(protocolPtr, protocolLen, 3) < 0) return false;
  direction = singleLetter(6);
  if (direction != 0x49 && direction != 0x4f) return false;
  state = singleLetter(7);
  if (state != 0x42 && state != 0x43 && state != 0x45 && state != 0x44) return false;
  encryptionPtr = fs(8);
  encryptionLen = fl(8);
  if (encryptionLen == 0) return false;
  return parseCounters(9);
}
