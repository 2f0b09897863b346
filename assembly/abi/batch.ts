// The batch ABI for hosts that move many records per call (the Node library and CLI): the host
// writes bytes into the input buffer, calls a *_feed function, and reads the output buffer.
// Both buffers are reused across calls; pointers change only when a buffer grows.
import { nextCapacity } from "../base/bytes";
import { outBuf, outPos, outReset, put, linesOut, errorLinesOut, reserve as reserveOutput } from "../base/output";
import { feedLines, resetFraming, MODE_MAP, MODE_COPY } from "../framing/ndjson";
import { blobStart, blobFeed, blobResume, blobPending, blobOffset } from "../framing/blob";
import { mapRecord, tooLarge, lastWasError, MAX_RECORD_BYTES } from "../map/mapper";
import { applyOptions } from "./options";
import { beginLoad, feedLoad, endLoad, unloadSet } from "../enrich/indicators/load";
import { generation } from "../enrich/indicators/sets";
import { eventsMatched } from "../enrich/event";
import {
  addDatabase, clearDatabases, databaseCount, describeDatabase, jsonString, geoError, lookupErrors, lastLookupError,
} from "../enrich/geo/databases";
import { cacheHits, cacheMisses, recordHits } from "../enrich/geo/cache";

let inBuf: usize = heap.alloc(65536);
let inCap: i32 = 65536;
let recordsBefore: i32 = 0;
let errorsBefore: i32 = 0;
let matchedBefore: i32 = 0;
let faultsBefore: u32 = 0;

/** Returns the input buffer, grown to hold at least `size` bytes. */
export function input_buffer(size: i32): usize {
  if (size > inCap) {
    inCap = nextCapacity(inCap, size);
    inBuf = heap.realloc(inBuf, <usize>inCap);
  }
  return inBuf;
}

export function output_buffer(): usize {
  return outBuf;
}

function begin(): void {
  outReset();
  recordsBefore = linesOut;
  errorsBefore = errorLinesOut;
  matchedBefore = eventsMatched;
  faultsBefore = lookupErrors;
}

/** Options for this instance, as a JSON object in the input buffer (see abi/options.ts). Returns
 * 0 when applied, 1 when an option is unknown to this module. */
export function configure(len: i32): i32 {
  return applyOptions(inBuf, len);
}

/** NDJSON in (any chunking: a line may span calls), one output line per record. Returns the
 * output length. `last` = 1 ends the stream (a final line without newline counts). */
export function ndjson_feed(len: i32, last: i32): i32 {
  begin();
  feedLines(inBuf, len, last != 0, MODE_MAP);
  return outPos;
}

/** The same framing with a plain copy of each record: what any transform here can reach. */
export function copy_feed(len: i32, last: i32): i32 {
  begin();
  feedLines(inBuf, len, last != 0, MODE_COPY);
  return outPos;
}

/** Exactly one record (the whole input, newlines included) to one JSON object, no newline. */
export function map_one(len: i32): i32 {
  begin();
  mapRecord(inBuf, len);
  return outPos;
}

/** The error event line for a record of `total` bytes of which the host kept the first `len`
 * (in the input buffer): hosts that frame lines themselves do not hold oversized ones whole. */
export function too_large(len: i32, total: f64): i32 {
  begin();
  tooLarge(inBuf, len, <i64>total);
  put(0x0a);
  return outPos;
}

/** Forgets any partial line: the next feed starts a new stream. */
export function reset_stream(): void {
  resetFraming();
}

/** Records and error events produced by the last call. */
export function last_records(): i32 {
  return linesOut - recordsBefore;
}

export function last_errors(): i32 {
  return errorLinesOut - errorsBefore;
}

/** Events of the last call that matched at least one indicator. */
export function last_matched(): i32 {
  return eventsMatched - matchedBefore;
}

/** Geo lookups of the last call that met a corrupt record or tree (that database gave nothing for
 * the address; the event was mapped as usual): counted per call so the CLI can say so at the end. */
export function last_geo_faults(): i32 {
  return <i32>(lookupErrors - faultsBefore);
}

export function last_was_error(): i32 {
  return lastWasError ? 1 : 0;
}

export function max_record_bytes(): i32 {
  return MAX_RECORD_BYTES;
}

// ---- PT1H.json blobs -------------------------------------------------------------------------

