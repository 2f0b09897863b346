// The ECS event: the NSG and VNet mappings fill in the fields below, then writeEcsEvent turns
// them into one JSON object. Also the error event. Every span is (pointer, length) into the
// input, the decode arena or a literal; a length of 0 means the field is absent.
import { Lit, lit, spansEqual } from "../base/bytes";
import { put, putBytes, putLit, putU64, putEscaped, putEscapedRepaired, copySpan, outputEnd, setOutputEnd, numberAt } from "../base/output";
import { timeText, timeTextLen } from "../flow/time";
import * as tuple from "../flow/tuple";
import { escapedCopy, escapedCopyOf } from "../scan/json";
import {
  threatPtr, threatLen, sourceExtraPtr, sourceExtraLen, destinationExtraPtr, destinationExtraLen,
} from "./extras";

// The event's parts are plain structs (@unmanaged: no garbage-collector bookkeeping, whose write
// barrier would run on every reference stored into them), laid out in one block so that clearing
// the event for the next record is a few fills.

@unmanaged export class Span {
  ptr: usize;
  len: i32;
  /** Needs no escaping (see json-scanner's verbatimOf): copied as is, the common case. */
  verbatim: bool;
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

@unmanaged export class Endpoint {
  ip: Span;
  mac: Span;
  packets: u64;
  bytes: u64;
  /** -1 when absent. */
  port: i32;
  hasPackets: bool;
  hasBytes: bool;
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

@unmanaged export class EcsEvent {
  message: Span;
  /** event.id, when the host asked for it (base/settings.ts). */
  eventId: Span;
  eventCode: Span;
  actionType: Span;
  operationName: Span;
  version: Span;
  flowState: Span;
  flowEncryption: Span;
  ruleName: Span;
  ianaNumber: Span;
  observerMac: Span;
  source: Endpoint;
  destination: Endpoint;
  hasEventStart: bool;
  // The two fixed runs, kept as addresses (a Lit is a managed object: storing a reference to
  // one would go through the collector's write barrier).
  private outcomeLit: usize;
  private networkLit: usize;

  /** What the tuple's decision or state makes of the end of `event` and the start of `action`:
   * one of the fixed runs above. */
  @inline get outcome(): Lit { return changetype<Lit>(this.outcomeLit); }
  @inline set outcome(l: Lit) { this.outcomeLit = changetype<usize>(l); }
  /** `network`, a fixed run; for VNet it is left open for the protocol number. */
  @inline get network(): Lit | null { return changetype<Lit | null>(this.networkLit); }
  @inline set network(l: Lit | null) { this.networkLit = changetype<usize>(l); }

