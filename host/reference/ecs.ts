// The full-ECS profile (DEVELOPERS.md, "The full-ECS profile") in plain TypeScript: the oracle
// the core's assembly/write/ecs.ts is checked against, byte for byte. host/reference/ reads
// and checks the record exactly as for the documented profile (same error events), then hands
// the accepted record here.
import { createHash } from "node:crypto";
import { parseNsgTuple, parseVnetTuple, formatTime, instantFromEpochSeconds, instantFromEpochMilliseconds, isIPv4, isIPv6, type Instant } from "./flow.js";
import { errorEvent, serialize, portNumber, counterNumber, topLevelMembers, JsonNumber, type JsonObjectValue, type OutObject } from "./json.js";
import type { Fields } from "./fields.js";
import { NSG_FLOW_STATE, DIRECTION, NO_TIMESTAMP_NSG, NO_TIMESTAMP_VNET } from "./sekoia.js";

export const ECS_VERSION = "8.17.0";

export interface AcceptedRecord {
  /** The raw event's text (`message`). */
  message: string;
  record: JsonObjectValue;
  /** The mapped keys, read and checked. */
  fields: Fields;
  /** `time`, parsed. */
  time: Instant | undefined;
  vnet: boolean;
  /** event.id. */
  id: string;
  /** The Community ID seed. */
  seed: number;
}

export function mapFullEcs(r: AcceptedRecord): string {
  const { fields: f, vnet } = r;
  const nsgTuple = !vnet && f["flow.0"] !== undefined ? parseNsgTuple(f["flow.0"]) : undefined;
  const vnetTuple = vnet && f["flow.0"] !== undefined ? parseVnetTuple(f["flow.0"]) : undefined;
  const tuple = nsgTuple ?? vnetTuple;
  const tupleTime = nsgTuple ? instantFromEpochSeconds(nsgTuple.epochSeconds)
    : vnetTuple ? instantFromEpochMilliseconds(vnetTuple.epochMilliseconds) : undefined;
  const at = tupleTime ?? r.time;
  if (at === undefined) return errorEvent(r.message, "no_timestamp", vnet ? NO_TIMESTAMP_VNET : NO_TIMESTAMP_NSG);

  // The tuple's endpoints, with the NSG overrides (which apply whether or not the tuple parsed).
  const sourceAddress = vnet ? tuple?.sourceIp : f.source_addr ?? tuple?.sourceIp;
  const destinationAddress = vnet ? tuple?.destinationIp : f.destination_addr ?? tuple?.destinationIp;
  const sourcePort = vnet ? tuple?.sourcePort : f.source_port ?? tuple?.sourcePort;
  const destinationPort = vnet ? tuple?.destinationPort : f.destination_port ?? tuple?.destinationPort;
  const sourceBytes = ipBytes(sourceAddress);
  const destinationBytes = ipBytes(destinationAddress);
  const sameFamily = sourceBytes !== undefined && sourceBytes.length === destinationBytes?.length;

  // State: NSG B/C/E (empty: the `flow_state` field as given), VNet B/C/E/D.
  const state = nsgTuple?.state ?? vnetTuple?.state;
  const denied = nsgTuple ? nsgTuple.decision === "D" : vnetTuple?.state === "D";
  const protocol = nsgTuple ? (nsgTuple.protocol === "T" ? 6 : 17) : vnetTuple ? Number(vnetTuple.protocol) : undefined;
  const communityId = tuple && sameFamily && protocol! < 256 && protocol !== 1 && protocol !== 58
    ? computeCommunityId(r.seed, sourceBytes!, sourcePort!, destinationBytes!, destinationPort!, protocol!)
    : undefined;

  const resource = parseResourceId(stringField(r.record, vnet ? "flowLogResourceID" : "resourceId"));
  const target = vnet ? parseResourceId(stringField(r.record, "targetResourceID")) : undefined;
  const mac = normalizeMac(f.macAddress);
  const nicSide = tuple?.direction;
  const timestamp = formatTime(at);

  return serialize({
    "@timestamp": timestamp,
    message: r.message,
    ecs: { version: ECS_VERSION },
    event: {
      kind: "event",
      category: ["network"],
      type: tuple && ["connection", denied ? "denied" : "allowed", ...(state === "B" ? ["start"] : state === "E" ? ["end"] : [])],
      action: tuple && (denied ? "deny" : "allow"),
      outcome: tuple && (denied ? "failure" : "success"),
      id: r.id,
      code: f.operationName,
      created: r.time && formatTime(r.time),
      start: tupleTime && timestamp,
      end: tupleTime && state === "E" ? timestamp : undefined,
    },
    cloud: { provider: "azure", account: { id: resource?.subscription } },
    observer: {
      type: vnet ? "sensor" : "firewall",
      vendor: "Microsoft",
      product: "Azure Network Watcher",
      name: resource?.leaf,
      mac,
    },
    azure: {
      subscription_id: resource?.subscription,
      resource: resource && { id: resource.id, group: resource.group, provider: resource.provider, name: resource.name },
      target_resource: target && {
        id: target.id, subscription_id: target.subscription, group: target.group, provider: target.provider, name: target.name,
      },
      flow_log: {
        version: vnet ? flowLogVersion(r) : f.version,
        guid: vnet ? stringField(r.record, "flowLogGUID") : undefined,
        acl_id: vnet ? stringField(r.record, "aclID") : undefined,
      },
      flow: {
        state: vnetTuple ? VNET_FLOW_STATE[vnetTuple.state] : nsgTuple?.state ? NSG_FLOW_STATE[nsgTuple.state] : vnet ? undefined : f.flow_state,
        encryption: vnetTuple?.encryption,
      },
    },
    network: {
      type: sameFamily ? (sourceBytes!.length === 4 ? "ipv4" : "ipv6") : undefined,
      transport: tuple && TRANSPORT_NAMES[protocol!] ? TRANSPORT_NAMES[protocol!] : undefined,
      iana_number: tuple && String(protocol),
      direction: tuple && DIRECTION[tuple.direction],
      community_id: communityId,
      bytes: total(tuple?.sourceBytes, tuple?.destinationBytes),
      packets: total(tuple?.sourcePackets, tuple?.destinationPackets),
    },
    rule: { name: f.rule },
    source: endpoint(sourceAddress, sourceBytes, sourcePort, nicSide === "O" ? mac : undefined, tuple?.sourcePackets, tuple?.sourceBytes),
    destination: endpoint(destinationAddress, destinationBytes, destinationPort, nicSide === "I" ? mac : undefined,
      tuple?.destinationPackets, tuple?.destinationBytes),
    related: { ip: relatedIps(sourceAddress, sourceBytes, destinationAddress, destinationBytes) },
  });
}

