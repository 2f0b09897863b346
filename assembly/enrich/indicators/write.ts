// The `threat.enrichments` fragment (ECS): one entry per (indicator, field) for the event's
// final source and destination addresses, written only when something matched, so that every
// other event stays byte for byte what it was. Entries go source first, then destination; for
// one address, the most specific prefix first (a /32 before the /24 holding it), and for one
// prefix in the order the sets were loaded, then the order of the file.
import { reserve, put, putLit, putBytes, putEscapedRepaired, putU64 } from "../../base/output";
import { lit, hexValue } from "../../base/bytes";
import { isIPv6 } from "../../flow/ip";
import { ipToBytes, knownIpToBytes } from "../../flow/ip-bytes";
import { setOf, infoOf, IndicatorSet, CONF_NONE, CONF_LOW, CONF_MEDIUM } from "./sets";
import {
  anyIndicators, may4, may6, lookup4, lookup6, start4Of, len4Of, parent4Of, from4, to4, ord4At,
  hi6Of, lo6Of, len6Of, parent6Of, from6, to6, ord6At,
} from "./table";

const L_OPEN = lit(`,"threat":{"enrichments":[`);
const L_CLOSE = lit(`]}`);
const L_V4 = lit(`{"indicator":{"type":"ipv4-addr"`);
const L_V6 = lit(`{"indicator":{"type":"ipv6-addr"`);
const L_IP = lit(`,"ip":"`);
const L_NAME = lit(`","name":"`);
const L_NAME_ONLY = lit(`,"name":"`);
const L_PROVIDER = lit(`","provider":"`);
const L_DESCRIPTION = lit(`","description":"`);
const L_CONFIDENCE = lit(`","confidence":"`);
const L_MATCHED = lit(`"},"matched":{"atomic":"`);
const L_SOURCE = lit(`","field":"source.ip"`);
const L_DESTINATION = lit(`","field":"destination.ip"`);
const L_ID = lit(`,"id":"`);
const L_TYPE = lit(`,"type":"indicator_match_rule"}}`);
const L_TYPE_AFTER_ID = lit(`","type":"indicator_match_rule"}}`);
const CONFIDENCE = [lit("None"), lit("Low"), lit("Medium"), lit("High")];

// ---- The event's address --------------------------------------------------------------------

// What an address looked up to: the innermost IPv4 and IPv6 nodes (-1: none).
let src4 = -1, src6 = -1, dst4 = -1, dst6 = -1;
let got4 = -1, got6 = -1;
const bytes: usize = heap.alloc(16);

/** A strict dotted quad (as flow/ip.ts isIPv4) read in the same pass: -1 when it is not one. */
function dottedQuad(p: usize, n: i32): i64 {
  if (n < 7 || n > 15) return -1;
  const end = p + <usize>n;
  let v: u32 = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (p >= end || load<u8>(p) != 0x2e) return -1;
      p++;
    }
    if (p >= end) return -1;
    let d = <u32>load<u8>(p) - 0x30;
    if (d > 9) return -1;
    p++;
    let x = d;
    if (p < end && (d = <u32>load<u8>(p) - 0x30) <= 9) {
      if (x == 0) return -1;
      x = x * 10 + d;
      p++;
      if (p < end && (d = <u32>load<u8>(p) - 0x30) <= 9) {
        x = x * 10 + d;
        if (x > 255) return -1;
        p++;
      }
    }
    v = (v << 8) | x;
  }
  return p == end ? <i64>v : -1;
}

/** Looks the address text up: sets got4/got6. A text that is not an address matches nothing.
 * `known`: the text is the tuple's, already checked (flow/tuple.ts), so IPv6 is not checked
 * again. */
function lookupText(p: usize, n: i32, known: bool, v4: u64): void {
  got4 = -1;
  got6 = -1;
  if (n == 0) return;
  if (known) {
    // The tuple's address, checked already, its IPv4 value read by the tuple parser: the
    // interpreter pays for every character read again.
    if (v4 <= 0xffffffff) {
      got4 = lookup4(<u32>v4);
      return;
    }
    const m = mappedV4(p, n);
    if (m >= 0) {
      got4 = lookup4(<u32>m);
      return;
    }
    if (knownIpToBytes(p, n, bytes) != 16) return;
  } else {
    const a = dottedQuad(p, n);
    if (a >= 0) {
      got4 = lookup4(<u32>a);
      return;
    }
    if (!isIPv6(p, n)) return;
    ipToBytes(p, n, bytes);
  }
  const hi = bswap<u64>(load<u64>(bytes));
  const lo = bswap<u64>(load<u64>(bytes, 8));
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d, and only that: IPv6 prefixes holding the
  // mapped range (a bogon list's ::/8) say nothing about an IPv4 host. See DEVELOPERS.md.
  if (hi == 0 && (lo >> 32) == 0xffff) {
    got4 = lookup4(<u32>lo);
    return;
  }
  got6 = lookup6(hi, lo);
}

