// Timestamps: ISO-8601 text in, epoch microseconds in the middle, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`
// out. Microseconds because that is what the documented output keeps: a 7-digit Azure
// fraction is truncated to 6, never rounded.
import { isDigit, bytesEqual } from "../base/bytes";

const MIN_MICROS: i64 = -62135596800000000; // 0001-01-01T00:00:00Z
const MAX_MICROS: i64 = 253402300799999999; // 9999-12-31T23:59:59.999999Z

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
function daysFromCivil(y: i64, m: i64, d: i64): i64 {
  y -= m <= 2 ? 1 : 0;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: i32, m: i32): i32 {
  if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}

function digits(ptr: usize, n: i32): i32 {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (!isDigit(c)) return -1;
    v = v * 10 + <i32>(c - 0x30);
  }
  return v;
}

export let parsedMicros: i64 = 0;

// Records of one flow-log record (and of one blob) share their `time`: remember the last text.
const CACHE_MAX = 64;
const cachedText: usize = heap.alloc(CACHE_MAX);
let cachedLen: i32 = -1;
let cachedOk: bool = false;
let cachedMicros: i64 = 0;

/** parseIsoTime, remembering the last answer. */
export function parseIsoTimeCached(ptr: usize, len: i32): bool {
  if (len == cachedLen && bytesEqual(ptr, cachedText, len)) {
    parsedMicros = cachedMicros;
    return cachedOk;
  }
  const ok = parseIsoTime(ptr, len);
  if (len <= CACHE_MAX) {
    memory.copy(cachedText, ptr, <usize>len);
    cachedLen = len;
    cachedOk = ok;
    cachedMicros = parsedMicros;
  }
  return ok;
}

/** Parses `YYYY-MM-DD(T| )HH:MM:SS[.f+][Z|z|±HH:MM|±HHMM]` (no zone = UTC) into parsedMicros.
 * False for anything else, for dates that do not exist, and for results outside 0001-9999. */
export function parseIsoTime(ptr: usize, len: i32): bool {
  if (len < 19) return false;
  const y = digits(ptr, 4);
  const mo = digits(ptr + 5, 2);
  const d = digits(ptr + 8, 2);
  const h = digits(ptr + 11, 2);
  const mi = digits(ptr + 14, 2);
  const s = digits(ptr + 17, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return false;
  if (load<u8>(ptr + 4) != 0x2d || load<u8>(ptr + 7) != 0x2d || load<u8>(ptr + 13) != 0x3a || load<u8>(ptr + 16) != 0x3a) return false;
  const sep = load<u8>(ptr + 10);
  if (sep != 0x54 && sep != 0x20) return false;
  if (d > daysInMonth(y, mo)) return false;
  let i = 19;
  let micros: i64 = 0;
  if (i < len && load<u8>(ptr + i) == 0x2e) {
    i++;
    const start = i;
    while (i < len && isDigit(load<u8>(ptr + i))) {
      if (i - start < 6) micros = micros * 10 + <i64>(load<u8>(ptr + i) - 0x30);
      i++;
    }
    const n = i - start;
    if (n == 0) return false;
    for (let k = n; k < 6; k++) micros *= 10;
  }
  let offsetMinutes: i64 = 0;
  if (i < len) {
    const z = load<u8>(ptr + i);
    if (z == 0x5a || z == 0x7a) {
      i++;
    } else if (z == 0x2b || z == 0x2d) {
      const oh = i + 3 <= len ? digits(ptr + i + 1, 2) : -1;
      let om = -1;
      if (i + 6 == len && load<u8>(ptr + i + 3) == 0x3a) om = digits(ptr + i + 4, 2);
      else if (i + 5 == len) om = digits(ptr + i + 3, 2);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offsetMinutes = <i64>(oh * 60 + om);
      if (z == 0x2d) offsetMinutes = -offsetMinutes;
      i = len;
    } else {
      return false;
    }
  }
  if (i != len) return false;
  const days = daysFromCivil(y, mo, d);
  const secs = days * 86400 + <i64>(h * 3600 + mi * 60 + s) - offsetMinutes * 60;
  const t = secs * 1000000 + micros;
  if (t < MIN_MICROS || t > MAX_MICROS) return false;
  parsedMicros = t;
  return true;
}

/** Epoch milliseconds / seconds to microseconds, or -1 when outside 0001-9999. */
export function millisToMicros(ms: u64): i64 {
  return ms > <u64>(MAX_MICROS / 1000) ? -1 : <i64>ms * 1000;
}

export function secondsToMicros(s: u64): i64 {
  return s > <u64>(MAX_MICROS / 1000000) ? -1 : <i64>s * 1000000;
}

// The formatted timestamp, written once and copied into @timestamp and event.start.
export const timeText: usize = heap.alloc(32);
export let timeTextLen: i32 = 0;
let formattedMicros: i64 = 0;

function put2(at: usize, v: i32): void {
  store<u8>(at, <u8>(0x30 + v / 10));
  store<u8>(at + 1, <u8>(0x30 + v % 10));
}

/** Formats epoch microseconds (within 0001-9999) into timeText: a zero fraction prints none. */
export function formatMicros(t: i64): void {
  if (t == formattedMicros && timeTextLen > 0) return;
  formattedMicros = t;
  let secs = t / 1000000;
  let micros = <i32>(t % 1000000);
  if (micros < 0) { micros += 1000000; secs--; }
  let days = secs / 86400;
  let sod = <i32>(secs % 86400);
  if (sod < 0) { sod += 86400; days--; }
  // civil_from_days
  const z = days + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = <i32>(doy - (153 * mp + 2) / 5 + 1);
  const m = <i32>(mp < 10 ? mp + 3 : mp - 9);
  const y = <i32>(yoe + era * 400 + (m <= 2 ? 1 : 0));
  const o = timeText;
  put2(o, y / 100);
  put2(o + 2, y % 100);
  store<u8>(o + 4, 0x2d);
  put2(o + 5, m);
  store<u8>(o + 7, 0x2d);
  put2(o + 8, d);
  store<u8>(o + 10, 0x54);
  put2(o + 11, sod / 3600);
  store<u8>(o + 13, 0x3a);
  put2(o + 14, (sod / 60) % 60);
  store<u8>(o + 16, 0x3a);
  put2(o + 17, sod % 60);
  let n = 19;
  if (micros != 0) {
    store<u8>(o + 19, 0x2e);
    let v = micros;
    for (let k = 25; k >= 20; k--) {
      store<u8>(o + k, <u8>(0x30 + v % 10));
      v /= 10;
    }
    n = 26;
  }
  store<u8>(o + n, 0x5a);
  timeTextLen = n + 1;
}
