// The documented profile's output (DEVELOPERS.md, "NSG output" and "VNet output"). Imports
// flow.ts, fields.ts and json.ts.
// ─── NSG output ─────────────────────────────────────────────────────────────────────────────
import { parseNsgTuple, parseVnetTuple, instantFromEpochSeconds, instantFromEpochMilliseconds, formatTime, type Instant } from "./flow.js";
import type { Fields } from "./fields.js";
import { errorEvent, serialize, portNumber, counterNumber } from "./json.js";

export const NSG_FLOW_STATE = { B: "begin", C: "continue", E: "end" } as const;
const NSG_DECISION = { A: "accept", D: "reject" } as const;
const NSG_EVENT_TYPE = { A: "allowed", D: "denied" } as const;
const TRANSPORT = { T: "tcp", U: "udp" } as const;
export const DIRECTION = { I: "inbound", O: "outbound" } as const;

export const NO_TIMESTAMP_NSG = "no \"time\" and no epoch from a documented \"flow.0\" tuple";
export const NO_TIMESTAMP_VNET = "no epoch from a documented \"flow.0\" tuple and no \"time\"";

export function mapNsg(message: string, f: Fields, time: Instant | undefined, id: string | undefined): string {
  const tuple = f["flow.0"] === undefined ? undefined : parseNsgTuple(f["flow.0"]);
  const start = time ?? (tuple ? instantFromEpochSeconds(tuple.epochSeconds) : undefined);
  if (start === undefined) {
    return errorEvent(message, "no_timestamp", NO_TIMESTAMP_NSG);
  }
  const timestamp = formatTime(start);

  // Overrides apply whether or not the tuple parsed.
  const sourceIp = f.source_addr ?? tuple?.sourceIp;
  const destinationIp = f.destination_addr ?? tuple?.destinationIp;
  const sourcePort = f.source_port ?? tuple?.sourcePort;
  const destinationPort = f.destination_port ?? tuple?.destinationPort;
  const decision = tuple?.decision;

  return serialize({
    "@timestamp": timestamp,
    message,
    event: {
      category: ["network"],
      id,
      code: f.operationName,
      start: timestamp,
      action: decision && NSG_DECISION[decision],
      type: decision && [NSG_EVENT_TYPE[decision]],
      outcome: tuple && "success",
    },
    action: {
      target: "network-traffic",
      name: decision && NSG_DECISION[decision],
      outcome: tuple && "success",
      type: f.rule,
      properties: {
        OperationName: f.operationName,
        Version: f.version,
        FlowState: tuple?.state ? NSG_FLOW_STATE[tuple.state] : f.flow_state,
      },
    },
    rule: { name: f.rule },
    network: {
      transport: tuple && TRANSPORT[tuple.protocol],
      direction: tuple && DIRECTION[tuple.direction],
    },
    source: {
      ip: sourceIp,
      address: sourceIp,
      port: portNumber(sourcePort),
      mac: f.macAddress,
      packets: counterNumber(tuple?.sourcePackets),
      bytes: counterNumber(tuple?.sourceBytes),
    },
    destination: {
      ip: destinationIp,
      address: destinationIp,
      port: portNumber(destinationPort),
      packets: counterNumber(tuple?.destinationPackets),
      bytes: counterNumber(tuple?.destinationBytes),
    },
    related: { ip: distinctIps(sourceIp, destinationIp) },
  });
}

// ─── VNet output ────────────────────────────────────────────────────────────────────────────

const VNET_EVENT_TYPE = { B: "start", C: "info", E: "end", D: "denied" } as const;

export function mapVnet(message: string, f: Fields, time: Instant | undefined, id: string | undefined): string {
  const tuple = f["flow.0"] === undefined ? undefined : parseVnetTuple(f["flow.0"]);
  const at = tuple ? instantFromEpochMilliseconds(tuple.epochMilliseconds) : time;
  if (at === undefined) {
    return errorEvent(message, "no_timestamp", NO_TIMESTAMP_VNET);
  }

  return serialize({
    "@timestamp": formatTime(at),
    message,
    event: {
      category: ["network"],
      id,
      code: f.operationName,
      type: tuple && [VNET_EVENT_TYPE[tuple.state]],
    },
    action: {
      target: "network-traffic",
      properties: {
        OperationName: f.operationName,
        FlowEncryption: tuple?.encryption,
      },
    },
    rule: { name: f.rule },
    network: {
      direction: tuple && DIRECTION[tuple.direction],
      iana_number: tuple?.protocol,
    },
    observer: { mac: f.macAddress },
    source: {
      ip: tuple?.sourceIp,
      address: tuple?.sourceIp,
      port: portNumber(tuple?.sourcePort),
      packets: counterNumber(tuple?.sourcePackets),
      bytes: counterNumber(tuple?.sourceBytes),
    },
    destination: {
      ip: tuple?.destinationIp,
      address: tuple?.destinationIp,
      port: portNumber(tuple?.destinationPort),
      packets: counterNumber(tuple?.destinationPackets),
      bytes: counterNumber(tuple?.destinationBytes),
    },
    related: { ip: distinctIps(tuple?.sourceIp, tuple?.destinationIp) },
  });
}

function distinctIps(source: string | undefined, destination: string | undefined): string[] | undefined {
  const ips = [...new Set([source, destination].filter((ip): ip is string => ip !== undefined))];
  return ips.length > 0 ? ips : undefined;
}

