// One raw event in, one JSON object out: the ECS event, or the error event saying what is wrong
// and where. This is the function every ABI calls per record; it never traps on any input.
import { lit, nextCapacity, spanEquals, HEX_DIGITS } from "../base/bytes";
import { firstInvalidUtf8 } from "../base/utf8";
import { reserve, worstCaseOutput, put, putEscaped, putLit, putU64 } from "../base/output";
import {
  scanRecord, scanTrustedRecord, scanErrorOffset, scanErrorByte, SCAN_OK, SCAN_TOO_DEEP, SCAN_NOT_OBJECT, nonObjectKind,
  MAX_DEPTH, kindOf, ptrOf, lenOf, keyName, V_STRING, V_ABSENT, V_NULL,
  F_FLOW0, F_OPERATION, F_FLOW_LOG_VERSION, F_MESSAGE, F_LOG, F_TIME,
} from "../scan/json";
import {
  MAP_OK, MAP_INVALID_FIELD, MAP_INVALID_TIME, badField, badFieldExpected, EXPECT_STRING,
  EXPECT_VERSION,
} from "../scan/fields";
import { eventIdEnabled, fullProfile } from "../base/settings";
import { computeEventId, eventIdText, EVENT_ID_LEN } from "../hash/event-id";
import { facts } from "../flow/facts";
import { formatMicros } from "../flow/time";
import { writeFullEvent } from "../write/ecs";
import { extrasLength, anyEnrichment } from "../write/extras";
import { enrichEvent } from "../enrich/event";
import { mapNsg } from "./nsg";
import { mapVnet } from "./vnet";
import {
  ecs, writeEcsEvent, beginErrorEvent, endErrorEvent, ERR_INVALID_JSON, ERR_NOT_AN_OBJECT,
  ERR_INVALID_UTF8, ERR_TOO_LARGE, ERR_TOO_DEEP, ERR_INVALID_FIELD, ERR_INVALID_TIME,
  ERR_NO_TIMESTAMP,
} from "../write/sekoia";

/** A flattened flow event is under 2 KB; anything over this is a framing bug or an attack. */
export const MAX_RECORD_BYTES = 65536;

/** Whether the last mapped record became an error event. */
export let lastWasError: bool = false;

/** Set while the raw event is the unescaped inner event of a wrapper (see mapRecord). */
let rawMayHoldSurrogates: bool = false;

const FLOW_LOG_FLOW_EVENT = lit("FlowLogFlowEvent");

// The unescaped inner event of a wrapper (`{"message":"{…}"}`), kept apart from the arena.
let innerBuf: usize = heap.alloc(4096);
let innerCap: i32 = 4096;

/** Maps one record. The caller frames records; this writes exactly one JSON object. `trusted`:
 * the record is JSON Fluent Bit serialised (only the Fluent Bit filter ABI says so; see
 * scanTrustedRecord): the same output, fewer checks. A wrapped event inside it is not trusted. */
export function mapRecord(ptr: usize, len: i32, trusted: bool = false): void {
  reserve(worstCaseOutput(len < MAX_RECORD_BYTES ? len : MAX_RECORD_BYTES));
  lastWasError = true;
  if (len > MAX_RECORD_BYTES) {
    tooLarge(ptr, len, len);
    return;
  }
  if (!scanned(ptr, len, trusted)) return;
  const wrapped = wrappedField();
  if (wrapped >= 0) {
    // The wrapper is forgotten: the inner event is mapped (and reported) as the raw event.
    const n = lenOf(wrapped);
    if (innerCap < n) {
      innerCap = nextCapacity(innerCap, n);
      innerBuf = heap.realloc(innerBuf, <usize>innerCap);
    }
    memory.copy(innerBuf, ptrOf(wrapped), <usize>n);
    ptr = innerBuf;
    len = n;
    // Unescaped JSON text can hold a lone surrogate (from \uD800), which has no UTF-8 form:
    // that is invalid UTF-8 for a raw event, and `message` shows it back as the \ud800 escape.
    rawMayHoldSurrogates = true;
    const ok = scanned(ptr, len);
    rawMayHoldSurrogates = false;
    if (!ok) return;
  }
  mapScanned(ptr, len);
}

function isVnet(): bool {
  const v = kindOf(F_FLOW_LOG_VERSION);
  if (v != V_ABSENT && v != V_NULL) return true;
  return kindOf(F_OPERATION) == V_STRING && spanEquals(ptrOf(F_OPERATION), lenOf(F_OPERATION), FLOW_LOG_FLOW_EVENT);
}

