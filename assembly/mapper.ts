// One raw event in, one JSON object out: the ECS event, or the error event saying what is wrong
// and where. This is the function every ABI calls per record; it never traps on any input.
import { Lit, lit, nextCapacity } from "./bytes";
import { firstInvalidUtf8 } from "./utf8";
import { reserve, worstCaseOutput, put, putEscaped, putLit, putU64 } from "./output";
import {
  scanRecord, scanErrorOffset, scanErrorByte, SCAN_OK, SCAN_TOO_DEEP, SCAN_NOT_OBJECT,
  MAX_DEPTH, kindOf, ptrOf, lenOf, hasText, keyName, decodeInto, V_STRING, V_ABSENT, V_NULL,
  F_FLOW0, F_OPERATION, F_FLOW_LOG_VERSION, F_MESSAGE, F_LOG, F_TIME,
} from "./json-scanner";
import {
  MAP_OK, MAP_INVALID_FIELD, MAP_INVALID_TIME, badField, badFieldExpected, EXPECT_STRING,
  EXPECT_VERSION,
} from "./fields";
import { mapNsg } from "./nsg";
import { mapVnet } from "./vnet";
import {
  ecs, writeEcsEvent, beginErrorEvent, endErrorEvent, ERR_INVALID_JSON, ERR_NOT_AN_OBJECT,
  ERR_INVALID_UTF8, ERR_TOO_LARGE, ERR_TOO_DEEP, ERR_INVALID_FIELD, ERR_INVALID_TIME,
  ERR_NO_TIMESTAMP,
} from "./ecs-writer";

/** A flattened flow event is under 2 KB; anything over this is a framing bug or an attack. */
export const MAX_RECORD_BYTES = 65536;

/** Whether the last mapped record became an error event. */
export let lastWasError: bool = false;

const FLOW_LOG_FLOW_EVENT = lit("FlowLogFlowEvent");

// The unescaped inner event of a wrapper (`{"message":"{…}"}`), kept apart from the arena.
let innerBuf: usize = heap.alloc(4096);
let innerCap: i32 = 4096;

/** Maps one record. The caller frames records; this writes exactly one JSON object. */
export function mapRecord(ptr: usize, len: i32): void {
  reserve(worstCaseOutput(len < MAX_RECORD_BYTES ? len : MAX_RECORD_BYTES));
  lastWasError = true;
  if (len > MAX_RECORD_BYTES) {
    tooLarge(ptr, len, len);
    return;
  }
  if (!validUtf8(ptr, len)) return;
  if (!scanned(ptr, len)) return;
  if (isWrapper()) {
    // The wrapper is forgotten: the inner event is mapped (and reported) as the raw event.
    const f = kindOf(F_MESSAGE) == V_STRING ? F_MESSAGE : F_LOG;
    const n = lenOf(f);
    if (innerCap < n) {
      innerCap = nextCapacity(innerCap, n);
      innerBuf = heap.realloc(innerBuf, <usize>innerCap);
    }
    memory.copy(innerBuf, ptrOf(f), <usize>n);
    ptr = innerBuf;
    len = n;
    if (!validUtf8(ptr, len)) return;
    if (!scanned(ptr, len)) return;
  }
  mapScanned(ptr, len);
}

function isVnet(): bool {
  const v = kindOf(F_FLOW_LOG_VERSION);
  if (v != V_ABSENT && v != V_NULL) return true;
  return kindOf(F_OPERATION) == V_STRING && lenOf(F_OPERATION) == FLOW_LOG_FLOW_EVENT.len &&
    memory.compare(ptrOf(F_OPERATION), FLOW_LOG_FLOW_EVENT.ptr, <usize>FLOW_LOG_FLOW_EVENT.len) == 0;
}

function isWrapper(): bool {
  if (hasText(F_FLOW0) || hasText(F_OPERATION)) return false;
  const v = kindOf(F_FLOW_LOG_VERSION);
  if (v != V_ABSENT && v != V_NULL) return false;
  const f = kindOf(F_MESSAGE) == V_STRING ? F_MESSAGE : kindOf(F_LOG) == V_STRING ? F_LOG : -1;
  if (f < 0) return false;
  const p = ptrOf(f);
  const n = lenOf(f);
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + i);
    if (c == 0x7b) return true;
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return false;
  }
  return false;
}

