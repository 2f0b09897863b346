// One pass over one flat JSON object (a raw flow event): validates it strictly (RFC 8259, with a
// nesting limit) and records where the values of the keys the mappings read are. Strings with
// escapes are decoded into a scratch arena; plain ones are referenced in place. Non-ASCII may
// only stand in strings, and is checked to be UTF-8 there as it is scanned.
import { Lit, lit, isDigit, hexValue, nextCapacity } from "./bytes";
import { validSequenceLength } from "./utf8";

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

const fieldKind = new StaticArray<u8>(FIELD_COUNT);
const fieldPtr = new StaticArray<usize>(FIELD_COUNT);
const fieldLen = new StaticArray<i32>(FIELD_COUNT);
// Whether the value can be written back as is: a string that had no escapes (so, being valid
// JSON, holds no quote, backslash or control character), or a number.
const fieldVerbatim = new StaticArray<bool>(FIELD_COUNT);
const fieldOrder = new StaticArray<i32>(FIELD_COUNT);

@inline export function kindOf(f: i32): u8 { return unchecked(fieldKind[f]); }
@inline export function ptrOf(f: i32): usize { return unchecked(fieldPtr[f]); }
@inline export function lenOf(f: i32): i32 { return unchecked(fieldLen[f]); }
@inline export function verbatimOf(f: i32): bool { return unchecked(fieldVerbatim[f]); }
/** Position of the field among the record's members (of the occurrence that wins). */
@inline export function orderOf(f: i32): i32 { return unchecked(fieldOrder[f]); }

/** A string field with non-empty content (the contract: empty counts as absent). */
@inline export function hasText(f: i32): bool {
  return kindOf(f) == V_STRING && lenOf(f) > 0;
}

/** For a raw event whose fields are known without scanning it (the blob splitter wrote it and
 * knows where each value is): forget all fields, then set those it has. */
export function clearFields(): void {
  for (let i = 0; i < FIELD_COUNT; i++) unchecked(fieldKind[i] = V_ABSENT);
}

/** A field whose value is `kind` (a string's content needing no escaping, or a number's text). */
export function setField(f: i32, kind: u8, ptr: usize, len: i32): void {
  unchecked(fieldKind[f] = kind);
  unchecked(fieldPtr[f] = ptr);
  unchecked(fieldLen[f] = len);
  unchecked(fieldVerbatim[f] = true);
  unchecked(fieldOrder[f] = f);
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

@inline function skipWs(p: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    p++;
  }
  return p;
}

// Set by scanString: where the content is, and whether it holds escapes.
let strStart: usize = 0;
let strEnd: usize = 0;
let strEscaped: bool = false;

/** For 8 string bytes: a mask whose lowest set bit marks the first quote, backslash or
 * control character (higher bits may be spurious borrows, the lowest never is). */
@inline function stringStops(x: u64): u64 {
  const q = x ^ 0x2222222222222222;
  const b = x ^ 0x5c5c5c5c5c5c5c5c;
  return (((x - 0x2020202020202020) & ~x) | ((q - 0x0101010101010101) & ~q) | ((b - 0x0101010101010101) & ~b)) & 0x8080808080808080;
}

