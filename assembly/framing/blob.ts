// The streaming blob splitter: Azure's PT1H.json documents (`{"records":[{…},{…}]}`, compact or
// pretty, any size) fed in chunks of any size. Each complete record is copied out of the stream,
// checked, and turned into one flattened raw event per flow tuple — the event a collector would
// forward — which is then mapped like any other raw event (or, in copy mode, written as is).
//
// Memory stays bounded whatever the blob size: one record is held at a time, and its events are
// written out in slices of at most OUTPUT_SLICE bytes; the host drains each slice (blob_resume)
// before the splitter reads on. Offsets are absolute stream offsets, so a reader of a growing
// blob can resume exactly after the last complete record (see blobStart).
import { Lit, lit, nextCapacity, spanEquals } from "../base/bytes";
import {
  ByteBuffer, outPos, put, putBytes, putEscaped, putLit, putU64, redirectOutput, reserve, restoreOutput,
  countLine,
} from "../base/output";
import {
  scanRecord, decodeInto, SCAN_OK, SCAN_TOO_DEEP, scanErrorOffset, clearFields, setField, V_STRING,
  V_NUMBER, F_MAC, F_OPERATION, F_RULE, F_TIME, F_VERSION, F_FLOW_LOG_VERSION, F_FLOW0, F_RESOURCE_ID,
  F_FLOW_LOG_GUID, F_ACL_ID, F_FLOW_LOG_RESOURCE_ID, F_TARGET_RESOURCE_ID,
} from "../scan/json";
import { mapRecord, mapKnownFields, lastWasError, MAX_RECORD_BYTES, characterBoundary } from "../map/mapper";
import { beginErrorEvent, endErrorEvent } from "../write/sekoia";
import { MODE_COPY } from "./ndjson";

/** Output written per call before the splitter pauses for the host to drain it. */
const OUTPUT_SLICE = 4 << 20;
/** A record is one NIC's flows for one minute: even a busy NIC stays far below this. */
const MAX_BLOB_RECORD = 64 << 20;

const S_HEAD = 0;     // matching `{"records":[`
const S_BETWEEN = 1;  // between records: whitespace, commas, `{` or `]`
const S_RECORD = 2;   // inside a record
const S_JUNK = 3;     // skipping bytes that cannot be there, up to the next `{` or `]`
const S_AFTER = 4;    // after `]`: the closing `}`
const S_END = 5;      // after the document (or after giving up on it): whitespace only

let state = S_HEAD;
let headMatched = 0;
let incremental = false;
let mode = 0;
let streamOffset: i64 = 0;
let lastRecordEnd: i64 = 0;
let finished = false;
let complainedAtEnd = false;

// The record being read (`rec`, `recLen` name its bytes once it is complete).
const record = new ByteBuffer();
let rec: usize = 0;
let recLen: i32 = 0;
let recTotal: i64 = 0;
let recStart: i64 = 0;
let depth = 0;
let inString = false;
let afterBackslash = false;

// The current input chunk (the host's input buffer), consumed across calls.
let inPtr: usize = 0;
let inEnd: usize = 0;
let inLast = false;


/** Starts a new blob stream. fromOffset 0 reads a whole document; a later offset (one this
 * splitter reported) resumes between records. Incremental reading treats an unfinished document
 * as "not yet written" rather than truncated. */
export function blobStart(fromOffset: i64, isIncremental: bool, outputMode: i32): void {
  state = fromOffset == 0 ? S_HEAD : S_BETWEEN;
  headMatched = 0;
  incremental = isIncremental;
  mode = outputMode;
  streamOffset = fromOffset;
  lastRecordEnd = fromOffset;
  finished = false;
  complainedAtEnd = false;
  record.len = 0;
  jobCount = 0;
  nextJob = 0;
  inPtr = 0;
  inEnd = 0;
}

/** Where a reader resumes: just after the last complete record (or the head). */
export function blobOffset(): i64 {
  return lastRecordEnd;
}

/** Takes a new chunk and works until it is consumed or an output slice is full. */
export function blobFeed(ptr: usize, len: i32, last: bool): void {
  inPtr = ptr;
  inEnd = ptr + <usize>len;
  inLast = last;
  run();
}

/** Whether the last chunk is not yet fully turned into output (call blobResume). */
export function blobPending(): bool {
  return nextJob < jobCount || inPtr < inEnd || (inLast && !finished);
}

export function blobResume(): void {
  run();
}

function run(): void {
  while (true) {
    if (nextJob < jobCount) {
      emitJobs();
      if (outPos >= OUTPUT_SLICE) return;
      continue;
    }
    if (inPtr >= inEnd) {
      if (inLast && !finished) {
        finished = true;
        atEnd();
        continue;
      }
      return;
    }
    consume();
  }
}

// ---- Framing the document ------------------------------------------------------------------

const HEAD = lit('{"records":[');

@inline function isWs(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

/** Whether bytes that start an input are a blob document: 1 yes, 0 no, -1 cannot tell yet. */
export function looksLikeBlob(ptr: usize, len: i32): i32 {
  let matched = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (isWs(c) && (matched == 0 || matched == 1 || matched == 10 || matched == 11)) continue;
    if (c != <u32>load<u8>(HEAD.ptr + matched)) return 0;
    if (++matched == HEAD.len) return 1;
  }
  return -1;
}

