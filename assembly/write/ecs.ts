// The full-ECS profile (option `profile: "ecs"`, Fluent Bit function nsg_flow_ecs_full): each
// flow tuple as a complete ECS event — the tuple's own time, Community ID, totals, cloud and
// resource context, the MAC on the NIC's side — where the documented profile writes what the
// documented intake expects. It reads what the mapping already parsed (`ecs`, `facts`, the tuple,
// the scanner's fields) and writes the event; the contract is DEVELOPERS.md, "The full-ECS
// profile", and host/reference/ writes the same bytes.
import { Lit, lit, bytesEqual } from "../base/bytes";
import {
  put, putLit, putBytes, putEscaped, putU64, reserve, outBuf, outPos, ByteBuffer, redirectOutput, restoreOutput,
} from "../base/output";
import { formatMicros, timeText, timeTextLen } from "../flow/time";
import * as tuple from "../flow/tuple";
import {
  kindOf, ptrOf, lenOf, verbatimOf, hasText, V_STRING, V_NUMBER, F_RESOURCE_ID, F_FLOW_LOG_RESOURCE_ID,
  F_TARGET_RESOURCE_ID, F_FLOW_LOG_GUID, F_ACL_ID, F_FLOW_LOG_VERSION,
} from "../scan/json";
import { ecs, Span, Endpoint, putSpan, member, optional, numberMember, putMessage } from "./sekoia";
import { facts, NO_TIME } from "../flow/facts";
import { eventIdText, EVENT_ID_LEN, recordPrefixGeneration } from "../hash/event-id";
import { ipToBytes, knownIpToBytes } from "../flow/ip-bytes";
import { computeCommunityId, communityIdText, COMMUNITY_ID_LEN } from "../hash/community-id";
import { transportName } from "../flow/iana-protocols";
import { ResourceId, Part, parseResourceId } from "../flow/resource-id";
import { normalizeMac, MAC_TEXT_LEN } from "../flow/mac";
import { communityIdSeed } from "../base/settings";
import {
  threatPtr, threatLen, sourceExtraPtr, sourceExtraLen, destinationExtraPtr, destinationExtraLen,
  extrasLength,
} from "./extras";

export const ECS_VERSION = "8.17.0";

// event.type and event.action/outcome of a parsed tuple, one run each (see DEVELOPERS.md for what
// they mean): allowed or denied, and start/end where the flow state says so.
const ALLOWED = lit(',"type":["connection","allowed"],"action":"allow","outcome":"success"');
const ALLOWED_START = lit(',"type":["connection","allowed","start"],"action":"allow","outcome":"success"');
const ALLOWED_END = lit(',"type":["connection","allowed","end"],"action":"allow","outcome":"success"');
const DENIED = lit(',"type":["connection","denied"],"action":"deny","outcome":"failure"');
const DENIED_START = lit(',"type":["connection","denied","start"],"action":"deny","outcome":"failure"');
const DENIED_END = lit(',"type":["connection","denied","end"],"action":"deny","outcome":"failure"');

const F_HEAD = lit('{"@timestamp":"');
const F_MESSAGE = lit('","message":"');
const F_EVENT = lit('","ecs":{"version":"' + ECS_VERSION + '"},"event":{"kind":"event","category":["network"]');
const F_ID = lit(',"id":"');
const F_CODE = lit(',"code":');
const F_CREATED = lit(',"created":"');
const F_START = lit(',"start":"');
const F_END = lit(',"end":"');
const F_CLOUD = lit(',"cloud":{"provider":"azure"');
const F_ACCOUNT = lit(',"account":{"id":');
const F_AZURE = lit(',"azure":{');
const F_SUBSCRIPTION_ID = lit('"subscription_id":');
const F_RESOURCE = lit('"resource":{');
const F_TARGET_RESOURCE = lit('"target_resource":{');
const F_RESOURCE_ID_KEY = lit('"id":');
const F_GROUP = lit('"group":');
const F_PROVIDER = lit('"provider":');
const F_NAME = lit('"name":');
const F_FLOW_LOG = lit('"flow_log":{');
const F_VERSION = lit('"version":');
const F_GUID = lit('"guid":');
const F_ACL_ID_KEY = lit('"acl_id":');
const F_FLOW = lit('"flow":{');
const F_STATE = lit('"state":');
const F_ENCRYPTION = lit('"encryption":');
const F_NETWORK = lit(',"network":{');
const F_TYPE = lit('"type":');
const F_TRANSPORT = lit('"transport":');
const F_IANA_NUMBER = lit('"iana_number":"');
const F_DIRECTION = lit('"direction":');
const F_COMMUNITY_ID = lit('"community_id":"');
const F_BYTES = lit('"bytes":');
const F_PACKETS = lit('"packets":');
const F_OBSERVER_NSG = lit(',"observer":{"type":"firewall","vendor":"Microsoft","product":"Azure Network Watcher"');
const F_OBSERVER_VNET = lit(',"observer":{"type":"sensor","vendor":"Microsoft","product":"Azure Network Watcher"');
const F_OBSERVER_NAME = lit(',"name":');
const F_OBSERVER_MAC = lit(',"mac":"');
const F_RULE = lit(',"rule":{"name":');
const F_SOURCE = lit(',"source":{');
const F_DESTINATION = lit(',"destination":{');
const F_IP = lit('"ip":');
const F_ADDRESS = lit('"address":');
const F_PORT = lit('"port":');
const F_MAC = lit('"mac":"');
const F_RELATED = lit(',"related":{"ip":[');
const F_CLOSE_RELATED = lit(']}');

