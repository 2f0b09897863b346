// One pass over one flat JSON object (a raw flow event): validates it strictly (RFC 8259, with a
// nesting limit) and records where the values of the keys the mappings read are. Strings with
// escapes are decoded into a scratch arena; plain ones are referenced in place. Non-ASCII may
// only stand in strings, and is checked to be UTF-8 there as it is scanned. On the way it also
// writes the record as the inside of a JSON string (a backslash before each quote and backslash):
// the ECS `message`, which the writer then copies instead of escaping the record again.
//
// Written for WAMR's interpreter (Fluent Bit), which pays for every instruction it dispatches:
// the top-level members of a compact object (what Fluent Bit hands a filter) go through one loop
// with no calls, the field table sits at a fixed address, spans are copied with memory.copy, and
// anything unusual (escapes, non-ASCII, whitespace, nested values) takes a slower path.
import { Lit, lit, isDigit, hexValue, nextCapacity, firstMarkedByte } from "../base/bytes";
import { validSequenceLength } from "../base/utf8";

export const MAX_DEPTH = 64;

// The keys the mappings read. Index into the field tables below.
export const F_MAC = 0;
export const F_OPERATION = 1;
export const F_RULE = 2;
export const F_TIME = 3;
export const F_FLOW0 = 4;
export const F_VERSION = 5;
export const F_FLOW_STATE = 6;
export const F_SOURCE_ADDR = 7;
export const F_SOURCE_PORT = 8;
export const F_DEST_ADDR = 9;
export const F_DEST_PORT = 10;
export const F_FLOW_LOG_VERSION = 11;
export const F_MESSAGE = 12;
export const F_LOG = 13;
// Read only for event.id (and the full-ECS profile): the resource and flow log a tuple belongs to.
export const F_RESOURCE_ID = 14;
export const F_FLOW_LOG_RESOURCE_ID = 15;
export const F_TARGET_RESOURCE_ID = 16;
export const F_FLOW_LOG_GUID = 17;
export const F_ACL_ID = 18;
const FIELD_COUNT = 19;

const KEY_NAMES: Lit[] = [
  lit("macAddress"), lit("operationName"), lit("rule"), lit("time"), lit("flow.0"),
  lit("version"), lit("flow_state"), lit("source_addr"), lit("source_port"),
  lit("destination_addr"), lit("destination_port"), lit("flowLogVersion"), lit("message"),
  lit("log"), lit("resourceId"), lit("flowLogResourceID"), lit("targetResourceID"), lit("flowLogGUID"),
  lit("aclID"),
];

export function keyName(field: i32): Lit {
  return unchecked(KEY_NAMES[field]);
}

// Value kinds. A string's span is its decoded content; any other value's span is its JSON text.
export const V_ABSENT: u8 = 0;
export const V_STRING: u8 = 1;
export const V_NUMBER: u8 = 2;
export const V_NULL: u8 = 3;
export const V_OTHER: u8 = 4; // true, false, an object or an array

// The field table, at fixed addresses (a field's entry is then one load with a constant offset):
// the kinds, one byte each (cleared in one fill per record), and per field 16 bytes: the value's
// pointer, its length, the member's position, and whether the value can be written back as is (a
// string that had no escapes, so, being valid JSON, holds no quote, backslash or control
// character; or a number).
const KINDS: usize = memory.data(FIELD_COUNT);
const FIELDS: usize = memory.data(FIELD_COUNT * 16, 8);
const F_PTR = 0;
const F_LEN = 4;
const F_ORDER = 8;
const F_VERBATIM = 12;

@inline export function kindOf(f: i32): u8 { return load<u8>(KINDS + <usize>f); }
@inline export function ptrOf(f: i32): usize { return load<usize>(FIELDS + (<usize>f << 4), F_PTR); }
@inline export function lenOf(f: i32): i32 { return load<i32>(FIELDS + (<usize>f << 4), F_LEN); }
@inline export function verbatimOf(f: i32): bool { return load<u8>(FIELDS + (<usize>f << 4), F_VERBATIM) != 0; }
/** Position of the field among the record's members (of the occurrence that wins). */
@inline export function orderOf(f: i32): i32 { return load<i32>(FIELDS + (<usize>f << 4), F_ORDER); }

@inline function setEntry(f: i32, kind: u8, ptr: usize, len: i32, order: i32, verbatim: bool): void {
  store<u8>(KINDS + <usize>f, kind);
  const e = FIELDS + (<usize>f << 4);
  store<usize>(e, ptr, F_PTR);
  store<i32>(e, len, F_LEN);
  store<i32>(e, order, F_ORDER);
  store<u8>(e, <u8>verbatim, F_VERBATIM);
}