/** Consumes input until a record is complete (its jobs are then queued) or input runs out. */
function consume(): void {
  while (inPtr < inEnd) {
    if (state == S_RECORD) {
      if (readRecordBytes()) return;
      continue;
    }
    const c = <u32>load<u8>(inPtr);
    const at = streamOffset;
    inPtr++;
    streamOffset++;
    if (state == S_HEAD) {
      // Whitespace may stand between the head's tokens: `{` `"records"` `:` `[`.
      if (isWs(c) && (headMatched == 0 || headMatched == 1 || headMatched == 10 || headMatched == 11)) continue;
      if (c == <u32>load<u8>(HEAD.ptr + headMatched)) {
        headMatched++;
        if (headMatched == HEAD.len) {
          state = S_BETWEEN;
          lastRecordEnd = streamOffset;
        }
        continue;
      }
      queueBlobError(ERR_INVALID_BLOB, NOT_A_BLOB, at, 0, 0);
      state = S_END;
      complainedAtEnd = true;
    } else if (state == S_BETWEEN || state == S_JUNK) {
      if (c == 0x7b) {
        beginRecord(at);
      } else if (c == 0x5d) {
        state = S_AFTER;
      } else if (state == S_BETWEEN && !isWs(c) && c != 0x2c) {
        queueBlobError(ERR_INVALID_BLOB, JUNK_BETWEEN, at, 0, 0);
        state = S_JUNK;
        return;
      }
    } else if (state == S_AFTER) {
      if (isWs(c)) continue;
      if (c != 0x7d) {
        queueBlobError(ERR_INVALID_BLOB, JUNK_AFTER, at, 0, 0);
        complainedAtEnd = true;
      }
      state = S_END;
    } else {
      if (!isWs(c) && !complainedAtEnd) {
        complainedAtEnd = true;
        queueBlobError(ERR_INVALID_BLOB, JUNK_AFTER, at, 0, 0);
        return;
      }
    }
  }
}

function beginRecord(at: i64): void {
  state = S_RECORD;
  recStart = at;
  record.len = 0;
  recTotal = 0;
  depth = 1;
  inString = false;
  afterBackslash = false;
  appendRecord(inPtr - 1, 1);
}

function appendRecord(from: usize, n: i32): void {
  recTotal += n;
  record.append(from, n, MAX_BLOB_RECORD);
}

/** High bit set in each byte of x equal to the byte repeated in `pattern` (exact, no borrows). */
@inline function exactBytes(x: u64, pattern: u64): u64 {
  const y = x ^ pattern;
  return ~(((y & 0x7f7f7f7f7f7f7f7f) + 0x7f7f7f7f7f7f7f7f) | y | 0x7f7f7f7f7f7f7f7f);
}

/** Copies record bytes up to the record's end or the chunk's; true when the record is done. */
function readRecordBytes(): bool {
  let p = inPtr;
  const end = inEnd;
  while (p < end) {
    // Skip, a block at a time, bytes that cannot change the state: inside a string only a quote
    // or a backslash matters, outside it also braces.
    if (!afterBackslash) {
      if (ASC_FEATURE_SIMD) {
        const quote = i8x16.splat(0x22);
        const backslash = i8x16.splat(0x5c);
        const open = i8x16.splat(0x7b);
        const close = i8x16.splat(0x7d);
        while (p + 16 <= end) {
          const v = v128.load(p);
          let hit = v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash));
          if (!inString) hit = v128.or(hit, v128.or(i8x16.eq(v, open), i8x16.eq(v, close)));
          const mask = i8x16.bitmask(hit);
          if (mask != 0) {
            p += <usize>ctz(mask);
            break;
          }
          p += 16;
        }
      } else {
        while (p + 8 <= end) {
          const x = load<u64>(p);
          let hit = exactBytes(x, 0x2222222222222222) | exactBytes(x, 0x5c5c5c5c5c5c5c5c);
          if (!inString) hit |= exactBytes(x, 0x7b7b7b7b7b7b7b7b) | exactBytes(x, 0x7d7d7d7d7d7d7d7d);
          if (hit != 0) {
            p += <usize>(ctz(hit) >> 3);
            break;
          }
          p += 8;
        }
      }
      if (p >= end) break;
    }
    const c = <u32>load<u8>(p);
    p++;
    if (inString) {
      if (afterBackslash) afterBackslash = false;
      else if (c == 0x5c) afterBackslash = true;
      else if (c == 0x22) inString = false;
      continue;
    }
    if (c == 0x22) inString = true;
    else if (c == 0x7b) depth++;
    else if (c == 0x7d) {
      depth--;
      if (depth == 0) {
        appendRecord(inPtr, <i32>(p - inPtr));
        streamOffset += <i64>(p - inPtr);
        inPtr = p;
        state = S_BETWEEN;
        lastRecordEnd = streamOffset;
        processRecord();
        return true;
      }
    }
  }
  appendRecord(inPtr, <i32>(p - inPtr));
  streamOffset += <i64>(p - inPtr);
  inPtr = p;
  return false;
}