/** "Absent" as every string field counts it: missing, null or "". */
function absentString(f: i32): bool {
  const k = kindOf(f);
  return k == V_ABSENT || k == V_NULL || (k == V_STRING && lenOf(f) == 0);
}

/** The wrapper's field holding the inner event (`message`, else `log`), or -1. */
function wrappedField(): i32 {
  if (!absentString(F_FLOW0) || !absentString(F_OPERATION)) return -1;
  const v = kindOf(F_FLOW_LOG_VERSION);
  if (v != V_ABSENT && v != V_NULL) return -1;
  if (holdsObjectText(F_MESSAGE)) return F_MESSAGE;
  if (holdsObjectText(F_LOG)) return F_LOG;
  return -1;
}

function holdsObjectText(f: i32): bool {
  if (kindOf(f) != V_STRING) return false;
  const p = ptrOf(f);
  const n = lenOf(f);
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + i);
    if (c == 0x7b) return true;
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return false;
  }
  return false;
}

/** Maps a raw event whose fields were set without scanning it (json-scanner's setField): the
 * blob splitter's own flattened events, valid by construction. */
export function mapKnownFields(ptr: usize, len: i32): void {
  reserve(worstCaseOutput(len));
  lastWasError = true;
  mapScanned(ptr, len);
}

function mapScanned(ptr: usize, len: i32): void {
  ecs.clear();
  facts.clear();
  ecs.message.set(ptr, len, false);
  const vnet = isVnet();
  const status = vnet ? mapVnet() : mapNsg();
  if (status == MAP_OK) {
    // Nothing loaded (the common case): not even a call; the extras stay empty (write/extras.ts).
    if (anyEnrichment) {
      enrichEvent();
      if (extrasLength() > 0) reserve(worstCaseOutput(len) + extrasLength());
    }
    if (fullProfile) {
      computeEventId();
      writeFullEvent();
    } else {
      formatMicros(facts.timestampMicros);
      if (eventIdEnabled) {
        computeEventId();
        ecs.eventId.set(eventIdText, EVENT_ID_LEN, true);
      }
      writeEcsEvent();
    }
    lastWasError = false;
    return;
  }
  if (status == MAP_INVALID_FIELD) {
    beginErrorEvent(ERR_INVALID_FIELD, ptr, len);
    putLit(FIELD);
    putLit(keyName(badField));
    putLit(MUST_BE);
    putLit(badFieldExpected == EXPECT_STRING ? A_STRING
      : badFieldExpected == EXPECT_VERSION ? A_VERSION : A_PORT);
  } else if (status == MAP_INVALID_TIME) {
    beginErrorEvent(ERR_INVALID_TIME, ptr, len);
    putLit(CANNOT_PARSE_TIME);
    putEscaped(ptrOf(F_TIME), lenOf(F_TIME));
    putLit(QUOTE);
  } else {
    beginErrorEvent(ERR_NO_TIMESTAMP, ptr, len);
    putLit(vnet ? NO_TIMESTAMP_VNET : NO_TIMESTAMP_NSG);
  }
  endErrorEvent();
}

// The explanations, as the reference mapping (host/reference/) words them. They are written
// inside a JSON string, hence the escaped quotes.
const FIELD = lit("field \\\"");
const MUST_BE = lit("\\\" must be ");
const A_STRING = lit("a string or null");
const A_VERSION = lit("a string, an integer written with digits only, or null");
const A_PORT = lit("an integer 0-65535, a string of 1-5 digits up to 65535, \\\"\\\" or null");
const CANNOT_PARSE_TIME = lit("cannot parse time \\\"");
const QUOTE = lit("\\\"");
const NO_TIMESTAMP_NSG = lit("no \\\"time\\\" and no epoch from a documented \\\"flow.0\\\" tuple");
const NO_TIMESTAMP_VNET = lit("no epoch from a documented \\\"flow.0\\\" tuple and no \\\"time\\\"");

function validUtf8(ptr: usize, len: i32): bool {
  const bad = firstInvalidUtf8(ptr, len);
  if (bad < 0) return true;
  beginErrorEvent(ERR_INVALID_UTF8, ptr, len, rawMayHoldSurrogates);
  putLit(rawMayHoldSurrogates ? INVALID_UTF8_WRAPPED : INVALID_UTF8_AT);
  putU64(<u64>bad);
  if (rawMayHoldSurrogates) putLit(OF_THE_WRAPPED_EVENT);
  endErrorEvent();
  return false;
}

const INVALID_UTF8_AT = lit("invalid UTF-8 at byte ");
const INVALID_UTF8_WRAPPED = lit("invalid UTF-8 (a lone surrogate) at byte ");
const OF_THE_WRAPPED_EVENT = lit(" of the wrapped event");

