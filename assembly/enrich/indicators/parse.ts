// Indicator text: one address or CIDR prefix (strict, see DEVELOPERS.md "Indicator sets"), the
// plain lists (one a line, `#`/`;` comments, Spamhaus DROP's `; SBL…` as the description) and
// Tor's exit-addresses (`ExitAddress <ip> <date> <time>`), and the load report both formats and
// STIX (stix.ts) fill.
import { isIPv4, isIPv6 } from "../../flow/ip";
import { ipToBytes } from "../../flow/ip-bytes";
import { IndicatorSet } from "./sets";

/** Bad lines or objects reported one by one; the rest are only counted. */
export const MAX_REPORTED = 5;
/** What of a bad line the report quotes. */
const QUOTE_MAX = 80;

export class LoadReport {
  format: string = "list";
  invalid: i32 = 0;
  expired: i32 = 0;
  revoked: i32 = 0;
  unsupported: i32 = 0;
  /** A reason the whole set failed (then nothing of it is kept). */
  error: string = "";
  reported: string[] = [];

  /** A bad line (`where` is "line") or STIX object ("index"), numbered from 1 / 0. */
  bad(where: string, at: i32, reason: string, text: string): void {
    this.invalid++;
    if (this.reported.length >= MAX_REPORTED) return;
    if (text.length > QUOTE_MAX) text = text.substring(0, QUOTE_MAX) + "…";
    this.reported.push(`{"${where}":${at},"reason":${quote(reason)},"text":${quote(text)}}`);
  }
}

/** A JSON string literal of s (reports only: not the hot path). */
export function quote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

export function textOf(p: usize, n: i32): string {
  return String.UTF8.decodeUnsafe(p, <usize>n);
}

// ---- One address or prefix ----------------------------------------------------------------------

/** The parsed prefix: family 4 (v4) or 6 (hi, lo), length, or the reason it is not one. */
export let family: i32 = 0;
export let v4: u32 = 0;
export let hi: u64 = 0;
export let lo: u64 = 0;
export let prefixLen: i32 = 0;
export let reason: string = "";

const bytes: usize = heap.alloc(16);

function fail(why: string): bool {
  reason = why;
  return false;
}

/** Parses `address` or `address/length` in [p, p+n). An IPv4-mapped IPv6 prefix of /96 or
 * longer (`::ffff:1.2.3.4`) is the IPv4 one it stands for. */
export function parsePrefix(p: usize, n: i32): bool {
  let slash = -1;
  for (let i = 0; i < n; i++) if (load<u8>(p + <usize>i) == 0x2f) { slash = i; break; }
  const addrLen = slash < 0 ? n : slash;
  let bits = -1;
  if (slash >= 0) {
    const d = n - slash - 1;
    if (d < 1 || d > 3) return fail("bad prefix length");
    bits = 0;
    for (let i = slash + 1; i < n; i++) {
      const c = <i32>load<u8>(p + <usize>i) - 0x30;
      if (c < 0 || c > 9) return fail("bad prefix length");
      bits = bits * 10 + c;
    }
    if (d > 1 && load<u8>(p + <usize>(slash + 1)) == 0x30) return fail("bad prefix length (leading zero)");
  }
  if (isIPv4(p, addrLen)) {
    ipToBytes(p, addrLen, bytes);
    if (bits > 32) return fail("prefix length over 32");
    family = 4;
    v4 = bswap<u32>(load<u32>(bytes));
    prefixLen = bits < 0 ? 32 : bits;
  } else if (isIPv6(p, addrLen)) {
    ipToBytes(p, addrLen, bytes);
    if (bits > 128) return fail("prefix length over 128");
    family = 6;
    hi = bswap<u64>(load<u64>(bytes));
    lo = bswap<u64>(load<u64>(bytes, 8));
    prefixLen = bits < 0 ? 128 : bits;
    if (hi == 0 && (lo >> 32) == 0xffff && prefixLen >= 96) {
      family = 4;
      v4 = <u32>lo;
      prefixLen -= 96;
    }
  } else {
    return fail("not an IPv4 or IPv6 address");
  }
  if (family == 4) {
    const hostBits = prefixLen == 0 ? v4 : v4 & (<u32>0xffffffff >>> prefixLen);
    if (prefixLen < 32 && hostBits != 0) return fail("host bits set after the prefix length");
  } else {
    const mh: u64 = prefixLen == 0 ? 0 : prefixLen >= 64 ? <u64>-1 : <u64>-1 << (64 - <u64>prefixLen);
    const ml: u64 = prefixLen <= 64 ? 0 : <u64>-1 << (128 - <u64>prefixLen);
    if ((hi & ~mh) != 0 || (lo & ~ml) != 0) return fail("host bits set after the prefix length");
  }
  return true;
}