function mapScanned(ptr: usize, len: i32): void {
  ecs.clear();
  ecs.message.set(ptr, len, false);
  const status = isVnet() ? mapVnet() : mapNsg();
  if (status == MAP_OK) {
    writeEcsEvent();
    lastWasError = false;
    return;
  }
  if (status == MAP_INVALID_FIELD) {
    beginErrorEvent(ERR_INVALID_FIELD, ptr, len);
    errQuoted(keyName(badField));
    putLit(badFieldExpected == EXPECT_STRING ? MUST_BE_STRING
      : badFieldExpected == EXPECT_VERSION ? MUST_BE_VERSION : MUST_BE_PORT);
  } else if (status == MAP_INVALID_TIME) {
    beginErrorEvent(ERR_INVALID_TIME, ptr, len);
    putLit(TIME_NOT_ISO);
    put(0x5c); put(0x22);
    putEscaped(ptrOf(F_TIME), lenOf(F_TIME));
    put(0x5c); put(0x22);
  } else {
    beginErrorEvent(ERR_NO_TIMESTAMP, ptr, len);
    putLit(NO_TIMESTAMP);
  }
  endErrorEvent();
}

const MUST_BE_STRING = lit(" must be a string (or null)");
const MUST_BE_VERSION = lit(" must be a string or an integer");
const MUST_BE_PORT = lit(" must be a port number 0-65535 (a number or a string of digits)");
const TIME_NOT_ISO = lit("field \\\"time\\\" is not an ISO-8601 timestamp (YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM]) between years 0001 and 9999: ");
const NO_TIMESTAMP = lit("no timestamp: \\\"time\\\" is absent and \\\"flow.0\\\" is not a flow tuple of the documented shape");
const FIELD = lit("field ");

function errQuoted(name: Lit): void {
  putLit(FIELD);
  put(0x5c); put(0x22);
  putLit(name);
  put(0x5c); put(0x22);
}

function validUtf8(ptr: usize, len: i32): bool {
  const bad = firstInvalidUtf8(ptr, len);
  if (bad < 0) return true;
  beginErrorEvent(ERR_INVALID_UTF8, ptr, len);
  putLit(INVALID_UTF8_AT);
  putU64(<u64>bad);
  endErrorEvent();
  return false;
}

const INVALID_UTF8_AT = lit("invalid UTF-8 at byte ");

function scanned(ptr: usize, len: i32): bool {
  const code = scanRecord(ptr, len);
  if (code == SCAN_OK) return true;
  if (code == SCAN_TOO_DEEP) {
    beginErrorEvent(ERR_TOO_DEEP, ptr, len);
    putLit(TOO_DEEP);
    putU64(<u64>scanErrorOffset);
  } else if (code == SCAN_NOT_OBJECT) {
    beginErrorEvent(ERR_NOT_AN_OBJECT, ptr, len);
    putLit(NOT_OBJECT);
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
      putU64(<u64>b);
    }
  }
  endErrorEvent();
  return false;
}

const TOO_DEEP = lit("nesting deeper than " + MAX_DEPTH.toString() + " levels at byte ");
const NOT_OBJECT = lit("valid JSON but not an object: a flow event is one JSON object");
const INVALID_JSON_AT = lit("invalid JSON at byte ");
const END_OF_INPUT = lit(": unexpected end of input");
const UNEXPECTED_CHAR = lit(": unexpected character '");
const UNEXPECTED_BYTE = lit(": unexpected byte ");

/** The error event for a record of totalLen bytes of which [ptr, ptr+available) is at hand
 * (framing keeps only the head of an oversized line). */
export function tooLarge(ptr: usize, available: i32, totalLen: i64): void {
  lastWasError = true;
  // Keep the first MAX_RECORD_BYTES, cut back to a character boundary so the kept part does not
  // end in a spurious U+FFFD.
  let keep = available < MAX_RECORD_BYTES ? available : MAX_RECORD_BYTES;
  while (keep > 0 && keep < available && (load<u8>(ptr + keep) & 0xc0) == 0x80) keep--;
  beginErrorEvent(ERR_TOO_LARGE, ptr, keep);
  putLit(TOO_LARGE_1);
  putU64(<u64>totalLen);
  putLit(TOO_LARGE_2);
  putU64(<u64>keep);
  putLit(TOO_LARGE_3);
  endErrorEvent();
}

const TOO_LARGE_1 = lit("record is ");
const TOO_LARGE_2 = lit(" bytes, over the " + MAX_RECORD_BYTES.toString() + "-byte limit; message holds its first ");
const TOO_LARGE_3 = lit(" bytes");