const IPV4 = lit('"ipv4"');
const IPV6 = lit('"ipv6"');
const INBOUND = lit('"inbound"');
const OUTBOUND = lit('"outbound"');
const BEGIN = lit("begin");
const CONTINUE = lit("continue");
const END = lit("end");
const DENY = lit("deny");

const resource = new ResourceId();
const target = new ResourceId();
const part = new Span();
const source = heap.alloc(16);
const destination = heap.alloc(16);
const macText = heap.alloc(MAC_TEXT_LEN);

// event.created is the record's `time`, the same for every tuple of a record: formatted once.
const createdText = heap.alloc(32);
let createdLen = 0;
let createdMicros: i64 = NO_TIME;

/** `"key":"…"` from a part of a field, with the field's escaping. */
function partMember(first: bool, key: Lit, ptr: usize, len: i32, verbatim: bool): bool {
  part.set(ptr, len, verbatim);
  return member(first, key, part);
}

/** The same for a part of a resource id. */
@inline function idMember(first: bool, key: Lit, p: Part, verbatim: bool): bool {
  return partMember(first, key, p.ptr, p.len, verbatim);
}

/** A parsed resource id's members (opening and closing brace included), after `key`. */
function resourceObject(first: bool, key: Lit, r: ResourceId, verbatim: bool, withSubscription: bool): bool {
  if (r.id.len == 0) return first;
  if (!first) put(0x2c);
  putLit(key);
  let f = idMember(true, F_RESOURCE_ID_KEY, r.id, verbatim);
  if (withSubscription) f = idMember(f, F_SUBSCRIPTION_ID, r.subscription, verbatim);
  f = idMember(f, F_GROUP, r.group, verbatim);
  f = idMember(f, F_PROVIDER, r.provider, verbatim);
  idMember(f, F_NAME, r.name, verbatim);
  put(0x7d);
  return false;
}

/** The resource ids of the intake: NSG `resourceId`; VNet `flowLogResourceID` (the flow log) and
 * `targetResourceID` (the VNet, subnet or NIC it watches). Returns the main id's verbatim flag. */
function parseResources(vnet: bool): bool {
  const main = vnet ? F_FLOW_LOG_RESOURCE_ID : F_RESOURCE_ID;
  if (hasText(main)) parseResourceId(ptrOf(main), lenOf(main), resource);
  else resource.clear();
  if (vnet && hasText(F_TARGET_RESOURCE_ID)) parseResourceId(ptrOf(F_TARGET_RESOURCE_ID), lenOf(F_TARGET_RESOURCE_ID), target);
  else target.clear();
  return verbatimOf(main);
}

/** The members of `azure` that the flow group shares (all but `flow`), without braces. */
function writeAzureMembers(vnet: bool, verbatim: bool): void {
  const guid = vnet && hasText(F_FLOW_LOG_GUID);
  const acl = vnet && hasText(F_ACL_ID);
  let first = idMember(true, F_SUBSCRIPTION_ID, resource.subscription, verbatim);
  first = resourceObject(first, F_RESOURCE, resource, verbatim, false);
  first = resourceObject(first, F_TARGET_RESOURCE, target, verbatimOf(F_TARGET_RESOURCE_ID), true);
  if (versionLen > 0 || guid || acl) {
    if (!first) put(0x2c);
    putLit(F_FLOW_LOG);
    let f = partMember(true, F_VERSION, versionPtr, versionLen, versionVerbatim);
    if (guid) f = partMember(f, F_GUID, ptrOf(F_FLOW_LOG_GUID), lenOf(F_FLOW_LOG_GUID), verbatimOf(F_FLOW_LOG_GUID));
    if (acl) partMember(f, F_ACL_ID_KEY, ptrOf(F_ACL_ID), lenOf(F_ACL_ID), verbatimOf(F_ACL_ID));
    put(0x7d);
  }
}

