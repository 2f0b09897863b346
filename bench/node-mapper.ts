// The benchmark's baseline (row 6): the mapping as a user would write it in a few lines of
// plain Node.js — readline, JSON.parse, build the ECS object, JSON.stringify to stdout — with
// none of the core's validation (no UTF-8 or depth checks, no error events, no 2^64 counters,
// no field type checks). On well-formed flow events its output is the reference's, byte for
// byte (`npm run bench` checks that on a sample of the corpus).
//
//   node dist/bench/node-mapper.js FILE > ecs.ndjson      (no FILE, or "-": stdin)
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

export type Raw = Record<string, unknown>;

const TRANSPORT: Record<string, string> = { T: "tcp", U: "udp" };
const DIRECTION: Record<string, string> = { I: "inbound", O: "outbound" };
const DECISION: Record<string, string> = { A: "accept", D: "reject" };
const ALLOWED: Record<string, string> = { A: "allowed", D: "denied" };
const NSG_STATE: Record<string, string> = { B: "begin", C: "continue", E: "end" };
const VNET_TYPE: Record<string, string> = { B: "start", C: "info", E: "end", D: "denied" };

const num = (s: string | undefined) => (s ? Number(s) : undefined);
const str = (v: unknown) => (v === "" || v === null ? undefined : (v as string | undefined));

/** `…:42.6259228Z` / `…+00:00` → UTC, microseconds truncated, no fraction when zero. */
function isoTime(t: string): string {
  const m = /^(.{19})(?:\.(\d+))?(.*)$/.exec(t)!;
  const base = new Date(m[1]! + (m[3] || "Z")).toISOString().slice(0, 19);
  const frac = (m[2] ?? "").slice(0, 6).padEnd(6, "0");
  return base + (frac === "000000" ? "" : "." + frac) + "Z";
}

function epochMsTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // …:23.599Z
  return ms % 1000 === 0 ? iso.slice(0, 19) + "Z" : iso.slice(0, 23) + "000Z";
}

export function naiveMap(line: string): string {
  return JSON.stringify(naiveEvent(line));
}

/** The ECS event as an object, before it is serialised (bench/node-geo-mapper.ts adds to it). */
export function naiveEvent(line: string): Raw {
  let raw = line;
  let e = JSON.parse(raw) as Raw;
  if (e["flow.0"] === undefined && e.operationName === undefined && typeof e.message === "string") {
    raw = e.message;
    e = JSON.parse(raw) as Raw;
  }
  const t = String(e["flow.0"] ?? "").split(",");
  const related = (a?: string, b?: string) => (a === b ? [a] : [a, b]);

  if (e.flowLogVersion !== undefined || e.operationName === "FlowLogFlowEvent") {
    return {
      "@timestamp": epochMsTime(Number(t[0])),
      message: raw,
      event: { category: ["network"], code: e.operationName, type: [VNET_TYPE[t[7]!]] },
      action: { target: "network-traffic", properties: { OperationName: e.operationName, FlowEncryption: t[8] } },
      rule: { name: str(e.rule) },
      network: { direction: DIRECTION[t[6]!], iana_number: t[5] },
      observer: { mac: e.macAddress },
      source: { ip: t[1], address: t[1], port: num(t[3]), packets: num(t[9]), bytes: num(t[10]) },
      destination: { ip: t[2], address: t[2], port: num(t[4]), packets: num(t[11]), bytes: num(t[12]) },
      related: { ip: related(t[1], t[2]) },
    };
  }
  const time = isoTime(String(e.time));
  const src = str(e.source_addr) ?? t[1];
  const dst = str(e.destination_addr) ?? t[2];
  return {
    "@timestamp": time,
    message: raw,
    event: {
      category: ["network"], code: e.operationName, start: time,
      action: DECISION[t[7]!], type: [ALLOWED[t[7]!]], outcome: "success",
    },
    action: {
      target: "network-traffic", name: DECISION[t[7]!], outcome: "success", type: str(e.rule),
      properties: {
        OperationName: e.operationName,
        Version: e.version === undefined ? undefined : String(e.version),
        FlowState: NSG_STATE[t[8] ?? ""] ?? e.flow_state,
      },
    },
    rule: { name: str(e.rule) },
    network: { transport: TRANSPORT[t[5]!], direction: DIRECTION[t[6]!] },
    source: { ip: src, address: src, port: num(String(e.source_port || t[3])), mac: e.macAddress, packets: num(t[9]), bytes: num(t[10]) },
    destination: { ip: dst, address: dst, port: num(String(e.destination_port || t[4])), packets: num(t[11]), bytes: num(t[12]) },
    related: { ip: related(src, dst) },
  };
}

function main(file: string): void {
  const input = file === "-" ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line.trim() !== "") process.stdout.write(naiveMap(line) + "\n");
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.length > 3) {
    process.stderr.write("usage: node dist/bench/node-mapper.js [FILE]\n");
    process.exit(2);
  }
  main(process.argv[2] ?? "-");
}