function atEnd(): void {
  if (incremental || state == S_END) return;
  if (state == S_RECORD) {
    rec = record.ptr;
    recLen = record.len;
    queueBlobError(ERR_TRUNCATED_BLOB, ENDS_IN_RECORD, recStart, rec, recLen);
  } else if (state == S_HEAD) {
    if (headMatched > 0) queueBlobError(ERR_TRUNCATED_BLOB, ENDS_IN_HEAD, streamOffset, 0, 0);
  } else {
    queueBlobError(ERR_TRUNCATED_BLOB, ENDS_BEFORE_CLOSE, streamOffset, 0, 0);
  }
  state = S_END;
}

// ---- Jobs: what one record turns into ------------------------------------------------------
// A tuple job is (prefix offset, prefix length, tuple start, tuple length, escaped), where the
// prefix is the flattened event up to `"flow.0":"`, shared by the tuples of one group. An
// error job is (-1 - error type, text offset, text length, raw start, raw length).

const JOB_INTS = 6;
let jobs: usize = heap.alloc(JOB_INTS * 4 * 1024);
let jobCap: i32 = 1024;
let jobCount: i32 = 0;
let nextJob: i32 = 0;
const prefixes = new ByteBuffer();
const errorTexts = new ByteBuffer();
const flat = new ByteBuffer();

function pushJob(a: i32, b: i32, c: i32, d: i32, e: i32, g: i32 = -1): void {
  if (jobCount == jobCap) {
    jobCap <<= 1;
    jobs = heap.realloc(jobs, <usize>(jobCap * JOB_INTS * 4));
  }
  const j = jobs + <usize>(jobCount * JOB_INTS * 4);
  store<i32>(j, a);
  store<i32>(j, b, 4);
  store<i32>(j, c, 8);
  store<i32>(j, d, 12);
  store<i32>(j, e, 16);
  store<i32>(j, g, 20);
  jobCount++;
}

// Where each mapped value stands in a group's prefix (offset, length; -1 when absent), so that
// its events can be mapped without scanning them again; and whether that shortcut is safe (every
// value a string needing no escaping). One row per group of the record being emitted.
const SLOT_MAC = 0;
const SLOT_OPERATION = 1;
const SLOT_RULE = 2;
const SLOT_TIME = 3;
const SLOT_VERSION = 4;
const SLOT_FLOW_LOG_VERSION = 5;
const SLOT_RESOURCE_ID = 6;
const SLOT_FLOW_LOG_GUID = 7;
const SLOT_ACL_ID = 8;
const SLOT_FLOW_LOG_RESOURCE_ID = 9;
const SLOT_TARGET_RESOURCE_ID = 10;
const SLOTS = 11;
const GROUP_INTS = 1 + SLOTS * 2;
const SLOT_FIELDS: StaticArray<i32> = [
  F_MAC, F_OPERATION, F_RULE, F_TIME, F_VERSION, F_FLOW_LOG_VERSION, F_RESOURCE_ID, F_FLOW_LOG_GUID, F_ACL_ID,
  F_FLOW_LOG_RESOURCE_ID, F_TARGET_RESOURCE_ID,
];
const groups = new ByteBuffer();
let groupCount = 0;
const slots = new StaticArray<i32>(GROUP_INTS);
let prefixBase = 0;

function beginGroupSlots(base: i32): void {
  prefixBase = base;
  unchecked(slots[0] = 1);
  for (let i = 1; i < GROUP_INTS; i++) unchecked(slots[i] = -1);
}

function setSlot(slot: i32, at: i32, len: i32): void {
  unchecked(slots[1 + slot * 2] = at - prefixBase);
  unchecked(slots[2 + slot * 2] = len);
}

/** Stores the group's row; returns its index. */
function endGroupSlots(): i32 {
  groups.append(changetype<usize>(slots), GROUP_INTS * 4, 0x7fffffff);
  return groupCount++;
}

const ERR_INVALID_BLOB = 0;
const ERR_TRUNCATED_BLOB = 1;
const ERR_INVALID_RECORD = 2;
const ERR_TYPES: Lit[] = [lit("invalid_blob"), lit("truncated_blob"), lit("invalid_record")];

const NOT_A_BLOB = lit("not an Azure flow-log blob: expected {\\\"records\\\":[ at byte ");
const JUNK_BETWEEN = lit("unexpected data between records at byte ");
const JUNK_AFTER = lit("unexpected data after the records at byte ");
const ENDS_IN_RECORD = lit("the blob ends inside the record that starts at byte ");
const ENDS_IN_HEAD = lit("the blob ends inside its head {\\\"records\\\":[ at byte ");
const ENDS_BEFORE_CLOSE = lit("the blob ends before its closing ]} at byte ");

/** A blob-level error: `text` then the byte offset; `raw` (in the record buffer) is shown. */
function queueBlobError(type: i32, text: Lit, at: i64, raw: usize, rawLen: i32): void {
  redirectOutput(errorTexts);
  const start = outPos;
  reserve(text.len + 24);
  putLit(text);
  putU64(<u64>at);
  const n = outPos - start;
  restoreOutput(errorTexts);
  pushJob(-1 - type, start, n, raw == 0 ? -1 : <i32>(raw - rec), rawLen);
}

// ---- Reading one record ----------------------------------------------------------------------
// The record was validated as JSON (json-scanner) before any of this runs, so these helpers can
// walk it without checking syntax.

let rEnd: usize = 0;

