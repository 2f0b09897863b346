// The ECS event: the NSG and VNet mappings fill in the fields below, then writeEcsEvent turns
// them into one JSON object. Also the error event. Every span is (pointer, length) into the
// input, the decode arena or a literal; a length of 0 means the field is absent.
import { Lit, lit, spansEqual } from "./bytes";
import { put, putLit, putBytes, putEscaped, putEscapedRepaired, putU64 } from "./output";
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

// A parsed tuple's decision (NSG) or state (VNet) as the run of members it becomes, written in
// one piece: event.action/type/outcome, then the opening of `action` with action.name/outcome.
export const NO_TUPLE = lit('},"action":{"target":"network-traffic"');
export const NSG_ACCEPTED = lit(',"action":"accept","type":["allowed"],"outcome":"success"},"action":{"target":"network-traffic","name":"accept","outcome":"success"');
export const NSG_REJECTED = lit(',"action":"reject","type":["denied"],"outcome":"success"},"action":{"target":"network-traffic","name":"reject","outcome":"success"');
export const VNET_START = lit(',"type":["start"]},"action":{"target":"network-traffic"');
export const VNET_INFO = lit(',"type":["info"]},"action":{"target":"network-traffic"');
export const VNET_END = lit(',"type":["end"]},"action":{"target":"network-traffic"');
export const VNET_DENIED = lit(',"type":["denied"]},"action":{"target":"network-traffic"');

// `network` from the tuple: NSG transport and direction; VNet direction, then the protocol
// number (ianaNumber) and the closing brace.
export const NSG_TCP_INBOUND = lit(',"network":{"transport":"tcp","direction":"inbound"}');
export const NSG_TCP_OUTBOUND = lit(',"network":{"transport":"tcp","direction":"outbound"}');
export const NSG_UDP_INBOUND = lit(',"network":{"transport":"udp","direction":"inbound"}');
export const NSG_UDP_OUTBOUND = lit(',"network":{"transport":"udp","direction":"outbound"}');
export const VNET_INBOUND = lit(',"network":{"direction":"inbound","iana_number":');
export const VNET_OUTBOUND = lit(',"network":{"direction":"outbound","iana_number":');

export class EcsEvent {
  message: Span = new Span();
  /** event.id, when the host asked for it (settings.ts). */
  eventId: Span = new Span();
  hasEventStart: bool = false;
  eventCode: Span = new Span();
  /** What the tuple's decision or state makes of the end of `event` and the start of `action`:
   * one of the fixed runs below. */
  outcome: Lit = NO_TUPLE;
  actionType: Span = new Span();
  operationName: Span = new Span();
  version: Span = new Span();
  flowState: Span = new Span();
  flowEncryption: Span = new Span();
  ruleName: Span = new Span();
  /** `network`, a fixed run; for VNet it is left open for the protocol number. */
  network: Lit | null = null;
  ianaNumber: Span = new Span();
  observerMac: Span = new Span();
  source: Endpoint = new Endpoint();
  destination: Endpoint = new Endpoint();

  clear(): void {
    this.eventId.clear();
    this.hasEventStart = false;
    this.eventCode.clear();
    this.outcome = NO_TUPLE;
    this.actionType.clear();
    this.operationName.clear();
    this.version.clear();
    this.flowState.clear();
    this.flowEncryption.clear();
    this.ruleName.clear();
    this.network = null;
    this.ianaNumber.clear();
    this.observerMac.clear();
    this.source.clear();
    this.destination.clear();
  }
}

/** The one event being built; reused for every record (cleared first). */
export const ecs = new EcsEvent();

// The event is written as fixed fragments with the optional members in between. Every object
// opens with a member it always has (or is only opened once one is known to be there), so no
// member needs to look back to know whether a comma goes before it.
const F_TIMESTAMP = lit('{"@timestamp":"');
const F_MESSAGE = lit('","message":"');
const F_EVENT = lit('","event":{"category":["network"]');
const F_ID = lit(',"id":');
const F_CODE = lit(',"code":');
const F_START = lit(',"start":"');
const F_TYPE = lit(',"type":');
const F_PROPERTIES = lit(',"properties":{');
const F_OPERATION_NAME = lit('"OperationName":');
const F_VERSION = lit('"Version":');
const F_FLOW_STATE = lit('"FlowState":');
const F_FLOW_ENCRYPTION = lit('"FlowEncryption":');
const F_RULE = lit(',"rule":{"name":');
const F_OBSERVER = lit(',"observer":{"mac":');
const F_SOURCE = lit(',"source":{');
const F_DESTINATION = lit(',"destination":{');
const F_IP = lit('"ip":');
const F_ADDRESS = lit(',"address":');
const F_PORT = lit('"port":');
const F_MAC = lit('"mac":');
const F_PACKETS = lit('"packets":');
const F_BYTES = lit('"bytes":');
const F_RELATED = lit(',"related":{"ip":[');
const F_CLOSE_RELATED = lit(']}');

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