// ---- Text of a prefix ----------------------------------------------------------------------

function putV4(a: u32): void {
  putU64(a >>> 24); put(0x2e);
  putU64((a >>> 16) & 0xff); put(0x2e);
  putU64((a >>> 8) & 0xff); put(0x2e);
  putU64(a & 0xff);
}

function putHex16(v: u32): void {
  let started = false;
  for (let s = 12; s >= 0; s -= 4) {
    const d = (v >>> <u32>s) & 0xf;
    if (d != 0 || started || s == 0) {
      put(d < 10 ? 0x30 + d : 0x57 + d);
      started = true;
    }
  }
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the
 * first of equal ones) as "::". */
function putV6(hi: u64, lo: u64): void {
  let bestAt = -1, bestLen = 1, runAt = -1;
  for (let g = 0; g <= 8; g++) {
    const v = g == 8 ? 1 : <u32>(((g < 4 ? hi : lo) >> (<u64>(3 - (g & 3)) * 16)) & 0xffff);
    if (v == 0) {
      if (runAt < 0) runAt = g;
    } else if (runAt >= 0) {
      if (g - runAt > bestLen) { bestAt = runAt; bestLen = g - runAt; }
      runAt = -1;
    }
  }
  for (let g = 0; g < 8; g++) {
    if (g == bestAt) {
      put(0x3a); put(0x3a);
      g += bestLen - 1;
      continue;
    }
    if (g > 0 && g != bestAt + bestLen) put(0x3a);
    putHex16(<u32>(((g < 4 ? hi : lo) >> (<u64>(3 - (g & 3)) * 16)) & 0xffff));
  }
}

// ---- Entries ---------------------------------------------------------------------------------------

function putDetails(s: IndicatorSet, info: u32, atomic: usize, atomicLen: i32, source: bool): void {
  let descLen = 0, idLen = 0;
  let desc: usize = 0, id: usize = 0;
  let conf: u8 = 0;
  if (info != 0) {
    const r = s.arena.ptr + <usize>(info - 1);
    descLen = load<i32>(r);
    desc = r + 4;
    idLen = load<i32>(desc + <usize>descLen);
    id = desc + <usize>descLen + 4;
    conf = load<u8>(id + <usize>idLen);
  }
  reserve(6 * (s.nameBytes.len + descLen + idLen) + atomicLen + 256);
  putLit(L_PROVIDER);
  putEscapedRepaired(s.nameBytes.ptr, s.nameBytes.len);
  if (descLen > 0) {
    putLit(L_DESCRIPTION);
    putEscapedRepaired(desc, descLen);
  }
  if (conf != 0) {
    putLit(L_CONFIDENCE);
    putLit(unchecked(CONFIDENCE[conf - CONF_NONE]));
  }
  putLit(L_MATCHED);
  putBytes(atomic, atomicLen);
  putLit(source ? L_SOURCE : L_DESTINATION);
  if (idLen > 0) {
    putLit(L_ID);
    putEscapedRepaired(id, idLen);
    putLit(L_TYPE_AFTER_ID);
  } else {
    putLit(L_TYPE);
  }
}

let entries = 0;

@inline function comma(): void {
  if (entries++ > 0) put(0x2c);
}

function entries4(x: i32, atomic: usize, atomicLen: i32, source: bool): void {
  while (x >= 0) {
    const start = start4Of(x);
    const len = len4Of(x);
    const to = to4(x);
    for (let k = from4(x); k < to; k++) {
      const g = ord4At(k);
      reserve(160);
      comma();
      putLit(L_V4);
      if (len == 32) {
        putLit(L_IP);
        putV4(start);
        putLit(L_NAME);
        putV4(start);
      } else {
        putLit(L_NAME_ONLY);
        putV4(start);
        put(0x2f);
        putU64(len);
      }
      const s = setOf(g);
      putDetails(s, infoOf(s, g), atomic, atomicLen, source);
    }
    x = parent4Of(x);
  }
}