@inline function skipWs(p: usize): usize {
  while (p < rEnd && isWs(<u32>load<u8>(p))) p++;
  return p;
}

/** The first byte at or after p that is a quote or a backslash (or, with `brackets`, one of
 * `{}[]`), a block at a time; the record is valid JSON, so one is there before rEnd. */
function nextStop(p: usize, brackets: bool): usize {
  if (ASC_FEATURE_SIMD) {
    const quote = i8x16.splat(0x22);
    const backslash = i8x16.splat(0x5c);
    // `{` `}` `[` `]` (0x7b 0x7d 0x5b 0x5d) are 0x59 once bits 5, 2 and 1 are cleared; so are
    // `Y`, `_`, `y` and DEL, which the caller passes over.
    const mask = i8x16.splat(<i8>0xd9);
    const bracket = i8x16.splat(0x59);
    while (p + 16 <= rEnd) {
      const v = v128.load(p);
      let hit = v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash));
      if (brackets) hit = v128.or(hit, i8x16.eq(v128.and(v, mask), bracket));
      const m = i8x16.bitmask(hit);
      if (m != 0) return p + <usize>ctz(m);
      p += 16;
    }
  } else {
    while (p + 8 <= rEnd) {
      const x = load<u64>(p);
      let m = exactBytes(x, 0x2222222222222222) | exactBytes(x, 0x5c5c5c5c5c5c5c5c);
      if (brackets) m |= exactBytes(x & 0xd9d9d9d9d9d9d9d9, 0x5959595959595959);
      if (m != 0) return p + <usize>(ctz(m) >> 3);
      p += 8;
    }
  }
  while (p < rEnd) {
    const c = load<u8>(p);
    if (c == 0x22 || c == 0x5c || (brackets && (c & 0xd9) == 0x59)) return p;
    p++;
  }
  return p;
}

/** p at an opening quote: the position after the closing one. */
function stringEnd(p: usize): usize {
  p++;
  while (true) {
    p = nextStop(p, false);
    if (load<u8>(p) == 0x5c) p += 2;
    else return p + 1;
  }
}

/** p at the start of any value: the position just after it. */
function valueEnd(p: usize): usize {
  const c = load<u8>(p);
  if (c == 0x22) return stringEnd(p);
  if (c == 0x7b || c == 0x5b) {
    let d = 0;
    while (true) {
      p = nextStop(p, true);
      const b = load<u8>(p);
      if (b == 0x22) { p = stringEnd(p); continue; }
      if (b == 0x7b || b == 0x5b) d++;
      else if (b == 0x7d || b == 0x5d) {
        d--;
        if (d == 0) return p + 1;
      }
      p++;
    }
  }
  while (p < rEnd) {
    const b = load<u8>(p);
    if (b == 0x2c || b == 0x7d || b == 0x5d || isWs(b)) break;
    p++;
  }
  return p;
}

/** A value found in an object: its raw JSON token. Kind is its first byte (0 when absent). */
class Val {
  start: usize = 0;
  end: usize = 0;
  @inline get kind(): u8 { return this.end > this.start ? load<u8>(this.start) : 0; }
  @inline get present(): bool { return this.end > this.start && load<u8>(this.start) != 0x6e; }
  @inline clear(): void { this.start = 0; this.end = 0; }
}

const K_TIME = lit("time");
const K_MAC_ADDRESS = lit("macAddress");
const K_OPERATION_NAME = lit("operationName");
const K_RESOURCE_ID = lit("resourceId");
const K_PROPERTIES = lit("properties");
const K_VERSION = lit("Version");
const K_FLOWS = lit("flows");
const K_RULE = lit("rule");
const K_MAC = lit("mac");
const K_FLOW_TUPLES = lit("flowTuples");
const K_FLOW_LOG_VERSION = lit("flowLogVersion");
const K_FLOW_LOG_GUID = lit("flowLogGUID");
const K_FLOW_LOG_RESOURCE_ID = lit("flowLogResourceID");
const K_TARGET_RESOURCE_ID = lit("targetResourceID");
const K_FLOW_RECORDS = lit("flowRecords");
const K_ACL_ID = lit("aclID");
const K_FLOW_GROUPS = lit("flowGroups");
const FLOW_LOG_FLOW_EVENT = lit("FlowLogFlowEvent");

// Scratch for unescaping keys and values.
let scratch: usize = heap.alloc(256);
let scratchCap: i32 = 256;

/** Whether the key token at p (a string) is `name`, after unescaping. */
function keyIs(p: usize, keyEnd: usize, name: Lit): bool {
  const n = <i32>(keyEnd - p) - 2;
  let escaped = false;
  for (let i = 1; i <= n; i++) if (load<u8>(p + i) == 0x5c) { escaped = true; break; }
  if (!escaped) return spanEquals(p + 1, n, name);
  if (scratchCap < n) {
    scratchCap = nextCapacity(scratchCap, n);
    scratch = heap.realloc(scratch, <usize>scratchCap);
  }
  const m = decodeInto(scratch, p + 1, keyEnd - 1);
  return spanEquals(scratch, m, name);
}

// Lookups over one object: the value of each wanted key (the last occurrence wins, as in the
// mapping). Up to 6 keys per call.
// Raw pointers to the literals (which live as long as the module): no GC barrier per lookup.
const wantKeys = new StaticArray<usize>(6);
const found = new StaticArray<Val>(6);
for (let i = 0; i < 6; i++) found[i] = new Val();