/** A string field with non-empty content (the contract: empty counts as absent). */
@inline export function hasText(f: i32): bool {
  return kindOf(f) == V_STRING && lenOf(f) > 0;
}

/** For a raw event whose fields are known without scanning it (the blob splitter wrote it and
 * knows where each value is): forget all fields, then set those it has. */
export function clearFields(): void {
  memory.fill(KINDS, V_ABSENT, FIELD_COUNT);
  escapedOf = 0; // the escaped copy belongs to a scanned record, not to this one
}

/** A field whose value is `kind` (a string's content needing no escaping, or a number's text). */
export function setField(f: i32, kind: u8, ptr: usize, len: i32): void {
  setEntry(f, kind, ptr, len, f, true);
}

// Errors: the scanner stops at the first problem and says what and where.
export const SCAN_OK = 0;
export const SCAN_INVALID_JSON = 1;
export const SCAN_TOO_DEEP = 2;
export const SCAN_NOT_OBJECT = 3;
/** A string holds bytes that are not UTF-8. */
export const SCAN_INVALID_UTF8 = 4;
export let scanError: i32 = SCAN_OK;
export let scanErrorOffset: i32 = 0;
/** For SCAN_INVALID_JSON: the byte found (or -1 at end of input). */
export let scanErrorByte: i32 = 0;
/** For SCAN_NOT_OBJECT: the first byte of the value ('[', '"', 't', 'n', a digit…). */
export let nonObjectKind: u32 = 0;

function tooDeep(): i32 {
  scanError = SCAN_TOO_DEEP;
  scanErrorOffset = <i32>tooDeepAt;
  return scanError;
}

// Scratch arena for decoded strings; reset per record, sized to the record (decoding shrinks).
let arena: usize = heap.alloc(65536);
let arenaCap: i32 = 65536;
let arenaPos: i32 = 0;

let base: usize = 0;
let end: usize = 0;

function fail(code: i32, p: usize): usize {
  if (scanError == SCAN_OK) {
    scanError = code;
    scanErrorOffset = <i32>(p - base);
    scanErrorByte = p < end ? <i32>load<u8>(p) : -1;
  }
  return 0;
}

/** Set when whitespace other than spaces stood between tokens: the escaped copy would need \n, \t
 * or \r escapes there, so the writer escapes the record itself instead. */
let sawControlSpace: bool = false;

@inline function skipWs(p: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20) {
      if (c != 0x0a && c != 0x0d && c != 0x09) break;
      sawControlSpace = true;
    }
    p++;
  }
  return p;
}

/** For 8 string bytes: the high bit of each byte that is a quote, a backslash, a control
 * character or >= 0x80. On the low 7 bits of each byte, adding 0x7f sets the high bit unless the
 * byte was 0 (so, after an xor, unless it equalled the xored value), and adding 0x60 sets it from
 * 0x20 up; no sum carries into the next byte. */
@inline function stringStops(x: u64): u64 {
  const t = x & 0x7f7f7f7f7f7f7f7f;
  const notQuote = (t ^ 0x2222222222222222) + 0x7f7f7f7f7f7f7f7f;
  const notBackslash = (t ^ 0x5c5c5c5c5c5c5c5c) + 0x7f7f7f7f7f7f7f7f;
  const notControl = t + 0x6060606060606060;
  return (x | ~(notQuote & notBackslash & notControl)) & 0x8080808080808080;
}

/** From p (inside a string), the first quote, backslash, control character or byte >= 0x80, or
 * `end`. The last bytes of the record are read as one word ending at `end`, whose bytes past the
 * string's end are shifted in as zeros: control characters, so they stop the search at `end`.
 * `end` and `base` come as arguments: locals are free in the interpreter, globals are loads. */
@inline function stringStop(p: usize, end: usize, base: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const quote = i8x16.splat(0x22);
    const backslash = i8x16.splat(0x5c);
    const space = i8x16.splat(0x20);
    while (p + 16 <= end) {
      const v = v128.load(p);
      const hit = v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), i8x16.lt_u(v, space));
      const mask = i8x16.bitmask(hit) | i8x16.bitmask(v);
      if (mask != 0) return p + <usize>ctz(mask);
      p += 16;
    }
  }
  // Two words a turn: the interpreter pays for the loop's own test and step too.
  const last = end - 16;
  while (p <= last) {
    const m = stringStops(load<u64>(p));
    if (m != 0) return p + firstMarkedByte(m);
    const n = stringStops(load<u64>(p, 8));
    if (n != 0) return p + 8 + firstMarkedByte(n);
    p += 16;
  }
  if (p + 8 <= end) {
    const m = stringStops(load<u64>(p));
    if (m != 0) return p + firstMarkedByte(m);
    p += 8;
  }
  const left = end - p;
  if (left == 0) return end;
  if (end - base >= 8) {
    return p + firstMarkedByte(stringStops(load<u64>(end - 8) >> (<u64>(8 - left) << 3)));
  }
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c == 0x22 || c == 0x5c || c < 0x20 || c >= 0x80) return p;
    p++;
  }
  return end;
}

