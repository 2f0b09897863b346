// The ECS event: the NSG and VNet mappings fill in the fields below, then writeEcsEvent turns
// them into one JSON object. Also the error event. Every span is (pointer, length) into the
// input, the decode arena or a literal; a length of 0 means the field is absent.
import { Lit, lit, spansEqual } from "./bytes";
import {
  put, putLit, putBytes, putEscaped, putEscapedRepaired, putU64, key, keyLitString, keyU64,
  beginRecord, endRecord, beginObject, endObject,
} from "./output";
import { timeText, timeTextLen } from "./time";
import * as tuple from "./tuple";

export class Span {
  ptr: usize = 0;
  len: i32 = 0;
  /** Needs no escaping (see json-scanner's fieldVerbatim): copied as is, the common case. */
  verbatim: bool = true;
  @inline set(ptr: usize, len: i32, verbatim: bool): void {
    this.ptr = ptr;
    this.len = len;
    this.verbatim = verbatim;
  }
  @inline setLit(l: Lit | null): void {
    if (l) { this.ptr = l.ptr; this.len = l.len; this.verbatim = true; } else this.len = 0;
  }
  @inline clear(): void { this.len = 0; }
  @inline get present(): bool { return this.len > 0; }
}

export class Endpoint {
  ip: Span = new Span();
  port: i32 = -1;
  mac: Span = new Span();
  packets: u64 = 0;
  hasPackets: bool = false;
  bytes: u64 = 0;
  hasBytes: bool = false;
  clear(): void {
    this.ip.clear();
    this.port = -1;
    this.mac.clear();
    this.hasPackets = false;
    this.hasBytes = false;
  }
}

export class EcsEvent {
  message: Span = new Span();
  hasEventStart: bool = false;
  eventCode: Span = new Span();
  eventAction: Span = new Span();
  eventType: Span = new Span();
  outcomeSuccess: bool = false;
  actionName: Span = new Span();
  actionType: Span = new Span();
  operationName: Span = new Span();
  version: Span = new Span();
  flowState: Span = new Span();
  flowEncryption: Span = new Span();
  ruleName: Span = new Span();
  transport: Span = new Span();
  direction: Span = new Span();
  ianaNumber: Span = new Span();
  observerMac: Span = new Span();
  source: Endpoint = new Endpoint();
  destination: Endpoint = new Endpoint();

  clear(): void {
    this.hasEventStart = false;
    this.eventCode.clear();
    this.eventAction.clear();
    this.eventType.clear();
    this.outcomeSuccess = false;
    this.actionName.clear();
    this.actionType.clear();
    this.operationName.clear();
    this.version.clear();
    this.flowState.clear();
    this.flowEncryption.clear();
    this.ruleName.clear();
    this.transport.clear();
    this.direction.clear();
    this.ianaNumber.clear();
    this.observerMac.clear();
    this.source.clear();
    this.destination.clear();
  }
}

/** The one event being built; reused for every record (cleared first). */
export const ecs = new EcsEvent();

const K_TIMESTAMP = lit('"@timestamp":');
const K_MESSAGE = lit('"message":');
const K_EVENT = lit('"event":');
// Some "keys" below are whole members with a fixed value, written with key() like the rest.
const K_CATEGORY_NETWORK = lit('"category":["network"]');
const K_CODE = lit('"code":');
const K_START = lit('"start":');
const K_ACTION = lit('"action":');
const K_TYPE = lit('"type":');
const K_OUTCOME_SUCCESS = lit('"outcome":"success"');
const K_NAME = lit('"name":');
const K_TARGET_NETWORK_TRAFFIC = lit('"target":"network-traffic"');
const K_PROPERTIES = lit('"properties":');
const K_OPERATION_NAME = lit('"OperationName":');
const K_VERSION = lit('"Version":');
const K_FLOW_STATE = lit('"FlowState":');
const K_FLOW_ENCRYPTION = lit('"FlowEncryption":');
const K_RULE = lit('"rule":');
const K_NETWORK = lit('"network":');
const K_TRANSPORT = lit('"transport":');
const K_DIRECTION = lit('"direction":');
const K_IANA_NUMBER = lit('"iana_number":');
const K_OBSERVER = lit('"observer":');
const K_MAC = lit('"mac":');
const K_SOURCE = lit('"source":');
const K_DESTINATION = lit('"destination":');
const K_IP = lit('"ip":');
const K_ADDRESS = lit('"address":');
const K_PORT = lit('"port":');
const K_PACKETS = lit('"packets":');
const K_BYTES = lit('"bytes":');
const K_RELATED = lit('"related":');

const INBOUND = lit("inbound");
const OUTBOUND = lit("outbound");

/** Tuple direction letter I/O to network.direction. */
export function directionOf(letter: u8): Lit {
  return letter == 0x49 ? INBOUND : OUTBOUND;
}

/** Addresses, ports and counters of a parsed tuple (both intakes). */
export function fillEndpoints(): void {
  const s = ecs.source;
  const d = ecs.destination;
  // Validated addresses hold only hex digits, '.' and ':'.
  s.ip.set(tuple.srcIpPtr, tuple.srcIpLen, true);
  d.ip.set(tuple.dstIpPtr, tuple.dstIpLen, true);
  s.port = tuple.srcPort;
  d.port = tuple.dstPort;
  s.hasPackets = unchecked(tuple.counterPresent[0]);
  s.packets = unchecked(tuple.counters[0]);
  s.hasBytes = unchecked(tuple.counterPresent[1]);
  s.bytes = unchecked(tuple.counters[1]);
  d.hasPackets = unchecked(tuple.counterPresent[2]);
  d.packets = unchecked(tuple.counters[2]);
  d.hasBytes = unchecked(tuple.counterPresent[3]);
  d.bytes = unchecked(tuple.counters[3]);
}