/** Finds the wanted keys in the object at `obj`; returns the position just after the object. */
function lookup(obj: usize, k0: Lit, k1: Lit | null = null, k2: Lit | null = null, k3: Lit | null = null, k4: Lit | null = null, k5: Lit | null = null): usize {
  unchecked(wantKeys[0] = changetype<usize>(k0));
  unchecked(wantKeys[1] = changetype<usize>(k1));
  unchecked(wantKeys[2] = changetype<usize>(k2));
  unchecked(wantKeys[3] = changetype<usize>(k3));
  unchecked(wantKeys[4] = changetype<usize>(k4));
  unchecked(wantKeys[5] = changetype<usize>(k5));
  for (let i = 0; i < 6; i++) unchecked(found[i]).clear();
  let p = skipWs(obj + 1);
  if (load<u8>(p) == 0x7d) return p + 1;
  while (true) {
    const keyEnd = stringEnd(p);
    const v = skipWs(skipWs(keyEnd) + 1);
    const vEnd = valueEnd(v);
    for (let i = 0; i < 6; i++) {
      const k = unchecked(wantKeys[i]);
      if (k != 0 && keyIs(p, keyEnd, changetype<Lit>(k))) {
        const f = unchecked(found[i]);
        f.start = v;
        f.end = vEnd;
      }
    }
    p = skipWs(vEnd);
    if (load<u8>(p) == 0x7d) return p + 1;
    p = skipWs(p + 1);
  }
}

// Copies of what lookup found, per level of the record; `tmp` for one-off spans.
const tmp = new Val();
const time = new Val();
const macAddress = new Val();
const operationName = new Val();
const resourceId = new Val();
const properties = new Val();
const flowLogVersion = new Val();
const flowLogGuid = new Val();
const flowLogResourceId = new Val();
const targetResourceId = new Val();
const flowRecords = new Val();
const version = new Val();
const outerFlows = new Val();
const rule = new Val();
const innerFlows = new Val();
const groupMac = new Val();
const tuples = new Val();
const aclId = new Val();

@inline function len(v: Val): i32 {
  return <i32>(v.end - v.start);
}

@inline function take(dst: Val, i: i32): void {
  const f = unchecked(found[i]);
  dst.start = f.start;
  dst.end = f.end;
}


function processRecord(): void {
  rec = record.ptr;
  recLen = record.len;
  const first = jobCount;
  if (recTotal > <i64>recLen) {
    recordError(INVALID_RECORD_TOO_LARGE, 0, 0);
    return;
  }
  const code = scanRecord(rec, recLen);
  if (code != SCAN_OK) {
    recordError(code == SCAN_TOO_DEEP ? INVALID_RECORD_TOO_DEEP : INVALID_RECORD_JSON, <i64>scanErrorOffset, 1);
    return;
  }
  rEnd = rec + <usize>recLen;
  lookup(rec, K_TIME, K_MAC_ADDRESS, K_OPERATION_NAME, K_RESOURCE_ID, K_PROPERTIES, K_FLOW_LOG_VERSION);
  take(time, 0); take(macAddress, 1); take(operationName, 2); take(resourceId, 3); take(properties, 4); take(flowLogVersion, 5);
  const vnet = flowLogVersion.present || (operationName.kind == 0x22 &&
    spanEquals(operationName.start + 1, <i32>(operationName.end - operationName.start) - 2, FLOW_LOG_FLOW_EVENT));
  if (vnet) vnetRecord();
  else nsgRecord();
  if (jobCount == first) recordError(INVALID_RECORD_NO_TUPLES, 0, 0);
}

const INVALID_RECORD_TOO_LARGE = lit("the record is over 64 MiB");
const INVALID_RECORD_JSON = lit("the record is not valid JSON (at its byte ");
const INVALID_RECORD_TOO_DEEP = lit("the record nests deeper than 64 levels (at its byte ");
const INVALID_RECORD_NO_TUPLES = lit("the record has no flow tuples");
const NO_PROPERTIES_FLOWS = lit("properties.flows is missing or not an array");
const NO_FLOW_RECORDS_FLOWS = lit("flowRecords.flows is missing or not an array");
const NOT_AN_OBJECT = lit(" is not an object");
const FLOW_TUPLES_NOT_ARRAY = lit(".flowTuples is missing or not an array");
const NOT_A_STRING = lit(" is not a string");
const RECORD_AT = lit("record at byte ");
const COLON = lit(": ");
const CLOSE_PAREN = lit(")");
const P_FLOWS = lit("properties.flows[");
const P_INNER_FLOWS = lit("].flows[");
const P_RECORD_FLOWS = lit("flowRecords.flows[");
const P_FLOW_GROUPS = lit("].flowGroups[");
const P_TUPLE = lit("].flowTuples[");
const P_RULE = lit("].rule");
const P_MAC = lit("].mac");
const P_ACL = lit("].aclID");
const P_CLOSE = lit("]");

/** Starts an error text "record at byte N: " in errorTexts; returns its start. */
function beginRecordErrorText(): i32 {
  redirectOutput(errorTexts);
  const start = outPos;
  reserve(512);
  putLit(RECORD_AT);
  putU64(<u64>recStart);
  putLit(COLON);
  return start;
}