/** p is just after the opening quote. Returns the position after the closing quote, or 0. */
@inline function scanString(p: usize): usize {
  strStart = p;
  strEscaped = false;
  while (true) {
    if (ASC_FEATURE_SIMD) {
      const quote = i8x16.splat(0x22);
      const backslash = i8x16.splat(0x5c);
      const space = i8x16.splat(0x20);
      while (p + 16 <= end) {
        const v = v128.load(p);
        const hit = v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), i8x16.lt_u(v, space));
        // bitmask of the bytes themselves marks those >= 0x80: UTF-8 is checked as it comes.
        const mask = i8x16.bitmask(hit) | i8x16.bitmask(v);
        if (mask != 0) { p += <usize>ctz(mask); break; }
        p += 16;
      }
    } else {
      // Eight bytes at a time (the interpreter Fluent Bit runs counts every instruction).
      while (p + 8 <= end) {
        const x = load<u64>(p);
        const mask = stringStops(x) | (x & 0x8080808080808080);
        if (mask != 0) { p += <usize>(ctz(mask) >> 3); break; }
        p += 8;
      }
    }
    if (p >= end) return fail(SCAN_INVALID_JSON, p);
    const c = <u32>load<u8>(p);
    if (c == 0x22) {
      strEnd = p;
      return p + 1;
    }
    if (c == 0x5c) {
      strEscaped = true;
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
      continue;
    }
    if (c < 0x20) return fail(SCAN_INVALID_JSON, p);
    if (c >= 0x80) {
      // Only strings may hold non-ASCII; whether a bad sequence is reported as invalid UTF-8
      // is for the caller to tell (it must win over any JSON error anywhere in the record).
      const n = validSequenceLength(p, end);
      if (n == 0) return fail(SCAN_INVALID_UTF8, p);
      p += <usize>n;
      continue;
    }
    p++;
  }
  return 0; // not reached; the compiler's flow analysis cannot see through the SIMD loop
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

/** The last scanned string's content, decoded into the arena when it had escapes. */
@inline function decodedStringPtr(): usize {
  if (!strEscaped) return strStart;
  const at = arena + <usize>arenaPos;
  const n = decodeInto(at, strStart, strEnd);
  decodedLen = n;
  arenaPos += n;
  return at;
}
let decodedLen: i32 = 0;