/** Set by stringRest: the string held a backslash escape. */
let restEscaped: bool = false;

/** The rest of a string from a stop that is not its closing quote (a backslash, a control
 * character, a byte >= 0x80, or the end): validates escapes and UTF-8. Returns the closing
 * quote's position, or 0 (failed). */
function stringRest(p: usize): usize {
  restEscaped = false;
  while (true) {
    if (p >= end) return fail(SCAN_INVALID_JSON, p);
    const c = <u32>load<u8>(p);
    if (c == 0x22) return p;
    if (c == 0x5c) {
      restEscaped = true;
      if (p + 1 >= end) return fail(SCAN_INVALID_JSON, p + 1);
      const e = <u32>load<u8>(p + 1);
      if (e == 0x75) {
        for (let i = 2; i < 6; i++) {
          if (p + i >= end) return fail(SCAN_INVALID_JSON, end);
          if (hexValue(<u32>load<u8>(p + i)) < 0) return fail(SCAN_INVALID_JSON, p + i);
        }
        p += 6;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        p += 2;
      } else {
        return fail(SCAN_INVALID_JSON, p + 1);
      }
    } else if (c < 0x20) {
      return fail(SCAN_INVALID_JSON, p);
    } else if (c >= 0x80) {
      // Only strings may hold non-ASCII; whether a bad sequence is reported as invalid UTF-8
      // is for the caller to tell (it must win over any JSON error anywhere in the record).
      const n = validSequenceLength(p, end);
      if (n == 0) return fail(SCAN_INVALID_UTF8, p);
      p += <usize>n;
    } else {
      p++;
    }
    p = stringStop(p, end, base);
  }
  return 0; // not reached
}

// ---- Strings Fluent Bit serialised (the filter ABI's trusted input) ---------------------------
//
// Fluent Bit hands the filter JSON it wrote itself (flb_pack.c, flb_utils_write_str): every string
// it writes escapes quotes, backslashes and control characters, writes only valid escapes, and is
// valid UTF-8 (bytes that were not become U+FFFD, or U+E0xx with json.escape_unicode on). Inside
// such a string only a quote (its end) or a backslash (an escape) matters, so the scan skips the
// control-character and UTF-8 checks. Everything outside strings is still checked: Fluent Bit
// writes a NaN as `nan`, a non-string map key as a bare number, and nests without a limit.
// DEVELOPERS.md ("The ABIs", Fluent Bit) has the measurements; tests/fluent-bit-trusted.test.ts
// fuzzes it through a real Fluent Bit.

/** stringStops for a trusted string: the high bit of each quote or backslash, and of a byte >= 0x80
 * whose low 7 bits are a quote's or a backslash's (0xa2, 0xdc: rare, and trustedStringRest steps
 * over such a false stop). Eight operations a word where the strict mask takes eleven. */
@inline function trustedStringStops(x: u64): u64 {
  const t = x & 0x7f7f7f7f7f7f7f7f;
  const notQuote = (t ^ 0x2222222222222222) + 0x7f7f7f7f7f7f7f7f;
  const notBackslash = (t ^ 0x5c5c5c5c5c5c5c5c) + 0x7f7f7f7f7f7f7f7f;
  return (notQuote & notBackslash & 0x8080808080808080) ^ 0x8080808080808080;
}

/** stringStop for a trusted string: the first quote or backslash from p, or `end`. The last word
 * ends at `end`, with quotes shifted in past it so that the search stops there. */
@inline function trustedStringStop(p: usize, end: usize, base: usize): usize {
  // The SIMD build (V8) keeps the strict search: trustedStringRest steps over its extra stops.
  if (ASC_FEATURE_SIMD) return stringStop(p, end, base);
  const last = end - 16;
  while (p <= last) {
    const m = trustedStringStops(load<u64>(p));
    if (m != 0) return p + firstMarkedByte(m);
    const n = trustedStringStops(load<u64>(p, 8));
    if (n != 0) return p + 8 + firstMarkedByte(n);
    p += 16;
  }
  if (p + 8 <= end) {
    const m = trustedStringStops(load<u64>(p));
    if (m != 0) return p + firstMarkedByte(m);
    p += 8;
  }
  const left = end - p;
  if (left == 0) return end;
  if (end - base >= 8) {
    const shift = <u64>(8 - left) << 3;
    const w = (load<u64>(end - 8) >> shift) | (<u64>0x2222222222222222 << (<u64>left << 3));
    return p + firstMarkedByte(trustedStringStops(w));
  }
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c == 0x22 || c == 0x5c) return p;
    p++;
  }
  return end;
}