function putSpan(s: Span): void {
  put(0x22);
  if (s.verbatim) putBytes(s.ptr, s.len);
  else putEscaped(s.ptr, s.len);
  put(0x22);
}

@inline function keySpan(k: Lit, s: Span): void {
  key(k);
  putSpan(s);
}

@inline function optString(k: Lit, s: Span): void {
  if (s.len > 0) keySpan(k, s);
}

function writeEndpoint(k: Lit, e: Endpoint): void {
  beginObject(k);
  if (e.ip.present) {
    keySpan(K_IP, e.ip);
    keySpan(K_ADDRESS, e.ip);
  }
  if (e.port >= 0) keyU64(K_PORT, <u64>e.port);
  optString(K_MAC, e.mac);
  if (e.hasPackets) keyU64(K_PACKETS, e.packets);
  if (e.hasBytes) keyU64(K_BYTES, e.bytes);
  endObject();
}

function writeRelatedIp(): void {
  const s = ecs.source.ip;
  const d = ecs.destination.ip;
  if (!s.present && !d.present) return;
  beginObject(K_RELATED);
  key(K_IP);
  put(0x5b);
  if (s.present) putSpan(s);
  if (d.present && !spansEqual(s.ptr, s.len, d.ptr, d.len)) {
    if (s.present) put(0x2c);
    putSpan(d);
  }
  put(0x5d);
  endObject();
}

/** Writes `ecs` as one JSON object; @timestamp is the text in timeText. */
export function writeEcsEvent(): void {
  beginRecord();
  key(K_TIMESTAMP);
  put(0x22);
  putBytes(timeText, timeTextLen);
  put(0x22);
  key(K_MESSAGE);
  put(0x22);
  putEscaped(ecs.message.ptr, ecs.message.len);
  put(0x22);

  beginObject(K_EVENT);
  key(K_CATEGORY_NETWORK);
  optString(K_CODE, ecs.eventCode);
  if (ecs.hasEventStart) {
    key(K_START);
    put(0x22);
    putBytes(timeText, timeTextLen);
    put(0x22);
  }
  optString(K_ACTION, ecs.eventAction);
  if (ecs.eventType.present) {
    key(K_TYPE);
    put(0x5b);
    putSpan(ecs.eventType);
    put(0x5d);
  }
  if (ecs.outcomeSuccess) key(K_OUTCOME_SUCCESS);
  endObject();

  beginObject(K_ACTION);
  optString(K_NAME, ecs.actionName);
  if (ecs.actionName.present && ecs.outcomeSuccess) key(K_OUTCOME_SUCCESS);
  optString(K_TYPE, ecs.actionType);
  key(K_TARGET_NETWORK_TRAFFIC);
  beginObject(K_PROPERTIES);
  optString(K_OPERATION_NAME, ecs.operationName);
  optString(K_VERSION, ecs.version);
  optString(K_FLOW_STATE, ecs.flowState);
  optString(K_FLOW_ENCRYPTION, ecs.flowEncryption);
  endObject();
  endObject();

  if (ecs.ruleName.present) {
    beginObject(K_RULE);
    keySpan(K_NAME, ecs.ruleName);
    endObject();
  }

  beginObject(K_NETWORK);
  optString(K_TRANSPORT, ecs.transport);
  optString(K_DIRECTION, ecs.direction);
  optString(K_IANA_NUMBER, ecs.ianaNumber);
  endObject();

  if (ecs.observerMac.present) {
    beginObject(K_OBSERVER);
    keySpan(K_MAC, ecs.observerMac);
    endObject();
  }

  writeEndpoint(K_SOURCE, ecs.source);
  writeEndpoint(K_DESTINATION, ecs.destination);
  writeRelatedIp();
  endRecord();
}

// ---- The error event -------------------------------------------------------------------

export const ERR_INVALID_JSON = lit("invalid_json");
export const ERR_NOT_AN_OBJECT = lit("not_an_object");
export const ERR_INVALID_UTF8 = lit("invalid_utf8");
export const ERR_TOO_LARGE = lit("too_large");
export const ERR_TOO_DEEP = lit("too_deep");
export const ERR_INVALID_FIELD = lit("invalid_field");
export const ERR_INVALID_TIME = lit("invalid_time");
export const ERR_NO_TIMESTAMP = lit("no_timestamp");

const K_ERROR = lit('"error":');
const K_PIPELINE_ERROR = lit('"event":{"kind":"pipeline_error"}');

/** Opens an error event: `{"message":<raw, U+FFFD for invalid UTF-8 unless rawIsWtf8>,"error":{"type":…,
 * "message":"` — the caller writes the explanation (escaped), then calls endErrorEvent. */
export function beginErrorEvent(type: Lit, rawPtr: usize, rawLen: i32, rawIsWtf8: bool = false): void {
  beginRecord();
  key(K_MESSAGE);
  put(0x22);
  if (rawIsWtf8) putEscaped(rawPtr, rawLen);
  else putEscapedRepaired(rawPtr, rawLen);
  put(0x22);
  beginObject(K_ERROR);
  keyLitString(K_TYPE, type);
  key(K_MESSAGE);
  put(0x22);
}

export function endErrorEvent(): void {
  put(0x22);
  endObject();
  key(K_PIPELINE_ERROR);
  endRecord();
}

export { putLit as errText, putU64 as errNumber };