  clear(): void {
    memory.fill(SPANS, 0, SPAN_COUNT * SPAN_SIZE);
    this.hasEventStart = false;
    this.outcomeLit = changetype<usize>(NO_TUPLE);
    this.networkLit = 0;
    this.source.port = -1;
    this.source.hasPackets = false;
    this.source.hasBytes = false;
    this.destination.port = -1;
    this.destination.hasPackets = false;
    this.destination.hasBytes = false;
  }
}

// One block for the event, its two endpoints and all its spans.
const SPAN_SIZE = <i32>offsetof<Span>();
const SPAN_COUNT = 15;
const ENDPOINT_SIZE = <i32>offsetof<Endpoint>();
const SPANS: usize = memory.data(SPAN_COUNT * SPAN_SIZE, 8);
const ENDPOINTS: usize = memory.data(2 * ENDPOINT_SIZE, 8);
const EVENT: usize = memory.data(<i32>offsetof<EcsEvent>(), 8);
let nextSpan = SPANS;
function span(): Span {
  const s = changetype<Span>(nextSpan);
  nextSpan += <usize>SPAN_SIZE;
  return s;
}
function endpoint(at: usize): Endpoint {
  const e = changetype<Endpoint>(at);
  e.ip = span();
  e.mac = span();
  return e;
}

/** The one event being built; reused for every record (cleared first). */
export const ecs = changetype<EcsEvent>(EVENT);
ecs.message = span();
ecs.eventId = span();
ecs.eventCode = span();
ecs.actionType = span();
ecs.operationName = span();
ecs.version = span();
ecs.flowState = span();
ecs.flowEncryption = span();
ecs.ruleName = span();
ecs.ianaNumber = span();
ecs.observerMac = span();
ecs.source = endpoint(ENDPOINTS);
ecs.destination = endpoint(ENDPOINTS + <usize>ENDPOINT_SIZE);
ecs.clear();

// The event is written as fixed fragments with the optional members in between. Every object
// opens with a member it always has (or is only opened once one is known to be there), so no
// member needs to look back to know whether a comma goes before it.
// The fixed fragments, numbered: each one's (pointer, length) sits at a constant address in a
// table, so writing one is two loads with constant addresses (a Lit held in a global costs a global
// read, which WAMR's interpreter does with several dependent loads). The numbers and the texts go
// in the same order.
const F_TIMESTAMP = 0;
const F_MESSAGE = 1;
const F_EVENT = 2;
const F_ID = 3;
const F_CODE = 4;
const F_START = 5;
const F_TYPE = 6;
const F_PROPERTIES = 7;
const F_OPERATION_NAME = 8;
const F_VERSION = 9;
const F_FLOW_STATE = 10;
const F_FLOW_ENCRYPTION = 11;
const F_RULE = 12;
const F_OBSERVER = 13;
const F_SOURCE = 14;
const F_DESTINATION = 15;
const F_IP = 16;
const F_ADDRESS = 17;
const F_PORT = 18;
const F_MAC = 19;
const F_PACKETS = 20;
const F_BYTES = 21;
const F_RELATED = 22;
const F_CLOSE_RELATED = 23;
const FRAGMENT_TEXTS: string[] = [
  '{"@timestamp":"',
  '","message":"',
  '","event":{"category":["network"]',
  ',"id":',
  ',"code":',
  ',"start":"',
  ',"type":',
  ',"properties":{',
  '"OperationName":',
  '"Version":',
  '"FlowState":',
  '"FlowEncryption":',
  ',"rule":{"name":',
  ',"observer":{"mac":',
  ',"source":{',
  ',"destination":{',
  '"ip":',
  ',"address":',
  '"port":',
  '"mac":',
  '"packets":',
  '"bytes":',
  ',"related":{"ip":[',
  ']}',
];
const FRAGMENT_COUNT = 24;
const FRAGMENTS: usize = memory.data(FRAGMENT_COUNT * 8, 8);
for (let i = 0; i < FRAGMENT_COUNT; i++) {
  const l = lit(FRAGMENT_TEXTS[i]);
  __pin(changetype<usize>(l.buf)); // kept for the instance's life: the table points into it
  store<usize>(FRAGMENTS + <usize>(i << 3), l.ptr);
  store<i32>(FRAGMENTS + <usize>(i << 3), l.len, 4);
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
  s.hasPackets = tuple.hasCounter(0);
  s.packets = tuple.counter(0);
  s.hasBytes = tuple.hasCounter(1);
  s.bytes = tuple.counter(1);
  d.hasPackets = tuple.hasCounter(2);
  d.packets = tuple.counter(2);
  d.hasBytes = tuple.hasCounter(3);
  d.bytes = tuple.counter(3);
}

// put-style members, for a writer that uses the output's own position (write/ecs.ts).

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

/** The raw event as the inside of a JSON string (`message`): the scanner's escaped copy when it
 * made one of this event (scan/json.ts, escapedCopyOf), else escaped here. */
export function putMessage(): void {
  const n = escapedCopyOf(ecs.message.ptr, ecs.message.len);
  if (n >= 0) putBytes(escapedCopy, n);
  else putEscaped(ecs.message.ptr, ecs.message.len);
}

// The writer keeps its output position in a local, `o` (globals cost several loads each in WAMR's
// interpreter), and copies each fragment whole (memory.copy in the portable build: one
// instruction for WAMR, where a loop of loads and stores is many).

/** Copies n bytes to o; returns the position after them. */
@inline function bytesAt(o: usize, src: usize, n: i32): usize {
  copySpan(o, src, n);
  return o + <usize>n;
}

@inline function litAt(o: usize, l: Lit): usize {
  return bytesAt(o, l.ptr, l.len);
}

/** Fixed fragment number f (a constant). */
@inline function fragAt(o: usize, f: i32): usize {
  const at = FRAGMENTS + (<usize>f << 3);
  return bytesAt(o, load<usize>(at), load<i32>(at, 4));
}

@inline function byteAt(o: usize, b: u8): usize {
  store<u8>(o, b);
  return o + 1;
}

/** The span as a JSON string. */
@inline function stringAt(o: usize, s: Span): usize {
  o = byteAt(o, 0x22);
  if (s.verbatim) {
    o = bytesAt(o, s.ptr, s.len);
  } else {
    o = escapedAt(o, s.ptr, s.len);
  }
  return byteAt(o, 0x22);
}

/** putEscaped at o (escaping is rare: only values that had escapes in the input). */
function escapedAt(o: usize, ptr: usize, len: i32): usize {
  setOutputEnd(o);
  putEscaped(ptr, len);
  return outputEnd();
}

/** `k` (which opens with its comma) and the span as a string, when the span is there. */
@inline function optionalAt(o: usize, k: i32, s: Span): usize {
  if (s.len <= 0) return o;
  return stringAt(fragAt(o, k), s);
}

/** A member of an object whose members may or may not be there: a comma first unless it is
 * the first (o == start, the position just after the object's brace). */
@inline function memberAt(o: usize, start: usize, k: i32, s: Span): usize {
  if (s.len <= 0) return o;
  if (o != start) o = byteAt(o, 0x2c);
  return stringAt(fragAt(o, k), s);
}

@inline function numberMemberAt(o: usize, start: usize, k: i32, v: u64): usize {
  if (o != start) o = byteAt(o, 0x2c);
  return numberAt(fragAt(o, k), v);
}

function endpointAt(o: usize, opening: i32, e: Endpoint, extra: usize, extraLen: i32): usize {
  if (!e.ip.present && e.port < 0 && !e.mac.present && !e.hasPackets && !e.hasBytes) return o;
  o = fragAt(o, opening);
  const start = o;
  if (e.ip.present) {
    o = stringAt(fragAt(o, F_IP), e.ip);
    o = stringAt(fragAt(o, F_ADDRESS), e.ip);
  }
  if (e.port >= 0) o = numberMemberAt(o, start, F_PORT, <u64>e.port);
  o = memberAt(o, start, F_MAC, e.mac);
  if (e.hasPackets) o = numberMemberAt(o, start, F_PACKETS, e.packets);
  if (e.hasBytes) o = numberMemberAt(o, start, F_BYTES, e.bytes);
  // Extras come with an address, so never into an object without members.
  if (extraLen > 0 && o != start) o = bytesAt(o, extra, extraLen);
  return byteAt(o, 0x7d);
}

@inline function relatedIpAt(o: usize): usize {
  const s = ecs.source.ip;
  const d = ecs.destination.ip;
  if (!s.present && !d.present) return o;
  o = fragAt(o, F_RELATED);
  if (s.present) o = stringAt(o, s);
  if (d.present && !spansEqual(s.ptr, s.len, d.ptr, d.len)) {
    if (s.present) o = byteAt(o, 0x2c);
    o = stringAt(o, d);
  }
  return fragAt(o, F_CLOSE_RELATED);
}

/** Writes `ecs` as one JSON object; @timestamp is the text in timeText. */
export function writeEcsEvent(): void {
  const e = ecs;
  let o = outputEnd();
  o = fragAt(o, F_TIMESTAMP);
  o = bytesAt(o, timeText, timeTextLen);
  o = fragAt(o, F_MESSAGE);
  // The scanner escaped the raw event on its way through it (scan/json.ts, escapedCopyOf).
  const escaped = escapedCopyOf(e.message.ptr, e.message.len);
  if (escaped >= 0) o = bytesAt(o, escapedCopy, escaped);
  else o = escapedAt(o, e.message.ptr, e.message.len);

  o = fragAt(o, F_EVENT);
  o = optionalAt(o, F_ID, e.eventId);
  o = optionalAt(o, F_CODE, e.eventCode);
  if (e.hasEventStart) {
    o = fragAt(o, F_START);
    o = bytesAt(o, timeText, timeTextLen);
    o = byteAt(o, 0x22);
  }
  o = litAt(o, e.outcome);
  o = optionalAt(o, F_TYPE, e.actionType);
  if (e.operationName.present || e.version.present || e.flowState.present || e.flowEncryption.present) {
    o = fragAt(o, F_PROPERTIES);
    const start = o;
    o = memberAt(o, start, F_OPERATION_NAME, e.operationName);
    o = memberAt(o, start, F_VERSION, e.version);
    o = memberAt(o, start, F_FLOW_STATE, e.flowState);
    o = memberAt(o, start, F_FLOW_ENCRYPTION, e.flowEncryption);
    o = byteAt(o, 0x7d);
  }
  o = byteAt(o, 0x7d);

  if (e.ruleName.present) {
    o = stringAt(fragAt(o, F_RULE), e.ruleName);
    o = byteAt(o, 0x7d);
  }
  const network = e.network;
  if (network) {
    o = litAt(o, network);
    if (e.ianaNumber.present) o = byteAt(stringAt(o, e.ianaNumber), 0x7d);
  }
  if (e.observerMac.present) {
    o = stringAt(fragAt(o, F_OBSERVER), e.observerMac);
    o = byteAt(o, 0x7d);
  }
  o = endpointAt(o, F_SOURCE, e.source, sourceExtraPtr, sourceExtraLen);
  o = endpointAt(o, F_DESTINATION, e.destination, destinationExtraPtr, destinationExtraLen);
  o = relatedIpAt(o);
  if (threatLen > 0) o = bytesAt(o, threatPtr, threatLen);
  setOutputEnd(byteAt(o, 0x7d));
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