@inline function decodedStringLen(): i32 {
  return strEscaped ? decodedLen : <i32>(strEnd - strStart);
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
// two comparisons tell a key of a given length.
const keyHead = new StaticArray<u64>(FIELD_COUNT);
const keyTail = new StaticArray<u64>(FIELD_COUNT);
for (let f = 0; f < FIELD_COUNT; f++) {
  const k = KEY_NAMES[f];
  if (k.len >= 8) {
    keyHead[f] = load<u64>(k.ptr);
    keyTail[f] = load<u64>(k.ptr + <usize>k.len - 8);
  } else if (k.len >= 4) {
    keyHead[f] = <u64>load<u32>(k.ptr);
    keyTail[f] = <u64>load<u32>(k.ptr + <usize>k.len - 4);
  } else {
    keyHead[f] = <u64>load<u16>(k.ptr);
    keyTail[f] = <u64>load<u8>(k.ptr + 2);
  }
}

@inline function isKey(kp: usize, klen: i32, f: i32): bool {
  if (klen >= 8) {
    return load<u64>(kp) == unchecked(keyHead[f]) && load<u64>(kp + <usize>klen - 8) == unchecked(keyTail[f]);
  }
  if (klen >= 4) {
    return <u64>load<u32>(kp) == unchecked(keyHead[f]) && <u64>load<u32>(kp + <usize>klen - 4) == unchecked(keyTail[f]);
  }
  return <u64>load<u16>(kp) == unchecked(keyHead[f]) && <u64>load<u8>(kp + 2) == unchecked(keyTail[f]);
}

@inline function fieldIndex(kp: usize, klen: i32): i32 {
  // Dispatch on length first: most keys of a raw event are ones we read.
  switch (klen) {
    case 3: return isKey(kp, klen, F_LOG) ? F_LOG : -1;
    case 4: {
      if (isKey(kp, klen, F_RULE)) return F_RULE;
      if (isKey(kp, klen, F_TIME)) return F_TIME;
      return -1;
    }
    case 5: return isKey(kp, klen, F_ACL_ID) ? F_ACL_ID : -1;
    case 6: return isKey(kp, klen, F_FLOW0) ? F_FLOW0 : -1;
    case 7: {
      if (isKey(kp, klen, F_VERSION)) return F_VERSION;
      if (isKey(kp, klen, F_MESSAGE)) return F_MESSAGE;
      return -1;
    }
    case 10: {
      if (isKey(kp, klen, F_MAC)) return F_MAC;
      if (isKey(kp, klen, F_FLOW_STATE)) return F_FLOW_STATE;
      if (isKey(kp, klen, F_RESOURCE_ID)) return F_RESOURCE_ID;
      return -1;
    }
    case 11: {
      if (isKey(kp, klen, F_SOURCE_ADDR)) return F_SOURCE_ADDR;
      if (isKey(kp, klen, F_SOURCE_PORT)) return F_SOURCE_PORT;
      if (isKey(kp, klen, F_FLOW_LOG_GUID)) return F_FLOW_LOG_GUID;
      return -1;
    }
    case 13: return isKey(kp, klen, F_OPERATION) ? F_OPERATION : -1;
    case 14: return isKey(kp, klen, F_FLOW_LOG_VERSION) ? F_FLOW_LOG_VERSION : -1;
    case 16: {
      if (isKey(kp, klen, F_DEST_ADDR)) return F_DEST_ADDR;
      if (isKey(kp, klen, F_DEST_PORT)) return F_DEST_PORT;
      if (isKey(kp, klen, F_TARGET_RESOURCE_ID)) return F_TARGET_RESOURCE_ID;
      return -1;
    }
    case 17: return isKey(kp, klen, F_FLOW_LOG_RESOURCE_ID) ? F_FLOW_LOG_RESOURCE_ID : -1;
  }
  return -1;
}

/** Scans the record [ptr, ptr+len). Returns SCAN_OK and fills the field table, or an error
 * code with scanErrorOffset/scanErrorByte set. */
export function scanRecord(ptr: usize, len: i32): i32 {
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
  for (let i = 0; i < FIELD_COUNT; i++) unchecked(fieldKind[i] = V_ABSENT);

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
  let member = 0;
  while (true) {
    if (p >= end || load<u8>(p) != 0x22) { fail(SCAN_INVALID_JSON, p); return scanError; }
    p = scanString(p + 1);
    if (p == 0) return scanError;
    const kptr = decodedStringPtr();
    const field = fieldIndex(kptr, decodedStringLen());
    p = skipWs(p);
    if (p >= end || load<u8>(p) != 0x3a) { fail(SCAN_INVALID_JSON, p); return scanError; }
    p = skipWs(p + 1);
    if (p >= end) { fail(SCAN_INVALID_JSON, p); return scanError; }
    const c = <u32>load<u8>(p);
    let kind: u8;
    let vptr: usize = p;
    let vlen: i32 = 0;
    if (c == 0x22) {
      p = scanString(p + 1);
      if (p == 0) return scanError;
      kind = V_STRING;
      if (field >= 0) {
        vptr = decodedStringPtr();
        vlen = decodedStringLen();
      }
    } else if (c == 0x7b || c == 0x5b) {
      p = skipContainer(p, 2);
      if (p == 0) return scanError;
      kind = V_OTHER;
      vlen = <i32>(p - vptr);
    } else {
      p = scanScalar(p, c);
      if (p == 0) return scanError;
      kind = c == 0x6e ? V_NULL : (c == 0x74 || c == 0x66 ? V_OTHER : V_NUMBER);
      vlen = <i32>(p - vptr);
    }
    if (field >= 0) {
      unchecked(fieldKind[field] = kind);
      unchecked(fieldPtr[field] = vptr);
      unchecked(fieldLen[field] = vlen);
      unchecked(fieldVerbatim[field] = kind != V_STRING || !strEscaped);
      unchecked(fieldOrder[field] = member);
    }
    p = skipWs(p);
    if (p >= end) { fail(SCAN_INVALID_JSON, p); return scanError; }
    const d = load<u8>(p);
    if (d == 0x2c) { p = skipWs(p + 1); member++; continue; }
    if (d == 0x7d) {
      p = skipWs(p + 1);
      if (p != end) fail(SCAN_INVALID_JSON, p);
      else if (tooDeepAt >= 0) return tooDeep();
      return scanError;
    }
    fail(SCAN_INVALID_JSON, p);
    return scanError;
  }
}
