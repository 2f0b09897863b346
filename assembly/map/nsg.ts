// NSG flow logs (operationName NetworkSecurityGroupFlowEvents), as the intake documents them.
import { lit } from "../base/bytes";
import {
  F_MAC, F_OPERATION, F_RULE, F_TIME, F_FLOW0, F_VERSION, F_FLOW_STATE, F_SOURCE_ADDR,
  F_SOURCE_PORT, F_DEST_ADDR, F_DEST_PORT, hasText, ptrOf, lenOf, verbatimOf,
} from "../scan/json";
import {
  MAP_OK, MAP_INVALID_FIELD, MAP_INVALID_TIME, MAP_NO_TIMESTAMP, stringFieldOk, versionFieldOk,
  portOverride, textLen, checkCommonFields, badField,
} from "../scan/fields";
import * as tuple from "../flow/tuple";
import { parseIsoTimeCached, parsedMicros, secondsToMicros } from "../flow/time";
import { facts } from "../flow/facts";
import {
  ecs, Endpoint, fillEndpoints, NSG_ACCEPTED, NSG_REJECTED, NSG_TCP_INBOUND, NSG_TCP_OUTBOUND,
  NSG_UDP_INBOUND, NSG_UDP_OUTBOUND,
} from "../write/sekoia";

const BEGIN = lit("begin");
const CONTINUE = lit("continue");
const END = lit("end");

function applyOverride(e: Endpoint, addrField: i32, port: i32): void {
  if (hasText(addrField)) e.ip.set(ptrOf(addrField), lenOf(addrField), verbatimOf(addrField));
  if (port >= 0) e.port = port;
}

export function mapNsg(): i32 {
  checkCommonFields();
  versionFieldOk(F_VERSION);
  stringFieldOk(F_FLOW_STATE);
  stringFieldOk(F_SOURCE_ADDR);
  stringFieldOk(F_DEST_ADDR);
  const sourcePort = portOverride(F_SOURCE_PORT);
  const destPort = portOverride(F_DEST_PORT);
  if (badField >= 0) return MAP_INVALID_FIELD;

  const parsed = hasText(F_FLOW0) && tuple.parseNsgTuple(ptrOf(F_FLOW0), lenOf(F_FLOW0));
  facts.tupleParsed = parsed;
  const tupleMicros = parsed ? secondsToMicros(tuple.epoch) : -1;
  if (tupleMicros >= 0) facts.tupleMicros = tupleMicros;
  if (hasText(F_TIME)) {
    if (!parseIsoTimeCached(ptrOf(F_TIME), lenOf(F_TIME))) return MAP_INVALID_TIME;
    facts.recordMicros = parsedMicros;
    facts.timestampMicros = parsedMicros;
  } else {
    if (tupleMicros < 0) return MAP_NO_TIMESTAMP;
    facts.timestampMicros = tupleMicros;
  }

  ecs.hasEventStart = true;
  ecs.eventCode.set(ptrOf(F_OPERATION), textLen(F_OPERATION), verbatimOf(F_OPERATION));
  ecs.operationName.set(ptrOf(F_OPERATION), textLen(F_OPERATION), verbatimOf(F_OPERATION));
  ecs.version.set(ptrOf(F_VERSION), textLen(F_VERSION), verbatimOf(F_VERSION));
  ecs.flowState.set(ptrOf(F_FLOW_STATE), textLen(F_FLOW_STATE), verbatimOf(F_FLOW_STATE));
  ecs.ruleName.set(ptrOf(F_RULE), textLen(F_RULE), verbatimOf(F_RULE));
  ecs.actionType.set(ptrOf(F_RULE), textLen(F_RULE), verbatimOf(F_RULE));
  ecs.source.mac.set(ptrOf(F_MAC), textLen(F_MAC), verbatimOf(F_MAC));

  if (parsed) {
    // A → accept/allowed, D → reject/denied, with outcome success either way (documented);
    // T/U → tcp/udp, I/O → inbound/outbound.
    ecs.outcome = tuple.decision == 0x41 ? NSG_ACCEPTED : NSG_REJECTED;
    const tcp = tuple.protocolLetter == 0x54;
    const inbound = tuple.direction == 0x49;
    ecs.network = tcp ? (inbound ? NSG_TCP_INBOUND : NSG_TCP_OUTBOUND) : (inbound ? NSG_UDP_INBOUND : NSG_UDP_OUTBOUND);
    const s = tuple.state;
    if (s != 0) ecs.flowState.setLit(s == 0x42 ? BEGIN : s == 0x43 ? CONTINUE : END);
    fillEndpoints();
  }
  applyOverride(ecs.source, F_SOURCE_ADDR, sourcePort);
  applyOverride(ecs.destination, F_DEST_ADDR, destPort);
  return MAP_OK;
}