/** `cloud` and `observer`: what the flow group shares outside `azure`. Sets hasMac/macText. */
function writeCloudAndObserver(vnet: bool, verbatim: bool): void {
  putLit(F_CLOUD);
  if (resource.subscription.len > 0) {
    putLit(F_ACCOUNT);
    part.set(resource.subscription.ptr, resource.subscription.len, verbatim);
    putSpan(part);
    put(0x7d);
  }
  put(0x7d);
  // observer: the NSG (NSG) or the flow log (VNet); the MAC is the NIC's.
  const nicMac = vnet ? ecs.observerMac : ecs.source.mac;
  hasMac = nicMac.present && normalizeMac(nicMac.ptr, nicMac.len, macText);
  putLit(vnet ? F_OBSERVER_VNET : F_OBSERVER_NSG);
  if (resource.leaf.len > 0) {
    putLit(F_OBSERVER_NAME);
    part.set(resource.leaf.ptr, resource.leaf.len, verbatim);
    putSpan(part);
  }
  if (hasMac) {
    putLit(F_OBSERVER_MAC);
    putBytes(macText, MAC_TEXT_LEN);
    put(0x22);
  }
  put(0x7d);
}

// What the tuples of one flow group share, written once per group and copied for the others:
// `cloud` and `observer` (groupHead), the members of `azure` but `flow` (groupAzure). They are
// made of event.id prefix fields (the resource ids, flow log GUID, ACL, MAC) plus the intake and
// the version, so the group is the same while hash/event-id.ts has hashed no new prefix and those
// two have not changed.
const groupHead = new ByteBuffer();
const groupAzure = new ByteBuffer();
const groupVersion = new ByteBuffer();
let groupGeneration: u32 = 0;
let groupVnet = false;
let groupValid = false;
let hasMac = false;

// azure.flow_log.version: NSG `version`; VNet `flowLogVersion`, a number's text as a string.
let versionPtr: usize = 0;
let versionLen: i32 = 0;
let versionVerbatim = true;

function findVersion(vnet: bool): void {
  if (vnet) {
    const k = kindOf(F_FLOW_LOG_VERSION);
    versionLen = k == V_STRING || k == V_NUMBER ? lenOf(F_FLOW_LOG_VERSION) : 0;
    versionPtr = ptrOf(F_FLOW_LOG_VERSION);
    versionVerbatim = verbatimOf(F_FLOW_LOG_VERSION);
  } else {
    versionPtr = ecs.version.ptr;
    versionLen = ecs.version.len;
    versionVerbatim = ecs.version.verbatim;
  }
}

/** Writes `cloud` and `observer`, copied from the group kept when the group is the same. */
function writeGroupHead(vnet: bool): void {
  findVersion(vnet);
  if (groupValid && groupGeneration == recordPrefixGeneration && groupVnet == vnet && groupVersion.len == versionLen &&
    bytesEqual(groupVersion.ptr, versionPtr, versionLen)) {
    putBytes(groupHead.ptr, groupHead.len);
    return;
  }
  const verbatim = parseResources(vnet);
  const start = outPos;
  writeCloudAndObserver(vnet, verbatim);
  groupHead.len = 0;
  groupHead.append(outBuf + <usize>start, outPos - start, i32.MAX_VALUE);
  groupAzure.len = 0;
  redirectOutput(groupAzure);
  reserve(resource.id.len * 18 + target.id.len * 18 + (versionLen + lenOf(F_FLOW_LOG_GUID) + lenOf(F_ACL_ID)) * 6 + 512);
  writeAzureMembers(vnet, verbatim);
  restoreOutput(groupAzure);
  groupVersion.len = 0;
  groupVersion.append(versionPtr, versionLen, i32.MAX_VALUE);
  groupGeneration = recordPrefixGeneration;
  groupVnet = vnet;
  groupValid = true;
}

/** `azure`: the group's members, then the tuple's `flow`. */
function writeAzure(): void {
  const hasFlow = ecs.flowState.present || ecs.flowEncryption.present;
  if (groupAzure.len == 0 && !hasFlow) return;
  putLit(F_AZURE);
  putBytes(groupAzure.ptr, groupAzure.len);
  if (hasFlow) {
    if (groupAzure.len > 0) put(0x2c);
    putLit(F_FLOW);
    const f = member(true, F_STATE, ecs.flowState);
    member(f, F_ENCRYPTION, ecs.flowEncryption);
    put(0x7d);
  }
  put(0x7d);
}

