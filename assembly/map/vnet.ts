// VNet flow logs (flowLogVersion 4, operationName FlowLogFlowEvent), as the intake documents them.
import { F_MAC, F_OPERATION, F_RULE, F_TIME, F_FLOW0, hasText, ptrOf, lenOf, verbatimOf } from "../scan/json";
import { MAP_OK, MAP_INVALID_FIELD, MAP_INVALID_TIME, MAP_NO_TIMESTAMP, textLen, checkCommonFields, badField } from "../scan/fields";
import * as tuple from "../flow/tuple";
import { parseIsoTimeCached, parsedMicros, millisToMicros } from "../flow/time";
import { facts } from "../flow/facts";
import {
  ecs, fillEndpoints, VNET_START, VNET_INFO, VNET_END, VNET_DENIED, VNET_INBOUND, VNET_OUTBOUND,
} from "../write/sekoia";


export function mapVnet(): i32 {
  checkCommonFields();
  if (badField >= 0) return MAP_INVALID_FIELD;
  let tupleMicros: i64 = -1;
  if (hasText(F_FLOW0) && tuple.parseVnetTuple(ptrOf(F_FLOW0), lenOf(F_FLOW0))) {
    tupleMicros = millisToMicros(tuple.epoch);
  }
  const parsed = tupleMicros >= 0;
  facts.vnet = true;
  facts.tupleParsed = parsed;
  if (parsed) facts.tupleMicros = tupleMicros;
  const hasTime = hasText(F_TIME);
  if (hasTime && !parseIsoTimeCached(ptrOf(F_TIME), lenOf(F_TIME))) return MAP_INVALID_TIME;
  // `time` (which may precede 1970) stands in when the tuple has no usable epoch.
  if (!parsed && !hasTime) return MAP_NO_TIMESTAMP;
  if (hasTime) facts.recordMicros = parsedMicros;
  facts.timestampMicros = parsed ? tupleMicros : parsedMicros;

  ecs.eventCode.set(ptrOf(F_OPERATION), textLen(F_OPERATION), verbatimOf(F_OPERATION));
  ecs.operationName.set(ptrOf(F_OPERATION), textLen(F_OPERATION), verbatimOf(F_OPERATION));
  ecs.observerMac.set(ptrOf(F_MAC), textLen(F_MAC), verbatimOf(F_MAC));
  ecs.ruleName.set(ptrOf(F_RULE), textLen(F_RULE), verbatimOf(F_RULE));
  if (parsed) {
    const st = tuple.state;
    // B/C/E/D → event.type start/info/end/denied.
    ecs.outcome = st == 0x42 ? VNET_START : st == 0x43 ? VNET_INFO : st == 0x45 ? VNET_END : VNET_DENIED;
    ecs.flowEncryption.set(tuple.encryptionPtr, tuple.encryptionLen, verbatimOf(F_FLOW0));
    ecs.network = tuple.direction == 0x49 ? VNET_INBOUND : VNET_OUTBOUND;
    ecs.ianaNumber.set(tuple.protocolPtr, tuple.protocolLen, true);
    fillEndpoints();
  }
  return MAP_OK;
}