/** Scans the record; on any problem writes its error event, invalid UTF-8 anywhere first. */
function scanned(ptr: usize, len: i32, trusted: bool = false): bool {
  let code = trusted ? scanTrustedRecord(ptr, len) : scanRecord(ptr, len);
  if (code == SCAN_OK) return true;
  // The error event is the strict scan's, whatever the trusted one stopped at.
  if (trusted) code = scanRecord(ptr, len);
  // The scan stopped at its first problem: bytes that are not UTF-8 may stand before or after
  // it (outside strings, any byte >= 0x80 is a JSON error), and those are what is reported.
  if (!validUtf8(ptr, len)) return false;
  if (code == SCAN_TOO_DEEP) {
    beginErrorEvent(ERR_TOO_DEEP, ptr, len);
    putLit(TOO_DEEP);
    putU64(<u64>scanErrorOffset);
  } else if (code == SCAN_NOT_OBJECT) {
    beginErrorEvent(ERR_NOT_AN_OBJECT, ptr, len);
    putLit(THE_RECORD_IS);
    const k = nonObjectKind;
    putLit(k == 0x5b ? AN_ARRAY : k == 0x22 ? A_STRING_VALUE : k == 0x74 || k == 0x66 ? A_BOOLEAN : k == 0x6e ? NULL_VALUE : A_NUMBER);
    putLit(NOT_AN_OBJECT);
  } else {
    beginErrorEvent(ERR_INVALID_JSON, ptr, len);
    putLit(INVALID_JSON_AT);
    putU64(<u64>scanErrorOffset);
    const b = scanErrorByte;
    if (b < 0) {
      putLit(END_OF_INPUT);
    } else if (b >= 0x20 && b < 0x7f) {
      putLit(UNEXPECTED_CHAR);
      if (b == 0x22 || b == 0x5c) put(0x5c);
      put(<u32>b);
      put(0x27);
    } else {
      putLit(UNEXPECTED_BYTE);
      put(load<u8>(HEX_DIGITS + (b >> 4)));
      put(load<u8>(HEX_DIGITS + (b & 15)));
    }
  }
  endErrorEvent();
  return false;
}

const TOO_DEEP = lit("nesting deeper than " + MAX_DEPTH.toString() + " levels at byte ");
const THE_RECORD_IS = lit("the record is ");
const AN_ARRAY = lit("an array");
const A_STRING_VALUE = lit("a string");
const A_BOOLEAN = lit("a boolean");
const NULL_VALUE = lit("null");
const A_NUMBER = lit("a number");
const NOT_AN_OBJECT = lit(", not an object");
const INVALID_JSON_AT = lit("invalid JSON at byte ");
const END_OF_INPUT = lit(": unexpected end of input");
const UNEXPECTED_CHAR = lit(": unexpected character '");
const UNEXPECTED_BYTE = lit(": unexpected byte 0x");

/** The error event for a record of totalLen bytes of which [ptr, ptr+available) is at hand
 * (framing keeps only the head of an oversized line). */
export function tooLarge(ptr: usize, available: i32, totalLen: i64): void {
  lastWasError = true;
  // Keep the first MAX_RECORD_BYTES, cut back to a character boundary so the kept part does not
  // end in a spurious U+FFFD.
  const keep = available < MAX_RECORD_BYTES ? available : characterBoundary(ptr, MAX_RECORD_BYTES);
  reserve(worstCaseOutput(keep));
  beginErrorEvent(ERR_TOO_LARGE, ptr, keep);
  putLit(TOO_LARGE_1);
  putU64(<u64>totalLen);
  putLit(TOO_LARGE_2);
  putU64(<u64>keep);
  putLit(TOO_LARGE_3);
  endErrorEvent();
}

/** `limit`, or the start of a UTF-8 character that would straddle it (looking back at most 3
 * bytes: further back these bytes are not UTF-8 anyway). */
export function characterBoundary(ptr: usize, limit: i32): i32 {
  for (let start = limit - 1; start >= limit - 3 && start >= 0; start--) {
    const c = <u32>load<u8>(ptr + start);
    if ((c & 0xc0) == 0x80) continue;
    const length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return start + length > limit ? start : limit;
  }
  return limit;
}

const TOO_LARGE_1 = lit("record is ");
const TOO_LARGE_2 = lit(" bytes, over the limit of " + MAX_RECORD_BYTES.toString() + "; message holds its first ");
const TOO_LARGE_3 = lit(" bytes");