/** One endpoint: `ip` only when the address is one (an NSG override may be any text), the
 * address as given, the port, the MAC when this is the NIC's side, the counters. */
function writeEndpoint(opening: Lit, e: Endpoint, isIp: bool, withMac: bool, extra: usize, extraLen: i32): void {
  if (!e.ip.present && e.port < 0 && !withMac && !e.hasPackets && !e.hasBytes) return;
  putLit(opening);
  let first = true;
  if (e.ip.present) {
    if (isIp) {
      putLit(F_IP);
      putSpan(e.ip);
      put(0x2c);
    }
    putLit(F_ADDRESS);
    putSpan(e.ip);
    first = false;
  }
  if (e.port >= 0) first = numberMember(first, F_PORT, <u64>e.port);
  if (withMac) {
    if (!first) put(0x2c);
    putLit(F_MAC);
    putBytes(macText, MAC_TEXT_LEN);
    put(0x22);
    first = false;
  }
  if (e.hasPackets) first = numberMember(first, F_PACKETS, e.packets);
  if (e.hasBytes) first = numberMember(first, F_BYTES, e.bytes);
  // Extras come with an address, so never into an object without members.
  if (extraLen > 0 && !first) putBytes(extra, extraLen);
  put(0x7d);
}

// The totals of both directions, when they can be written (see total).
let totalBytes: u64 = 0;
let totalPackets: u64 = 0;

/** Whether there is a total of both directions: not when neither counter is there, nor when the
 * sum does not fit 64 bits. The sum is left in `sum`. */
@inline function total(hasA: bool, a: u64, hasB: bool, b: u64): bool {
  if (!hasA && !hasB) return false;
  sum = (hasA ? a : 0) + (hasB ? b : 0);
  return !(hasA && hasB && sum < a);
}
let sum: u64 = 0;

/** Formats the times: event.created (from `time`, kept while it does not change) into
 * createdText, @timestamp (the tuple's time, else `time`) into flow/time.ts's timeText. */
function formatTimes(): void {
  if (facts.recordMicros != NO_TIME && facts.recordMicros != createdMicros) {
    formatMicros(facts.recordMicros);
    memory.copy(createdText, timeText, <usize>timeTextLen);
    createdLen = timeTextLen;
    createdMicros = facts.recordMicros;
  }
  formatMicros(facts.tupleMicros != NO_TIME ? facts.tupleMicros : facts.recordMicros);
}

/** `event`, from its kind to its end. */
function writeEvent(vnet: bool, parsed: bool, state: u8): void {
  putLit(F_EVENT);
  if (parsed) {
    const denied = vnet ? state == 0x44 : tuple.decision == 0x44;
    putLit(state == 0x42 ? (denied ? DENIED_START : ALLOWED_START)
      : state == 0x45 ? (denied ? DENIED_END : ALLOWED_END)
        : denied ? DENIED : ALLOWED);
  }
  putLit(F_ID);
  putBytes(eventIdText, EVENT_ID_LEN);
  put(0x22);
  optional(F_CODE, ecs.eventCode);
  if (facts.recordMicros != NO_TIME) {
    putLit(F_CREATED);
    putBytes(createdText, createdLen);
    put(0x22);
  }
  if (facts.tupleMicros != NO_TIME) {
    putLit(F_START);
    putBytes(timeText, timeTextLen);
    put(0x22);
    if (state == 0x45) {
      putLit(F_END);
      putBytes(timeText, timeTextLen);
      put(0x22);
    }
  }
  put(0x7d);
}