/** Adds the prefix just parsed to `set`. */
export function addParsed(set: IndicatorSet, info: u32): void {
  if (family == 4) set.add4(v4, prefixLen, info);
  else set.add6(hi, lo, prefixLen, info);
}

// ---- Lines -------------------------------------------------------------------------------------

@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0b || c == 0x0c;
}

function startsWith(p: usize, n: i32, word: string): bool {
  const w = word.length;
  if (n < w) return false;
  for (let i = 0; i < w; i++) if (<i32>load<u8>(p + <usize>i) != word.charCodeAt(i)) return false;
  return true;
}

export const FORMAT_UNKNOWN = 0;
export const FORMAT_LIST = 1;
export const FORMAT_TOR = 2;

/** A line's format: Tor's exit-addresses start with `ExitNode` records (a list never has
 * letters other than hex digits and comments), anything else is a list. FORMAT_UNKNOWN for a
 * blank or comment line, which tells nothing. */
export function formatOfLine(p: usize, n: i32): i32 {
  let i = 0;
  while (i < n && isSpace(load<u8>(p + <usize>i))) i++;
  if (i == n) return FORMAT_UNKNOWN;
  const c = load<u8>(p + <usize>i);
  if (c == 0x23 || c == 0x3b) return FORMAT_UNKNOWN;
  if (startsWith(p + <usize>i, n - i, "ExitNode") || startsWith(p + <usize>i, n - i, "ExitAddress")) return FORMAT_TOR;
  return FORMAT_LIST;
}

/** One line of a list. */
export function listLine(set: IndicatorSet, report: LoadReport, p: usize, n: i32, line: i32): void {
  let end = n;
  let desc: usize = 0;
  let descLen = 0;
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x23 || c == 0x3b) {
      end = i;
      if (c == 0x3b) {
        let a = i + 1;
        let b = n;
        while (a < b && isSpace(load<u8>(p + <usize>a))) a++;
        while (b > a && isSpace(load<u8>(p + <usize>(b - 1)))) b--;
        desc = p + <usize>a;
        descLen = b - a;
      }
      break;
    }
  }
  let a = 0;
  while (a < end && isSpace(load<u8>(p + <usize>a))) a++;
  let b = end;
  while (b > a && isSpace(load<u8>(p + <usize>(b - 1)))) b--;
  if (a == b) return; // blank or comment
  for (let i = a; i < b; i++) {
    if (isSpace(load<u8>(p + <usize>i))) {
      report.bad("line", line, "more than one value on the line", textOf(p, n));
      return;
    }
  }
  if (!parsePrefix(p + <usize>a, b - a)) {
    report.bad("line", line, reason, textOf(p, n));
    return;
  }
  addParsed(set, set.addInfo(desc, descLen, 0, 0, 0));
}

/** One line of Tor's exit-addresses: only `ExitAddress <ip> …` lines hold an indicator. */
export function torLine(set: IndicatorSet, report: LoadReport, p: usize, n: i32, line: i32): void {
  let i = 0;
  while (i < n && isSpace(load<u8>(p + <usize>i))) i++;
  if (!startsWith(p + <usize>i, n - i, "ExitAddress") || (i + 11 < n && !isSpace(load<u8>(p + <usize>(i + 11))))) return;
  i += 11;
  while (i < n && isSpace(load<u8>(p + <usize>i))) i++;
  let j = i;
  while (j < n && !isSpace(load<u8>(p + <usize>j))) j++;
  let why = "";
  if (j == i) why = "no address after ExitAddress";
  else if (!parsePrefix(p + <usize>i, j - i)) why = reason;
  else if (family == 4 ? prefixLen != 32 : prefixLen != 128) why = "a prefix, not one address";
  if (why != "") {
    report.bad("line", line, why, textOf(p, n));
    return;
  }
  addParsed(set, 0);
}