/** stringRest for a trusted string: steps over escapes without checking them. Returns the
 * closing quote's position, or 0 when there is none (the caller then scans the record strictly). */
function trustedStringRest(p: usize): usize {
  restEscaped = false;
  while (true) {
    if (p >= end) return fail(SCAN_INVALID_JSON, p);
    const c = <u32>load<u8>(p);
    if (c == 0x22) return p;
    if (c == 0x5c) {
      restEscaped = true;
      p += p + 1 < end && load<u8>(p + 1) == 0x75 ? 6 : 2;
      if (p > end) return fail(SCAN_INVALID_JSON, end);
    } else {
      p++;
    }
    p = trustedStringStop(p, end, base);
  }
  return 0; // not reached
}

/** p is just after the opening quote. Returns the position after the closing quote, or 0. */
@inline function scanString(p: usize): usize {
  let q = stringStop(p, end, base);
  if (q >= end || load<u8>(q) != 0x22) {
    q = stringRest(q);
    if (q == 0) return 0;
  }
  return q + 1;
}

function hex4(p: usize): u32 {
  return (<u32>hexValue(load<u8>(p)) << 12) | (<u32>hexValue(load<u8>(p + 1)) << 8) |
    (<u32>hexValue(load<u8>(p + 2)) << 4) | <u32>hexValue(load<u8>(p + 3));
}

/** Decodes the escaped string [from, to) (already validated) into the arena. A lone surrogate
 * becomes its 3-byte WTF-8 form, which the writer turns back into a \udxxx escape. */
export function decodeInto(dst: usize, from: usize, to: usize): i32 {
  let q = dst;
  let p = from;
  while (p < to) {
    const c = <u32>load<u8>(p);
    if (c != 0x5c) { store<u8>(q++, <u8>c); p++; continue; }
    const e = <u32>load<u8>(p + 1);
    p += 2;
    let out: u32 = e;
    switch (e) {
      case 0x62: out = 0x08; break;
      case 0x66: out = 0x0c; break;
      case 0x6e: out = 0x0a; break;
      case 0x72: out = 0x0d; break;
      case 0x74: out = 0x09; break;
      case 0x75: {
        let cp = hex4(p);
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && p + 6 <= to && load<u8>(p) == 0x5c && load<u8>(p + 1) == 0x75) {
          const lo = hex4(p + 2);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          }
        }
        q = putCodePoint(q, cp);
        continue;
      }
    }
    store<u8>(q++, <u8>out);
  }
  return <i32>(q - dst);
}