/** `network`; `family` is the addresses' (4 or 16) when they are of one, else 0. */
function writeNetwork(vnet: bool, parsed: bool, family: i32): void {
  const s = ecs.source;
  const d = ecs.destination;
  const hasBytes = total(s.hasBytes, s.bytes, d.hasBytes, d.bytes);
  totalBytes = sum;
  const hasPackets = total(s.hasPackets, s.packets, d.hasPackets, d.packets);
  totalPackets = sum;
  if (family == 0 && !parsed && !hasBytes && !hasPackets) return;
  putLit(F_NETWORK);
  let first = true;
  if (family != 0) {
    putLit(F_TYPE);
    putLit(family == 4 ? IPV4 : IPV6);
    first = false;
  }
  if (parsed) {
    const protocol: u32 = vnet ? parseProtocol() : (tuple.protocolLetter == 0x54 ? 6 : 17);
    const name = transportName(protocol);
    if (name) {
      if (!first) put(0x2c);
      putLit(F_TRANSPORT);
      put(0x22);
      putLit(name);
      put(0x22);
      first = false;
    }
    if (!first) put(0x2c);
    putLit(F_IANA_NUMBER);
    putU64(<u64>protocol);
    put(0x22);
    put(0x2c);
    putLit(F_DIRECTION);
    putLit(tuple.direction == 0x49 ? INBOUND : OUTBOUND);
    first = false;
    if (family != 0 && protocol < 256 && protocol != 1 && protocol != 58 && s.port >= 0 && d.port >= 0) {
      computeCommunityId(communityIdSeed, source, <u32>s.port, destination, <u32>d.port, family, protocol);
      put(0x2c);
      putLit(F_COMMUNITY_ID);
      putBytes(communityIdText, COMMUNITY_ID_LEN);
      put(0x22);
    }
  }
  if (hasBytes) first = numberMember(first, F_BYTES, totalBytes);
  if (hasPackets) numberMember(first, F_PACKETS, totalPackets);
  put(0x7d);
}

/** Writes the event of a record the mapping accepted (facts, ecs), with event.id in eventIdText. */
export function writeFullEvent(): void {
  const vnet = facts.vnet;
  const parsed = facts.tupleParsed;
  const state = parsed ? tuple.state : 0;
  const s = ecs.source;
  const d = ecs.destination;
  // Room beyond what the mapper reserved for the documented event: the keys are longer.
  reserve(ecs.message.len * 24 + 4096 + extrasLength());
  formatTimes();
  // Addresses as bytes: network.type, related.ip, source.ip/destination.ip, Community ID.
  const sourceFamily = addressBytes(s, tuple.srcIpPtr, source);
  const destinationFamily = addressBytes(d, tuple.dstIpPtr, destination);

  putLit(F_HEAD);
  putBytes(timeText, timeTextLen);
  putLit(F_MESSAGE);
  putMessage();
  writeEvent(vnet, parsed, state);
  writeGroupHead(vnet);
  // The documented VNet event has no flow state word; the full one spells the letter out.
  if (vnet && parsed) ecs.flowState.setLit(state == 0x42 ? BEGIN : state == 0x43 ? CONTINUE : state == 0x45 ? END : DENY);
  writeAzure();
  writeNetwork(vnet, parsed, sourceFamily == destinationFamily ? sourceFamily : 0);
  if (ecs.ruleName.present) {
    putLit(F_RULE);
    putSpan(ecs.ruleName);
    put(0x7d);
  }
  // The NIC is the destination of an inbound flow and the source of an outbound one.
  const inbound = parsed && tuple.direction == 0x49;
  const outbound = parsed && tuple.direction == 0x4f;
  writeEndpoint(F_SOURCE, s, sourceFamily != 0, hasMac && outbound, sourceExtraPtr, sourceExtraLen);
  writeEndpoint(F_DESTINATION, d, destinationFamily != 0, hasMac && inbound, destinationExtraPtr, destinationExtraLen);
  writeRelatedIp(sourceFamily, destinationFamily);
  if (threatLen > 0) putBytes(threatPtr, threatLen);
  put(0x7d);
}

/** The endpoint's address as bytes (4, 16, or 0 when it is not an IP): the tuple's is valid, an
 * NSG override may be any text. */
function addressBytes(e: Endpoint, tupleIpPtr: usize, out: usize): i32 {
  if (!e.ip.present) return 0;
  if (facts.tupleParsed && e.ip.ptr == tupleIpPtr) return knownIpToBytes(e.ip.ptr, e.ip.len, out);
  return ipToBytes(e.ip.ptr, e.ip.len, out);
}

function parseProtocol(): u32 {
  let v: u32 = 0;
  for (let i = 0; i < tuple.protocolLen; i++) v = v * 10 + (<u32>load<u8>(tuple.protocolPtr + <usize>i) - 0x30);
  return v;
}

/** The distinct addresses that are IPs, source first; compared as bytes (`::1` and `0::1` are one
 * address). */
function writeRelatedIp(sourceFamily: i32, destinationFamily: i32): void {
  if (sourceFamily == 0 && destinationFamily == 0) return;
  putLit(F_RELATED);
  if (sourceFamily != 0) putSpan(ecs.source.ip);
  if (destinationFamily != 0 && !(sourceFamily == destinationFamily && memory.compare(source, destination, <usize>sourceFamily) == 0)) {
    if (sourceFamily != 0) put(0x2c);
    putSpan(ecs.destination.ip);
  }
  putLit(F_CLOSE_RELATED);
}