/** Starts a blob stream at `fromOffset` (0: a whole document). `incremental` = 1: an unfinished
 * document is "not written yet", not truncated. `flattenOnly` = 1: write the flattened raw
 * events instead of mapping them. */
export function blob_start(fromOffset: f64, incremental: i32, flattenOnly: i32): void {
  blobStart(<i64>fromOffset, incremental != 0, flattenOnly != 0 ? MODE_COPY : MODE_MAP);
}

/** Feeds `len` bytes of the blob from the input buffer. Returns the output length; when
 * blob_pending() says so, drain the output and call blob_resume() before the next feed. */
export function blob_feed(len: i32, last: i32): i32 {
  begin();
  blobFeed(inBuf, len, last != 0);
  return outPos;
}

export function blob_resume(): i32 {
  begin();
  blobResume();
  return outPos;
}

export function blob_pending(): i32 {
  return blobPending() ? 1 : 0;
}

/** The offset to resume a growing blob from: just after the last complete record. */
export function blob_offset(): f64 {
  return <f64>blobOffset();
}

// ---- Indicator sets (threat intel, TOR) --------------------------------------------------------

function nameIn(len: i32): string {
  return String.UTF8.decodeUnsafe(inBuf, <usize>len);
}

/** Starts loading the indicator set named by the `len` bytes (UTF-8) in the input buffer. */
export function indicators_begin(len: i32): void {
  beginLoad(nameIn(len));
}

/** The next `len` bytes of the set's file, from the input buffer (any piece size). */
export function indicators_feed(len: i32): void {
  feedLoad(inBuf, len);
}

/** Ends the set (see enrich/indicators/load.ts): its report, a JSON object, in the output
 * buffer; returns its length. `nowMs`: epoch milliseconds, for STIX `valid_until`. */
export function indicators_end(nowMs: f64): i32 {
  const report = endLoad(<i64>(nowMs * 1000));
  outReset();
  const n = String.UTF8.byteLength(report);
  reserveOutput(n);
  String.UTF8.encodeUnsafe(changetype<usize>(report), report.length, outBuf);
  return <i32>n;
}

/** Removes the set named by the `len` bytes in the input buffer: 1, or 0 when there is none. */
export function indicators_unload(len: i32): i32 {
  return unloadSet(nameIn(len)) ? 1 : 0;
}

/** Changes whenever the loaded sets change. */
export function indicators_generation(): u32 {
  return generation;
}

// ---- Geo databases (MMDB) ----------------------------------------------------------------------

/** A block of `len` bytes for a database file: the host writes the file straight into it and
 * hands it to geo_add, so a large file is copied once (not into the input buffer, then again). */
export function geo_alloc(len: i32): usize {
  return heap.alloc(len > 0 ? <usize>len : 1);
}

let geoReport: string = "";

/** Opens the file in a block from geo_alloc, which the set then owns (and frees when it refuses
 * the file): 1 when added, 0 when refused. geo_report() says which database, or why not. */
export function geo_add(ptr: usize, len: i32): i32 {
  if (addDatabase(ptr, <u32>len, true)) {
    geoReport = describeDatabase(databaseCount() - 1);
    return 1;
  }
  geoReport = '{"error":' + jsonString(geoError) + "}";
  return 0;
}

/** The last geo_add's report, a JSON object in the output buffer; returns its length. */
export function geo_report(): i32 {
  return reportOut(geoReport);
}

/** Drops every database (and frees their blocks). */
export function geo_clear(): void {
  clearDatabases();
}

/** The lookups so far, as a JSON object in the output buffer (returns its length): those that
 * met a corrupt record since the databases were (re)loaded and the last such fault, and the
 * cache's answers over the instance's life (address hits, misses, misses answered by the
 * records table). */
export function geo_stats(): i32 {
  return reportOut('{"lookup_errors":' + lookupErrors.toString() + ',"last":' + jsonString(lastLookupError)
    + ',"cache_hits":' + cacheHits.toString() + ',"cache_misses":' + cacheMisses.toString()
    + ',"record_hits":' + recordHits.toString() + "}");
}

function reportOut(report: string): i32 {
  outReset();
  const n = String.UTF8.byteLength(report);
  reserveOutput(n);
  String.UTF8.encodeUnsafe(changetype<usize>(report), report.length, outBuf);
  return <i32>n;
}