function endRecordErrorText(start: i32, raw: usize, rawLen: i32): void {
  const n = outPos - start;
  restoreOutput(errorTexts);
  pushJob(-1 - ERR_INVALID_RECORD, start, n, <i32>(raw - rec), rawLen);
}

/** The whole record becomes one error event. `at` >= 0 adds "(at its byte N)". */
function recordError(text: Lit, at: i64, withOffset: i32): void {
  const start = beginRecordErrorText();
  putLit(text);
  if (withOffset != 0) {
    putU64(<u64>at);
    putLit(CLOSE_PAREN);
  }
  endRecordErrorText(start, rec, recLen);
}

/** Writes a path such as properties.flows[i].flows[j] then `tail`. */
function pathError(a: Lit, i: i32, b: Lit | null, j: i32, c: Lit | null, k: i32, tail: Lit, raw: Val): void {
  const start = beginRecordErrorText();
  putLit(a);
  putU64(<u64>i);
  if (b != null) {
    putLit(b);
    putU64(<u64>j);
    if (c != null) {
      putLit(c);
      putU64(<u64>k);
    }
  }
  putLit(tail);
  endRecordErrorText(start, raw.start, <i32>(raw.end - raw.start));
}

/** Iterates an array's elements: call with p at `[` (first) or at an element's end. */
@inline function firstElement(arr: usize): usize {
  const p = skipWs(arr + 1);
  return load<u8>(p) == 0x5d ? 0 : p;
}

@inline function nextElement(after: usize): usize {
  const p = skipWs(after);
  return load<u8>(p) == 0x5d ? 0 : skipWs(p + 1);
}

function nsgRecord(): void {
  if (properties.kind == 0x7b) {
    lookup(properties.start, K_VERSION, K_FLOWS);
    take(version, 0);
    take(outerFlows, 1);
  } else {
    outerFlows.clear();
  }
  walkFlows(false);
}

function vnetRecord(): void {
  lookup(rec, K_FLOW_LOG_GUID, K_FLOW_RECORDS, K_FLOW_LOG_RESOURCE_ID, K_TARGET_RESOURCE_ID);
  take(flowLogGuid, 0);
  take(flowLogResourceId, 2);
  take(targetResourceId, 3);
  take(flowRecords, 1);
  if (flowRecords.kind == 0x7b) {
    lookup(flowRecords.start, K_FLOWS);
    take(outerFlows, 0);
  } else {
    outerFlows.clear();
  }
  walkFlows(true);
}

/** The two levels both formats share: NSG properties.flows[].flows[] (rule, then mac) and
 * VNet flowRecords.flows[].flowGroups[] (aclID, then rule), each group with its flowTuples. */
function walkFlows(vnet: bool): void {
  if (outerFlows.kind != 0x5b) {
    recordError(vnet ? NO_FLOW_RECORDS_FLOWS : NO_PROPERTIES_FLOWS, 0, 0);
    return;
  }
  const outerPath = vnet ? P_RECORD_FLOWS : P_FLOWS;
  let i = 0;
  for (let e = firstElement(outerFlows.start); e != 0; i++) {
    let eEnd: usize;
    if (load<u8>(e) != 0x7b) {
      eEnd = valueEnd(e);
      tmp.start = e;
      tmp.end = eEnd;
      pathError(outerPath, i, null, 0, null, 0, NOT_AN_OBJECT_CLOSE, tmp);
    } else {
      // The lookup walks the element anyway: it also says where it ends.
      if (vnet) {
        eEnd = lookup(e, K_ACL_ID, K_FLOW_GROUPS);
        take(aclId, 0);
      } else {
        eEnd = lookup(e, K_RULE, K_FLOWS);
        take(rule, 0);
      }
      take(innerFlows, 1);
      tmp.start = e;
      tmp.end = eEnd;
      if (!vnet && rule.present && rule.kind != 0x22) {
        pathError(outerPath, i, null, 0, null, 0, P_RULE_NOT_STRING, tmp);
      } else if (innerFlows.kind != 0x5b) {
        pathError(outerPath, i, null, 0, null, 0, vnet ? GROUPS_NOT_ARRAY : FLOWS_NOT_ARRAY, tmp);
      } else {
        let j = 0;
        for (let g = firstElement(innerFlows.start); g != 0; j++) {
          g = nextElement(group(g, i, j, vnet));
        }
      }
    }
    e = nextElement(eEnd);
  }
}

const NOT_AN_OBJECT_CLOSE = lit("] is not an object");
const P_RULE_NOT_STRING = lit("].rule is not a string");
const FLOWS_NOT_ARRAY = lit("].flows is missing or not an array");
const GROUPS_NOT_ARRAY = lit("].flowGroups is missing or not an array");
const P_MAC_NOT_STRING = lit("].mac is not a string");
const TUPLES_NOT_ARRAY = lit("].flowTuples is missing or not an array");

/** One group (NSG flows[].flows[], VNet flowGroups[]): its tuples become jobs. Returns the
 * position just after it. */