function entries6(x: i32, atomic: usize, atomicLen: i32, source: bool): void {
  while (x >= 0) {
    const hi = hi6Of(x);
    const lo = lo6Of(x);
    const len = len6Of(x);
    const to = to6(x);
    for (let k = from6(x); k < to; k++) {
      const g = ord6At(k);
      reserve(256);
      comma();
      putLit(L_V6);
      if (len == 128) {
        putLit(L_IP);
        putV6(hi, lo);
        putLit(L_NAME);
        putV6(hi, lo);
      } else {
        putLit(L_NAME_ONLY);
        putV6(hi, lo);
        put(0x2f);
        putU64(len);
      }
      const s = setOf(g);
      putDetails(s, infoOf(s, g), atomic, atomicLen, source);
    }
    x = parent6Of(x);
  }
}

/** False when no indicator can cover the address (the filter of table.ts), true for "look it
 * up". Only the tuple's own text, already checked, is filtered: its IPv4 value is at hand, and
 * its IPv6 top group is the hex digits before the first ':' (a leading "::", or a zero group,
 * may be an IPv4-mapped address: looked up). Any other text takes the whole path. */
@inline function mayMatch(p: usize, n: i32, known: bool, v4: u64): bool {
  if (n == 0) return false;
  if (!known) return true;
  if (v4 <= 0xffffffff) return may4(<u32>v4);
  let top: u32 = 0;
  for (let i = 0; i < 4; i++) {
    const h = hexValue(load<u8>(p + <usize>i));
    if (h < 0) break;
    top = (top << 4) | <u32>h;
  }
  if (top != 0) return may6(top);
  const a = mappedV4(p, n);
  return a < 0 || may4(<u32>a);
}

/** The IPv4 address of a "::ffff:a.b.c.d" text (the usual way of writing an IPv4-mapped IPv6
 * address, a third of the IPv6 tuples of a dual-stack listener), or -1 for any other text (other
 * spellings of it take the IPv6 parse, which finds the same). */
function mappedV4(p: usize, n: i32): i64 {
  if (n < 14 || (load<u64>(p) & 0x00ffdfdfdfdfffff) != 0x003a464646463a3a) return -1;
  return dottedQuad(p + 7, n - 7);
}

let srcPtr: usize = 0, dstPtr: usize = 0;
let srcLength = 0, dstLength = 0;

/** Looks up the event's final `source.ip` and `destination.ip` texts (a length of 0 for none;
 * `*Known`: the tuple's own text, whose IPv4 value `*V4` the tuple parser read, above
 * 0xffffffff for IPv6): whether any indicator covers either. Writes nothing. */
export function matchAddresses(src: usize, srcLen: i32, srcKnown: bool, srcV4: u64, dst: usize, dstLen: i32, dstKnown: bool, dstV4: u64): bool {
  if (!anyIndicators) return false;
  // Most events match nothing: the no-match filter on both addresses first, inline, so that
  // they cost a few loads and no call; then only an address it let through is looked up.
  const maySrc = mayMatch(src, srcLen, srcKnown, srcV4);
  const mayDst = mayMatch(dst, dstLen, dstKnown, dstV4);
  if (!(maySrc || mayDst)) return false;
  src4 = src6 = dst4 = dst6 = -1;
  if (maySrc) {
    lookupText(src, srcLen, srcKnown, srcV4);
    src4 = got4;
    src6 = got6;
  }
  if (mayDst) {
    lookupText(dst, dstLen, dstKnown, dstV4);
    dst4 = got4;
    dst6 = got6;
  }
  srcPtr = src;
  srcLength = srcLen;
  dstPtr = dst;
  dstLength = dstLen;
  return (src4 & src6 & dst4 & dst6) != -1;
}

/** Writes `,"threat":{"enrichments":[…]}` for what the last matchAddresses found. */
export function writeMatches(): void {
  reserve(64);
  putLit(L_OPEN);
  entries = 0;
  entries4(src4, srcPtr, srcLength, true);
  entries6(src6, srcPtr, srcLength, true);
  entries4(dst4, dstPtr, dstLength, false);
  entries6(dst6, dstPtr, dstLength, false);
  reserve(8);
  putLit(L_CLOSE);
}

/** Both: writes the fragment when the addresses match, and says whether it did. */
export function writeThreat(src: usize, srcLen: i32, dst: usize, dstLen: i32): bool {
  if (!matchAddresses(src, srcLen, false, 0, dst, dstLen, false, 0)) return false;
  writeMatches();
  return true;
}

/** How many entries the last writeThreat wrote. */
export function lastEntries(): i32 {
  return entries;
}