const VNET_FLOW_STATE = { B: "begin", C: "continue", E: "end", D: "deny" } as const;

/** A string member of the record, when it is a non-empty string (otherwise it is not read). */
function stringField(record: JsonObjectValue, key: string): string | undefined {
  const v = record[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** flowLogVersion as a string: a string as it is, a number as written. */
function flowLogVersion(r: AcceptedRecord): string | undefined {
  const v = r.record["flowLogVersion"];
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "number") return topLevelMembers(r.message).get("flowLogVersion")!.token;
  return undefined;
}

function endpoint(address: string | undefined, bytes: Uint8Array | undefined, port: number | undefined, mac: string | undefined,
  packetCount: string | undefined, byteCount: string | undefined): OutObject {
  return {
    ip: bytes && address,
    address,
    port: portNumber(port),
    mac,
    packets: counterNumber(packetCount),
    bytes: counterNumber(byteCount),
  };
}

/** Both directions added up; absent when neither is there or the sum needs more than 64 bits. */
function total(a: string | undefined, b: string | undefined): JsonNumber | undefined {
  if (a === undefined && b === undefined) return undefined;
  const sum = BigInt(a ?? 0) + BigInt(b ?? 0);
  return sum < 2n ** 64n ? new JsonNumber(sum.toString()) : undefined;
}

/** The addresses that are IPs, without repeating one (compared as addresses: `::1` = `0::1`). */
function relatedIps(a: string | undefined, aBytes: Uint8Array | undefined, b: string | undefined, bBytes: Uint8Array | undefined): string[] {
  const ips: string[] = [];
  if (aBytes) ips.push(a!);
  if (bBytes && !(aBytes && Buffer.compare(aBytes, bBytes) === 0)) ips.push(b!);
  return ips;
}

// ─── Addresses, MAC, resource ids ───────────────────────────────────────────────────────────

/** An IP address's bytes (4 or 16), or undefined when the text is not one. */
export function ipBytes(s: string | undefined): Uint8Array | undefined {
  if (s === undefined) return undefined;
  if (isIPv4(s)) return Uint8Array.from(s.split(".").map(Number));
  if (!isIPv6(s)) return undefined;
  // Expand the dotted quad into two groups, then the "::" into the zero groups it stands for.
  let text = s;
  const quad = /([0-9.]+)$/.exec(s);
  if (quad && quad[1]!.includes(".")) {
    const [a, b, c, d] = quad[1]!.split(".").map(Number) as [number, number, number, number];
    text = s.slice(0, s.length - quad[1]!.length) + ((a << 8) | b).toString(16) + ":" + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  return out;
}

/** `00-0D-3A-F8-78-56` from 12 hex digits, or 6 pairs separated by one kind of `-` or `:`. */
export function normalizeMac(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const m = /^([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})$/.exec(s)
    ?? /^([0-9A-Fa-f]{2})([-:])([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})$/.exec(s);
  if (!m) return undefined;
  return m.slice(1).filter((g) => g !== "-" && g !== ":").join("-").toUpperCase();
}

export interface ParsedResourceId {
  id: string;
  subscription?: string;
  group?: string;
  provider?: string;
  name?: string;
  leaf?: string;
}

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** `/subscriptions/<sub>[/resourceGroups/<group>][/providers/<namespace>/<type>[/<name…>]]`,
 * keywords in any case; parts taken left to right while the id has that shape. */
export function parseResourceId(id: string | undefined): ParsedResourceId | undefined {
  if (id === undefined) return undefined;
  const r: ParsedResourceId = { id };
  if (!id.startsWith("/")) return r;
  const seg = id.slice(1).split("/");
  if (seg.length < 2 || asciiLower(seg[0]!) !== "subscriptions" || seg[1] === "") return r;
  r.subscription = seg[1];
  let i = 2;
  if (seg.length > i && asciiLower(seg[i]!) === "resourcegroups") {
    if (seg.length < i + 2 || seg[i + 1] === "") return r;
    r.group = seg[i + 1];
    i += 2;
  }
  if (seg.length < i + 3 || asciiLower(seg[i]!) !== "providers" || seg[i + 1] === "" || seg[i + 2] === "") return r;
  r.provider = `${seg[i + 1]}/${seg[i + 2]}`;
  const name = seg.slice(i + 3).join("/");
  if (name !== "") {
    r.name = name;
    const leaf = name.slice(name.lastIndexOf("/") + 1);
    if (leaf !== "") r.leaf = leaf;
  }
  return r;
}

// ─── Community ID ───────────────────────────────────────────────────────────────────────────

/** Community ID v1 (github.com/corelight/community-id-spec); ports for TCP, UDP and SCTP only. */
export function computeCommunityId(seed: number, a: Uint8Array, aPort: number, b: Uint8Array, bPort: number, protocol: number): string {
  const withPorts = protocol === 6 || protocol === 17 || protocol === 132;
  const order = Buffer.compare(a, b);
  if (order > 0 || (order === 0 && withPorts && aPort > bPort)) [a, aPort, b, bPort] = [b, bPort, a, aPort];
  const head = Buffer.alloc(4);
  head.writeUInt16BE(seed, 0);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(aPort, 0);
  ports.writeUInt16BE(bPort, 2);
  const hash = createHash("sha1").update(head.subarray(0, 2)).update(a).update(b).update(Uint8Array.of(protocol, 0));
  if (withPorts) hash.update(ports);
  return "1:" + hash.digest("base64");
}

// ─── IANA protocol numbers ──────────────────────────────────────────────────────────────────

/** network.transport: the IANA keyword of each protocol number, lower case ("" for none); the
 * same table as assembly/flow/iana-protocols.ts. */
export const TRANSPORT_NAMES: readonly string[] = [
  "hopopt", "icmp", "igmp", "ggp", "ipv4", "st", "tcp", "cbt", "egp", "igp", "bbn-rcc-mon",
  "nvp-ii", "pup", "argus", "emcon", "xnet", "chaos", "udp", "mux", "dcn-meas", "hmp", "prm",
  "xns-idp", "trunk-1", "trunk-2", "leaf-1", "leaf-2", "rdp", "irtp", "iso-tp4", "netblt",
  "mfe-nsp", "merit-inp", "dccp", "3pc", "idpr", "xtp", "ddp", "idpr-cmtp", "tp++", "il", "ipv6",
  "sdrp", "ipv6-route", "ipv6-frag", "idrp", "rsvp", "gre", "dsr", "bna", "esp", "ah", "i-nlsp",
  "swipe", "narp", "min-ipv4", "tlsp", "skip", "ipv6-icmp", "ipv6-nonxt", "ipv6-opts", "", "cftp",
  "", "sat-expak", "kryptolan", "rvd", "ippc", "", "sat-mon", "visa", "ipcv", "cpnx", "cphb",
  "wsn", "pvp", "br-sat-mon", "sun-nd", "wb-mon", "wb-expak", "iso-ip", "vmtp", "secure-vmtp",
  "vines", "iptm", "nsfnet-igp", "dgp", "tcf", "eigrp", "ospfigp", "sprite-rpc", "larp", "mtp",
  "ax.25", "ipip", "micp", "scc-sp", "etherip", "encap", "", "gmtp", "ifmp", "pnni", "pim", "aris",
  "scps", "qnx", "a/n", "ipcomp", "snp", "compaq-peer", "ipx-in-ip", "vrrp", "pgm", "", "l2tp",
  "ddx", "iatp", "stp", "srp", "uti", "smp", "sm", "ptp", "isis over ipv4", "fire", "crtp",
  "crudp", "sscopmce", "iplt", "sps", "pipe", "sctp", "fc", "rsvp-e2e-ignore", "mobility header",
  "udplite", "mpls-in-ip", "manet", "hip", "shim6", "wesp", "rohc", "ethernet", "aggfrag", "nsh",
  "homa",
];