function putCodePoint(q: usize, cp: u32): usize {
  if (cp < 0x80) {
    store<u8>(q, <u8>cp);
    return q + 1;
  }
  if (cp < 0x800) {
    store<u8>(q, <u8>(0xc0 | (cp >> 6)));
    store<u8>(q + 1, <u8>(0x80 | (cp & 0x3f)));
    return q + 2;
  }
  if (cp < 0x10000) {
    store<u8>(q, <u8>(0xe0 | (cp >> 12)));
    store<u8>(q + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
    store<u8>(q + 2, <u8>(0x80 | (cp & 0x3f)));
    return q + 3;
  }
  store<u8>(q, <u8>(0xf0 | (cp >> 18)));
  store<u8>(q + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
  store<u8>(q + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
  store<u8>(q + 3, <u8>(0x80 | (cp & 0x3f)));
  return q + 4;
}

function scanNumber(p: usize): usize {
  if (load<u8>(p) == 0x2d) p++;
  if (p >= end) return fail(SCAN_INVALID_JSON, p);
  let c = <u32>load<u8>(p);
  if (c == 0x30) p++;
  else if (c - 0x31 < 9) {
    p++;
    while (p < end && isDigit(load<u8>(p))) p++;
  } else return fail(SCAN_INVALID_JSON, p);
  if (p < end && load<u8>(p) == 0x2e) {
    p++;
    if (p >= end || !isDigit(load<u8>(p))) return fail(SCAN_INVALID_JSON, p);
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  if (p < end && (load<u8>(p) | 0x20) == 0x65) {
    p++;
    if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    if (p >= end || !isDigit(load<u8>(p))) return fail(SCAN_INVALID_JSON, p);
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  return p;
}

const TRUE = lit("true");
const FALSE = lit("false");
const NULL = lit("null");

function scanLiteral(p: usize, l: Lit): usize {
  for (let i = 0; i < l.len; i++) {
    if (p + i >= end || load<u8>(p + i) != load<u8>(l.ptr + i)) return fail(SCAN_INVALID_JSON, p + i);
  }
  return p + <usize>l.len;
}

// Open containers while skipping a nested value, one bit each (1 = object): a record of at most
// MAX_RECORD_BYTES cannot nest deeper than that many levels. Nesting past MAX_DEPTH is noted and
// reported only if the record is otherwise valid JSON (invalid_json comes first).
const STACK_BITS = 65536 * 2;
const openers = new StaticArray<u8>(STACK_BITS / 8);
let tooDeepAt: i64 = -1;

@inline function pushOpener(sp: i32, isObject: bool): void {
  const i = sp >> 3;
  const shift: i32 = sp & 7;
  const bit = <u8>(<i32>1 << shift);
  const b = unchecked(openers[i]);
  unchecked(openers[i] = isObject ? b | bit : b & ~bit);
}

@inline function openerIsObject(sp: i32): bool {
  const shift: i32 = sp & 7;
  return ((<i32>unchecked(openers[sp >> 3]) >> shift) & 1) != 0;
}

/** Validates and skips one nested object or array starting at p (at '{' or '['), which sits
 * at nesting depth `depth`. Iterative, so deep input cannot exhaust the wasm stack. */
function skipContainer(p: usize, depth: i32): usize {
  let sp = 0;
  pushOpener(0, load<u8>(p) == 0x7b);
  if (depth > MAX_DEPTH && tooDeepAt < 0) tooDeepAt = <i64>(p - base);
  p++;
  let first = true;
  while (true) {
    p = skipWs(p);
    if (p >= end) return fail(SCAN_INVALID_JSON, p);
    const isObject = openerIsObject(sp);
    let c = <u32>load<u8>(p);
    if (first && (c == 0x7d && isObject || c == 0x5d && !isObject)) {
      p++;
      if (sp == 0) return p;
      sp--;
    } else {
      if (isObject) {
        if (c != 0x22) return fail(SCAN_INVALID_JSON, p);
        p = scanString(p + 1);
        if (p == 0) return 0;
        p = skipWs(p);
        if (p >= end || load<u8>(p) != 0x3a) return fail(SCAN_INVALID_JSON, p);
        p = skipWs(p + 1);
        if (p >= end) return fail(SCAN_INVALID_JSON, p);
        c = <u32>load<u8>(p);
      }
      if (c == 0x7b || c == 0x5b) {
        sp++;
        if (sp >= STACK_BITS) return fail(SCAN_INVALID_JSON, p); // beyond any record we accept
        if (depth + sp > MAX_DEPTH && tooDeepAt < 0) tooDeepAt = <i64>(p - base);
        pushOpener(sp, c == 0x7b);
        p++;
        first = true;
        continue;
      }
      p = scanScalar(p, c);
      if (p == 0) return 0;
    }
    // After a value (or a closed container): a comma or the closer of the innermost container.
    while (true) {
      p = skipWs(p);
      if (p >= end) return fail(SCAN_INVALID_JSON, p);
      const d = <u32>load<u8>(p);
      const o = openerIsObject(sp);
      if (d == 0x2c) { p++; first = false; break; }
      if (d == 0x7d && o || d == 0x5d && !o) {
        p++;
        if (sp == 0) return p;
        sp--;
        continue;
      }
      return fail(SCAN_INVALID_JSON, p);
    }
  }
}

function scanScalar(p: usize, c: u32): usize {
  if (c == 0x22) return scanString(p + 1);
  if (c == 0x2d || isDigit(c)) return scanNumber(p);
  if (c == 0x74) return scanLiteral(p, TRUE);
  if (c == 0x66) return scanLiteral(p, FALSE);
  if (c == 0x6e) return scanLiteral(p, NULL);
  return fail(SCAN_INVALID_JSON, p);
}

// Each key as two words, its first and last 8 (or 4) bytes, overlapping for short keys: one or
// two comparisons tell a key of a given length. At fixed addresses: with a constant field, each
// word is one load.
const KEY_HEAD: usize = memory.data(FIELD_COUNT * 8, 8);
const KEY_TAIL: usize = memory.data(FIELD_COUNT * 8, 8);
for (let f = 0; f < FIELD_COUNT; f++) {
  const k = KEY_NAMES[f];
  const at = <usize>f << 3;
  if (k.len >= 8) {
    store<u64>(KEY_HEAD + at, load<u64>(k.ptr));
    store<u64>(KEY_TAIL + at, load<u64>(k.ptr + <usize>k.len - 8));
  } else if (k.len >= 4) {
    store<u64>(KEY_HEAD + at, <u64>load<u32>(k.ptr));
    store<u64>(KEY_TAIL + at, <u64>load<u32>(k.ptr + <usize>k.len - 4));
  } else {
    store<u64>(KEY_HEAD + at, <u64>load<u16>(k.ptr));
    store<u64>(KEY_TAIL + at, <u64>load<u8>(k.ptr + 2));
  }
}

/** Whether the key's head and tail words are those of field f (`&`, not `&&`: one branch, not
 * two, for the interpreter's host CPU to guess). */
@inline function keyIs(head: u64, tail: u64, f: i32): bool {
  return (head == load<u64>(KEY_HEAD + (<usize>f << 3))) & (tail == load<u64>(KEY_TAIL + (<usize>f << 3)));
}

@inline function fieldIndex(kp: usize, klen: i32): i32 {
  // Dispatch on length first: most keys of a raw event are ones we read. Each length reads the
  // key's two words once.
  switch (klen) {
    case 3: return keyIs(<u64>load<u16>(kp), <u64>load<u8>(kp, 2), F_LOG) ? F_LOG : -1;
    case 4: {
      const w = <u64>load<u32>(kp);
      if (keyIs(w, w, F_RULE)) return F_RULE;
      if (keyIs(w, w, F_TIME)) return F_TIME;
      return -1;
    }
    case 5: return keyIs(<u64>load<u32>(kp), <u64>load<u32>(kp, 1), F_ACL_ID) ? F_ACL_ID : -1;
    case 6: return keyIs(<u64>load<u32>(kp), <u64>load<u32>(kp, 2), F_FLOW0) ? F_FLOW0 : -1;
    case 7: {
      const head = <u64>load<u32>(kp);
      const tail = <u64>load<u32>(kp, 3);
      if (keyIs(head, tail, F_VERSION)) return F_VERSION;
      if (keyIs(head, tail, F_MESSAGE)) return F_MESSAGE;
      return -1;
    }
    case 10: {
      const head = load<u64>(kp);
      const tail = load<u64>(kp, 2);
      if (keyIs(head, tail, F_MAC)) return F_MAC;
      if (keyIs(head, tail, F_RESOURCE_ID)) return F_RESOURCE_ID;
      if (keyIs(head, tail, F_FLOW_STATE)) return F_FLOW_STATE;
      return -1;
    }
    case 11: {
      const head = load<u64>(kp);
      const tail = load<u64>(kp, 3);
      if (keyIs(head, tail, F_SOURCE_ADDR)) return F_SOURCE_ADDR;
      if (keyIs(head, tail, F_SOURCE_PORT)) return F_SOURCE_PORT;
      if (keyIs(head, tail, F_FLOW_LOG_GUID)) return F_FLOW_LOG_GUID;
      return -1;
    }
    case 13: return keyIs(load<u64>(kp), load<u64>(kp, 5), F_OPERATION) ? F_OPERATION : -1;
    case 14: return keyIs(load<u64>(kp), load<u64>(kp, 6), F_FLOW_LOG_VERSION) ? F_FLOW_LOG_VERSION : -1;
    case 16: {
      const head = load<u64>(kp);
      const tail = load<u64>(kp, 8);
      if (keyIs(head, tail, F_DEST_ADDR)) return F_DEST_ADDR;
      if (keyIs(head, tail, F_DEST_PORT)) return F_DEST_PORT;
      if (keyIs(head, tail, F_TARGET_RESOURCE_ID)) return F_TARGET_RESOURCE_ID;
      return -1;
    }
    // The two words of a 17-byte key leave out its byte 8 (the "e" of flowLogResourceID): without
    // it, any key differing there passed for it (found by npm run fuzz).
    case 17: return keyIs(load<u64>(kp), load<u64>(kp, 9), F_FLOW_LOG_RESOURCE_ID) && load<u8>(kp, 8) == 0x65 ? F_FLOW_LOG_RESOURCE_ID : -1;
  }
  return -1;
}

// ---- The escaped copy of the record (the ECS `message`) ---------------------------------------

/** Records longer than this get no escaped copy (the mapping refuses them anyway). */
const ESCAPED_MAX = 65536;
/** The escaped copy of the last scanned record: at most two bytes per byte. */
export const escapedCopy: usize = heap.alloc(2 * ESCAPED_MAX + 64);
let escapedLen: i32 = 0;
/** The record the escaped copy is of (0: none). */
let escapedOf: usize = 0;
let escapedOfLen: i32 = 0;

/** The length of the escaped copy of the record [ptr, ptr+len) (its bytes at escapedCopy), or -1
 * when the last scan made none of that record: not a flat object of at most 64 KiB with only
 * spaces between its tokens. It is then what putEscaped writes of the record. */
export function escapedCopyOf(ptr: usize, len: i32): i32 {
  return escapedOf == ptr && escapedOfLen == len && ptr != 0 ? escapedLen : -1;
}

/** Appends to the escaped copy at `o` the bytes since the last token [from, q0), then the string
 * token from its opening quote q0 up to its closing quote q1, each quote after a backslash; the
 * closing quote itself goes with the next gap (the caller sets from = q1). Returns the new end.
 * For a string without escapes: nothing inside needs a backslash. */
@inline function copyStringToken(o: usize, from: usize, q0: usize, q1: usize): usize {
  const gap = q0 - from;
  memory.copy(o, from, gap);
  o += gap;
  store<u8>(o, 0x5c);
  o++;
  const n = q1 - q0;
  memory.copy(o, q0, n);
  o += n;
  store<u8>(o, 0x5c);
  return o + 1;
}

/** copyStringToken for a string that may hold backslashes and escaped quotes. */
function copyEscapedToken(o: usize, from: usize, q0: usize, q1: usize): usize {
  const gap = q0 - from;
  memory.copy(o, from, gap);
  o += gap;
  store<u8>(o++, 0x5c);
  store<u8>(o++, 0x22);
  for (let p = q0 + 1; p < q1; p++) {
    const c = load<u8>(p);
    if (c == 0x22 || c == 0x5c) store<u8>(o++, 0x5c);
    store<u8>(o++, c);
  }
  store<u8>(o, 0x5c);
  return o + 1;
}

// ---- The record ---------------------------------------------------------------------------------

/** Scans the record [ptr, ptr+len). Returns SCAN_OK and fills the field table, or an error
 * code with scanErrorOffset/scanErrorByte set. */
export function scanRecord(ptr: usize, len: i32): i32 {
  return scanMembers(ptr, len, false);
}

/** scanRecord for a record Fluent Bit serialised (the filter ABI): the same field table and
 * escaped copy, its strings scanned as trusted (above). Only for SCAN_OK is the answer the strict
 * scan's: on any other code the caller scans the record again with scanRecord, whose error
 * (kind, offset, byte) is the one to report. */
export function scanTrustedRecord(ptr: usize, len: i32): i32 {
  return scanMembers(ptr, len, true);
}

@inline function stopIn(p: usize, e: usize, ptr: usize, trusted: bool): usize {
  return trusted ? trustedStringStop(p, e, ptr) : stringStop(p, e, ptr);
}

@inline function restOf(p: usize, trusted: bool): usize {
  return trusted ? trustedStringRest(p) : stringRest(p);
}

// Inlined into both scans, `trusted` a constant: each gets its own loop with no test of it. A
// trusted record is followed by Fluent Bit's NUL terminator (flb_wasm.c copies it in with one), so
// the one-byte and two-byte looks past a token need no bound: at the end they read the NUL.
@inline function scanMembers(ptr: usize, len: i32, trusted: bool): i32 {
  base = ptr;
  end = ptr + <usize>len;
  scanError = SCAN_OK;
  if (arenaCap < len) {
    const cap = nextCapacity(arenaCap, len);
    arena = heap.realloc(arena, <usize>cap);
    arenaCap = cap;
  }
  arenaPos = 0;
  tooDeepAt = -1;
  sawControlSpace = false;
  escapedOf = 0;
  memory.fill(KINDS, V_ABSENT, FIELD_COUNT);

  let p = skipWs(ptr);
  if (p >= end) { fail(SCAN_INVALID_JSON, p); return scanError; }
  const c0 = <u32>load<u8>(p);
  if (c0 != 0x7b) {
    // Valid JSON that is not an object is told apart from garbage.
    const q = c0 == 0x5b ? skipContainer(p, 1) : scanScalar(p, c0);
    if (q == 0) return scanError;
    if (skipWs(q) != end) { fail(SCAN_INVALID_JSON, skipWs(q)); return scanError; }
    if (tooDeepAt >= 0) return tooDeep();
    nonObjectKind = c0;
    fail(SCAN_NOT_OBJECT, p);
    return scanError;
  }
  p = skipWs(p + 1);
  if (p < end && load<u8>(p) == 0x7d) {
    p = skipWs(p + 1);
    if (p != end) fail(SCAN_INVALID_JSON, p);
    return scanError;
  }
  // The escaped copy is written as the members go by: o is its end, from the first byte of the
  // record not yet in it. Nested values switch it off (the writer escapes such a record itself).
  // The common case (plain strings, compact separators) runs through with as few branches as
  // possible: each one is a guess for the host CPU of Fluent Bit's interpreter.
  const e = end; // a local: the interpreter reads a global with several loads
  let escaping = len <= ESCAPED_MAX;
  let o = escapedCopy;
  let from = ptr;
  let member = 0;
  if (p >= e || load<u8>(p) != 0x22) { fail(SCAN_INVALID_JSON, p); return scanError; }
  while (true) {
    // The key; p is at its opening quote.
    const k0 = p;
    let k1 = stopIn(p + 1, e, ptr, trusted);
    let field: i32;
    if ((trusted || k1 < e) && load<u8>(k1) == 0x22) {
      field = fieldIndex(k0 + 1, <i32>(k1 - k0 - 1));
      if (escaping) {
        o = copyStringToken(o, from, k0, k1);
        from = k1;
      }
    } else {
      k1 = restOf(k1, trusted);
      if (k1 == 0) return scanError;
      if (restEscaped) {
        const at = arena + <usize>arenaPos;
        const n = decodeInto(at, k0 + 1, k1);
        arenaPos += n;
        field = fieldIndex(at, n);
      } else {
        field = fieldIndex(k0 + 1, <i32>(k1 - k0 - 1));
      }
      if (escaping) {
        o = copyEscapedToken(o, from, k0, k1);
        from = k1;
      }
    }
    p = k1 + 1;
    // The colon, and the value: `:"` (a string, straight after) is one load.
    let c: u32 = 0x22;
    if ((trusted || p + 1 < e) && load<u16>(p) == 0x223a) {
      p++;
    } else {
      if (p < e && load<u8>(p) <= 0x20) p = skipWs(p);
      if (p >= e || load<u8>(p) != 0x3a) { fail(SCAN_INVALID_JSON, p); return scanError; }
      p++;
      if (p < e && load<u8>(p) <= 0x20) p = skipWs(p);
      if (p >= e) { fail(SCAN_INVALID_JSON, p); return scanError; }
      c = <u32>load<u8>(p);
    }
    if (c == 0x22) {
      const v0 = p;
      let v1 = stopIn(p + 1, e, ptr, trusted);
      if ((trusted || v1 < e) && load<u8>(v1) == 0x22) {
        if (field >= 0) setEntry(field, V_STRING, v0 + 1, <i32>(v1 - v0 - 1), member, true);
        if (escaping) {
          o = copyStringToken(o, from, v0, v1);
          from = v1;
        }
      } else {
        v1 = restOf(v1, trusted);
        if (v1 == 0) return scanError;
        if (field >= 0) {
          if (restEscaped) {
            const at = arena + <usize>arenaPos;
            const n = decodeInto(at, v0 + 1, v1);
            arenaPos += n;
            setEntry(field, V_STRING, at, n, member, false);
          } else {
            setEntry(field, V_STRING, v0 + 1, <i32>(v1 - v0 - 1), member, true);
          }
        }
        if (escaping) {
          o = copyEscapedToken(o, from, v0, v1);
          from = v1;
        }
      }
      p = v1 + 1;
    } else {
      const v0 = p;
      let kind: u8;
      if (c == 0x7b || c == 0x5b) {
        escaping = false;
        p = skipContainer(p, 2);
        kind = V_OTHER;
      } else {
        p = scanScalar(p, c);
        kind = c == 0x6e ? V_NULL : (c == 0x74 || c == 0x66 ? V_OTHER : V_NUMBER);
      }
      if (p == 0) return scanError;
      if (field >= 0) setEntry(field, kind, v0, <i32>(p - v0), member, true);
    }
    // A comma and the next key (`,"` is one load), or the end of the object.
    member++;
    if ((trusted || p + 1 < e) && load<u16>(p) == 0x222c) {
      p++;
      continue;
    }
    if (p < e && load<u8>(p) <= 0x20) p = skipWs(p);
    if (p >= e) { fail(SCAN_INVALID_JSON, p); return scanError; }
    const d = load<u8>(p);
    if (d == 0x2c) {
      p++;
      if (p < e && load<u8>(p) <= 0x20) p = skipWs(p);
      if (p >= e || load<u8>(p) != 0x22) { fail(SCAN_INVALID_JSON, p); return scanError; }
      continue;
    }
    if (d == 0x7d) {
      p = skipWs(p + 1);
      if (p != e) fail(SCAN_INVALID_JSON, p);
      else if (tooDeepAt >= 0) return tooDeep();
      else if (escaping && !sawControlSpace) {
        const rest = e - from;
        memory.copy(o, from, rest);
        escapedLen = <i32>(o + rest - escapedCopy);
        escapedOf = ptr;
        escapedOfLen = len;
      }
      return scanError;
    }
    fail(SCAN_INVALID_JSON, p);
    return scanError;
  }
}