@inline export function putSpan(s: Span): void {
  put(0x22);
  if (s.verbatim) putBytes(s.ptr, s.len);
  else putEscaped(s.ptr, s.len);
  put(0x22);
}

/** A member of an object whose other members may or may not be there: `first` says whether
 * one was written before it. Returns false (the next member is not the first). */
@inline export function member(first: bool, k: Lit, s: Span): bool {
  if (s.len <= 0) return first;
  if (!first) put(0x2c);
  putLit(k);
  putSpan(s);
  return false;
}

/** `k` (which opens with its comma) and the span, when the span is there. */
@inline export function optional(k: Lit, s: Span): void {
  if (s.len <= 0) return;
  putLit(k);
  putSpan(s);
}

@inline export function numberMember(first: bool, k: Lit, v: u64): bool {
  if (!first) put(0x2c);
  putLit(k);
  putU64(v);
  return false;
}

function writeEndpoint(opening: Lit, e: Endpoint): void {
  if (!e.ip.present && e.port < 0 && !e.mac.present && !e.hasPackets && !e.hasBytes) return;
  putLit(opening);
  let first = true;
  if (e.ip.present) {
    putLit(F_IP);
    putSpan(e.ip);
    putLit(F_ADDRESS);
    putSpan(e.ip);
    first = false;
  }
  if (e.port >= 0) first = numberMember(first, F_PORT, <u64>e.port);
  first = member(first, F_MAC, e.mac);
  if (e.hasPackets) first = numberMember(first, F_PACKETS, e.packets);
  if (e.hasBytes) first = numberMember(first, F_BYTES, e.bytes);
  put(0x7d);
}

function writeRelatedIp(): void {
  const s = ecs.source.ip;
  const d = ecs.destination.ip;
  if (!s.present && !d.present) return;
  putLit(F_RELATED);
  if (s.present) putSpan(s);
  if (d.present && !spansEqual(s.ptr, s.len, d.ptr, d.len)) {
    if (s.present) put(0x2c);
    putSpan(d);
  }
  putLit(F_CLOSE_RELATED);
}

/** Writes `ecs` as one JSON object; @timestamp is the text in timeText. */
export function writeEcsEvent(): void {
  putLit(F_TIMESTAMP);
  putBytes(timeText, timeTextLen);
  putLit(F_MESSAGE);
  putEscaped(ecs.message.ptr, ecs.message.len);

  putLit(F_EVENT);
  optional(F_ID, ecs.eventId);
  optional(F_CODE, ecs.eventCode);
  if (ecs.hasEventStart) {
    putLit(F_START);
    putBytes(timeText, timeTextLen);
    put(0x22);
  }
  putLit(ecs.outcome);
  optional(F_TYPE, ecs.actionType);
  if (ecs.operationName.present || ecs.version.present || ecs.flowState.present || ecs.flowEncryption.present) {
    putLit(F_PROPERTIES);
    let first = member(true, F_OPERATION_NAME, ecs.operationName);
    first = member(first, F_VERSION, ecs.version);
    first = member(first, F_FLOW_STATE, ecs.flowState);
    member(first, F_FLOW_ENCRYPTION, ecs.flowEncryption);
    put(0x7d);
  }
  put(0x7d);

  if (ecs.ruleName.present) {
    putLit(F_RULE);
    putSpan(ecs.ruleName);
    put(0x7d);
  }
  const network = ecs.network;
  if (network) {
    putLit(network);
    if (ecs.ianaNumber.present) {
      putSpan(ecs.ianaNumber);
      put(0x7d);
    }
  }
  if (ecs.observerMac.present) {
    putLit(F_OBSERVER);
    putSpan(ecs.observerMac);
    put(0x7d);
  }
  writeEndpoint(F_SOURCE, ecs.source);
  writeEndpoint(F_DESTINATION, ecs.destination);
  writeRelatedIp();
  put(0x7d);
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

const F_ERROR_MESSAGE = lit('{"message":"');
const F_ERROR_TYPE = lit('","error":{"type":"');
const F_ERROR_TEXT = lit('","message":"');
const F_ERROR_END = lit('"},"event":{"kind":"pipeline_error"}}');

/** Opens an error event: `{"message":<raw, U+FFFD for invalid UTF-8 unless rawIsWtf8>,
 * "error":{"type":…,"message":"` — the caller writes the explanation (escaped), then calls
 * endErrorEvent. */
export function beginErrorEvent(type: Lit, rawPtr: usize, rawLen: i32, rawIsWtf8: bool = false): void {
  putLit(F_ERROR_MESSAGE);
  if (rawIsWtf8) putEscaped(rawPtr, rawLen);
  else putEscapedRepaired(rawPtr, rawLen);
  putLit(F_ERROR_TYPE);
  putLit(type);
  putLit(F_ERROR_TEXT);
}

export function endErrorEvent(): void {
  putLit(F_ERROR_END);
}