function group(g: usize, i: i32, j: i32, vnet: bool): usize {
  const outerPath = vnet ? P_RECORD_FLOWS : P_FLOWS;
  const innerPath = vnet ? P_FLOW_GROUPS : P_INNER_FLOWS;
  if (load<u8>(g) != 0x7b) {
    tmp.start = g;
    tmp.end = valueEnd(g);
    pathError(outerPath, i, innerPath, j, null, 0, NOT_AN_OBJECT_CLOSE, tmp);
    return tmp.end;
  }
  let gEnd: usize;
  if (vnet) {
    gEnd = lookup(g, K_RULE, K_FLOW_TUPLES);
    take(rule, 0);
  } else {
    gEnd = lookup(g, K_MAC, K_FLOW_TUPLES);
    take(groupMac, 0);
  }
  take(tuples, 1);
  tmp.start = g;
  tmp.end = gEnd;
  if (!vnet && groupMac.present && groupMac.kind != 0x22) {
    pathError(outerPath, i, innerPath, j, null, 0, P_MAC_NOT_STRING, tmp);
    return gEnd;
  }
  if (tuples.kind != 0x5b) {
    pathError(outerPath, i, innerPath, j, null, 0, TUPLES_NOT_ARRAY, tmp);
    return gEnd;
  }
  // The flattened event up to the tuple, in the collector's key order.
  redirectOutput(prefixes);
  const start = outPos;
  beginGroupSlots(start);
  if (vnet) writeVnetPrefix();
  else writeNsgPrefix();
  const n = outPos - start;
  restoreOutput(prefixes);
  groupTuples(start, n, endGroupSlots(), outerPath, i, innerPath, j);
  return gEnd;
}

function writeNsgPrefix(): void {
  const mac = groupMac.present ? groupMac : macAddress;
  reserve(6 * (len(mac) + len(operationName) + len(resourceId) + len(time) + len(rule) + len(version)) + 256);
  put(0x7b);
  let members = member(0, KEY_MAC_ADDRESS, mac, SLOT_MAC);
  members = member(members, KEY_OPERATION_NAME, operationName, SLOT_OPERATION);
  members = member(members, KEY_RESOURCE_ID, resourceId, SLOT_RESOURCE_ID);
  members = member(members, KEY_TIME, time, SLOT_TIME);
  members = member(members, KEY_RULE, rule, SLOT_RULE);
  // `version` is properties.Version as a string: a number's digits, quoted.
  const k = version.kind;
  if (k == 0x22) members = member(members, KEY_VERSION, version, SLOT_VERSION);
  else if (k == 0x2d || (k >= 0x30 && k <= 0x39)) {
    if (members++ > 0) put(0x2c);
    putLit(KEY_VERSION);
    put(0x22);
    setSlot(SLOT_VERSION, outPos, len(version));
    putBytes(version.start, len(version));
    put(0x22);
  }
  if (members > 0) put(0x2c);
  putLit(KEY_FLOW0);
}

function writeVnetPrefix(): void {
  reserve(6 * (len(time) + len(flowLogVersion) + len(flowLogGuid) + len(macAddress) + len(flowLogResourceId) +
    len(targetResourceId) + len(operationName) + len(aclId) + len(rule)) + 320);
  put(0x7b);
  let members = member(0, KEY_TIME, time, SLOT_TIME);
  members = member(members, KEY_FLOW_LOG_VERSION, flowLogVersion, SLOT_FLOW_LOG_VERSION);
  members = member(members, KEY_FLOW_LOG_GUID, flowLogGuid, SLOT_FLOW_LOG_GUID);
  members = member(members, KEY_MAC_ADDRESS, macAddress, SLOT_MAC);
  members = member(members, KEY_FLOW_LOG_RESOURCE_ID, flowLogResourceId, SLOT_FLOW_LOG_RESOURCE_ID);
  members = member(members, KEY_TARGET_RESOURCE_ID, targetResourceId, SLOT_TARGET_RESOURCE_ID);
  members = member(members, KEY_OPERATION_NAME, operationName, SLOT_OPERATION);
  members = member(members, KEY_ACL_ID, aclId, SLOT_ACL_ID);
  members = member(members, KEY_RULE, rule, SLOT_RULE);
  if (members > 0) put(0x2c);
  putLit(KEY_FLOW0);
}

const KEY_MAC_ADDRESS = lit('"macAddress":');
const KEY_OPERATION_NAME = lit('"operationName":');
const KEY_RESOURCE_ID = lit('"resourceId":');
const KEY_TIME = lit('"time":');
const KEY_RULE = lit('"rule":');
const KEY_VERSION = lit('"version":');
const KEY_FLOW_LOG_VERSION = lit('"flowLogVersion":');
const KEY_FLOW_LOG_GUID = lit('"flowLogGUID":');
const KEY_FLOW_LOG_RESOURCE_ID = lit('"flowLogResourceID":');
const KEY_TARGET_RESOURCE_ID = lit('"targetResourceID":');
const KEY_ACL_ID = lit('"aclID":');
const KEY_FLOW0 = lit('"flow.0":');

/** One member of the flattened event, when the value is there: strings are written as
 * JSON.stringify would write them (so `message` does not depend on the blob's escaping); other
 * values as they stand. */
function member(members: i32, key: Lit, v: Val, slot: i32 = -1): i32 {
  if (!v.present) return members;
  if (members > 0) put(0x2c);
  putLit(key);
  if (v.kind == 0x22) {
    const at = outPos + 1;
    if (putCanonicalString(v)) unchecked(slots[0] = 0);
    if (slot >= 0) setSlot(slot, at, outPos - 1 - at);
  } else {
    const at = outPos;
    putBytes(v.start, <i32>(v.end - v.start));
    // Only flowLogVersion may be a number (its presence is what counts).
    if (slot == SLOT_FLOW_LOG_VERSION) setSlot(slot, at, outPos - at);
    else if (slot >= 0) unchecked(slots[0] = 0);
  }
  return members + 1;
}

/** Writes a string value as JSON.stringify would. True when it had escapes (its text in the
 * output is then not its content). */
function putCanonicalString(v: Val): bool {
  const from = v.start + 1;
  const to = v.end - 1;
  const n = <i32>(to - from);
  for (let i = 0; i < n; i++) {
    if (load<u8>(from + i) == 0x5c) {
      if (scratchCap < n) {
        scratchCap = nextCapacity(scratchCap, n);
        scratch = heap.realloc(scratch, <usize>scratchCap);
      }
      const m = decodeInto(scratch, from, to);
      put(0x22);
      putEscaped(scratch, m);
      put(0x22);
      return true;
    }
  }
  putBytes(v.start, <i32>(v.end - v.start));
  return false;
}

/** One job per element of `tuples` (the current group's flowTuples). */
function groupTuples(prefixStart: i32, prefixLen: i32, groupIndex: i32, a: Lit, i: i32, b: Lit, j: i32): void {
  let k = 0;
  for (let t = firstElement(tuples.start); t != 0; k++) {
    const tEnd = valueEnd(t);
    if (load<u8>(t) == 0x22) {
      let escaped = 0;
      for (let p = t + 1; p < tEnd - 1; p++) if (load<u8>(p) == 0x5c) { escaped = 1; break; }
      pushJob(prefixStart, prefixLen, <i32>(t - rec), <i32>(tEnd - t), escaped, groupIndex);
    } else {
      const el = tmp;
      el.start = t; el.end = tEnd;
      pathError(a, i, b, j, P_TUPLE, k, NOT_A_STRING_CLOSE, el);
    }
    t = nextElement(tEnd);
  }
}

const NOT_A_STRING_CLOSE = lit("] is not a string");

// ---- Writing the events ------------------------------------------------------------------

function emitJobs(): void {
  while (nextJob < jobCount && outPos < OUTPUT_SLICE) {
    const j = jobs + <usize>(nextJob * JOB_INTS * 4);
    nextJob++;
    const a = load<i32>(j);
    const b = load<i32>(j, 4);
    const c = load<i32>(j, 8);
    const d = load<i32>(j, 12);
    const e = load<i32>(j, 16);
    if (a < 0) {
      emitError(-1 - a, b, c, d < 0 ? 0 : rec + <usize>d, e);
      countLine(true);
      continue;
    }
    // The flattened event: the group's prefix, the tuple as a JSON string, `}`. Written straight
    // into the output when it is the output; else apart, then mapped.
    const copyOut = mode == MODE_COPY;
    if (!copyOut) {
      flat.len = 0;
      redirectOutput(flat);
    }
    reserve(b + d * 6 + 8);
    putBytes(prefixes.ptr + <usize>a, b);
    const t = rec + <usize>c;
    if (e == 0) putBytes(t, d);
    else {
      tmp.start = t;
      tmp.end = t + <usize>d;
      putCanonicalString(tmp);
    }
    put(0x7d);
    if (copyOut) {
      countLine(false);
    } else {
      restoreOutput(flat);
      const g = load<i32>(j, 20);
      const row = groups.ptr + <usize>(g * GROUP_INTS * 4);
      if (e == 0 && load<i32>(row) != 0 && flat.len <= MAX_RECORD_BYTES) {
        // Valid by construction, and every value's place is known: no need to scan it again.
        clearFields();
        for (let k = 0; k < SLOTS; k++) {
          const off = load<i32>(row + <usize>(4 + k * 8));
          if (off < 0) continue;
          const f = unchecked(SLOT_FIELDS[k]);
          setField(f, f == F_FLOW_LOG_VERSION ? V_NUMBER : V_STRING, flat.ptr + <usize>off, load<i32>(row + <usize>(8 + k * 8)));
        }
        setField(F_FLOW0, V_STRING, flat.ptr + <usize>b + 1, d - 2);
        mapKnownFields(flat.ptr, flat.len);
      } else {
        mapRecord(flat.ptr, flat.len);
      }
      countLine(lastWasError);
    }
    put(0x0a);
  }
  if (nextJob == jobCount) {
    jobCount = 0;
    nextJob = 0;
    prefixes.len = 0;
    errorTexts.len = 0;
    groups.len = 0;
    groupCount = 0;
  }
}

function emitError(type: i32, textStart: i32, textLen: i32, raw: usize, rawLen: i32): void {
  const kept = raw == 0 ? 0 : (rawLen > MAX_RECORD_BYTES ? characterBoundary(raw, MAX_RECORD_BYTES) : rawLen);
  reserve(kept * 6 + textLen + 512);
  beginErrorEvent(unchecked(ERR_TYPES[type]), raw, kept);
  putBytes(errorTexts.ptr + <usize>textStart, textLen);
  endErrorEvent();
  put(0x0a);
}
