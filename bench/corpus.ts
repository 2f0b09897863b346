// The benchmark corpus: flattened Azure NSG / VNet flow events, one per NDJSON line, generated
// from a seeded PRNG (the same bytes for the same record count and seed, on every machine),
// and the same NSG flows as a native PT1H.json blob for the blob splitter.
//
// The mix, by record: NSG version 2 (13-field tuples) ~75%, NSG version 1 (8-field tuples)
// ~10%, VNet flow logs version 4 ~15%; ~10% of flows over IPv6, ~25% denied; ~2% of lines are
// `{"message":"<raw event>"}` wrappers; a few percent carry escapes (`\/` in paths, `\"`,
// `\u00e9`) or raw non-ASCII. Every event maps without error.
//
//   node dist/bench/corpus.js --records 300000 --out corpus.ndjson [--blob PT1H.json] [--seed N]
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

export interface CorpusStats {
  records: number;
  bytes: number;
  nsgV2: number;
  nsgV1: number;
  vnet: number;
  ipv6: number;
  denied: number;
  wrapped: number;
  /** Lines with a JSON escape other than the wrapper's own (`\/`, `\"`, `\u00e9`). */
  escaped: number;
  /** Lines with raw UTF-8 beyond ASCII. */
  nonAscii: number;
}

export interface Corpus {
  /** NDJSON, one record a line, newline-terminated. */
  ndjson: Buffer;
  stats: CorpusStats;
  /** The NSG records (versions 1 and 2) as one native blob: {"records":[…]}. */
  blob: Buffer;
  /** Flow-log records in the blob, and flow tuples (= flattened events) they hold. */
  blobRecords: number;
  blobTuples: number;
}

export const DEFAULT_SEED = 0x5eed2024;

/** mulberry32: small, fast, good enough to pick values; deterministic across platforms. */
class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  hex(digits: number, upper = false): string {
    let s = "";
    for (let i = 0; i < digits; i++) s += "0123456789abcdef"[this.int(0, 15)];
    return upper ? s.toUpperCase() : s;
  }
  guid(upper = false): string {
    return [this.hex(8), this.hex(4), this.hex(4), this.hex(4), this.hex(12)].join("-")[upper ? "toUpperCase" : "toString"]();
  }
}

const NSG_RULES = [
  "DefaultRule_DenyAllInBound", "DefaultRule_AllowVnetInBound", "DefaultRule_AllowAzureLoadBalancerInBound",
  "DefaultRule_AllowInternetOutBound", "DefaultRule_AllowVnetOutBound", "DefaultRule_DenyAllOutBound",
  "UserRule_allow-ssh", "UserRule_default-allow-rdp", "UserRule_allow-https", "UserRule_deny-smb",
  "UserRule_allow-sql-from-app", "UserRule_AllowMonitoring",
] as const;
const VNET_RULES = [
  "DefaultRule_AllowInternetOutBound", "DefaultRule_DenyAllInBound", "DefaultRule_AllowVnetInBound",
  "BlockHighRiskTCPPortsFromInternet", "Internet", "UserRule_allow-https", "AllowAzureCloud",
] as const;
const RESOURCE_GROUPS = ["FABRIKAMRG", "PROD-NETWORK", "RG-WEB-EASTUS", "INTEGRATION", "SHARED-SERVICES", "AKS-NODES-WESTEUROPE"] as const;
const NSG_NAMES = ["FABRIKAMVM1-NSG", "WEB-TIER-NSG", "APP-SUBNET-NSG", "AZNTDC02-NSG", "JUMPBOX-NSG", "AKS-AGENTPOOL-12345678-NSG"] as const;
const VNET_NAMES = ["hub-vnet", "spoke-prod-vnet", "aks-vnet-39215840", "vnet-weu-shared"] as const;
const DEST_PORTS = [443, 443, 443, 80, 22, 3389, 53, 1433, 445, 8080, 5432, 6379, 123, 25] as const;
const ENCRYPTIONS = ["NX", "NX", "NX", "X", "NX_HW_NOT_SUPPORTED"] as const;

/** A flow-log "record": what one native blob record holds (one resource, one MAC, one time). */
interface Envelope {
  kind: "nsg1" | "nsg2" | "vnet";
  time: string;
  epochMs: number;
  mac: string;
  resourceId: string;
  systemId: string;
  // VNet only
  flowLogGUID: string;
  aclID: string;
  targetResourceID: string;
}

interface Resource {
  subscription: string;
  resourceGroup: string;
  nsg: string;
  vnet: string;
  mac: string;
  systemId: string;
  flowLogGUID: string;
  aclID: string;
}

function ipv4(r: Prng, internal: boolean): string {
  if (internal) return `10.${r.int(0, 15)}.${r.int(0, 255)}.${r.int(4, 254)}`;
  // Public-looking: any first octet that is not private or reserved; no leading zeros.
  const first = r.pick([13, 20, 23, 40, 52, 94, 104, 137, 151, 185, 198, 203, 213]);
  return `${first}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
}

function ipv6(r: Prng): string {
  const group = () => r.int(0, 0xffff).toString(16);
  switch (r.int(0, 3)) {
    case 0: return `2001:db8:${group()}::${group()}:${group()}`;
    case 1: return `fd00:${group()}:${group()}:${group()}::${group()}`;
    case 2: return Array.from({ length: 8 }, group).join(":");
    default: return `::ffff:${ipv4(r, false)}`;
  }
}

function isoTime(ms: number, fraction: string, suffix: string): string {
  return new Date(ms).toISOString().slice(0, 19) + "." + fraction + suffix;
}

/** Counters of a flow that began (B: often empty) or continues/ended (C/E). */
function counters(r: Prng, state: string, emptyWhenBegin: boolean): string[] {
  if (state === "B" && emptyWhenBegin) return ["", "", "", ""];
  if (state === "B" || state === "D") return ["0", "0", "0", "0"];
  const pOut = r.int(1, 400);
  const pIn = r.int(0, 600);
  return [String(pOut), String(pOut * r.int(60, 1400)), String(pIn), String(pIn * r.int(60, 1500))];
}

interface Flow {
  tuple: string;
  ipv6: boolean;
  denied: boolean;
}

function nsgFlow(r: Prng, version: 1 | 2, epochSec: number, rule: string): Flow {
  const v6 = r.chance(0.1);
  const inbound = rule.includes("InBound") || rule.includes("allow-") || r.chance(0.5);
  const denied = rule.includes("Deny") || rule.includes("deny") || r.chance(0.08);
  const local = v6 ? ipv6(r) : ipv4(r, true);
  const remote = v6 ? ipv6(r) : ipv4(r, r.chance(0.3));
  const [src, dst] = inbound ? [remote, local] : [local, remote];
  const fields = [
    String(epochSec - r.int(0, 59)), src, dst, String(r.int(1024, 65535)), String(r.pick(DEST_PORTS)),
    r.chance(0.85) ? "T" : "U", inbound ? "I" : "O", denied ? "D" : "A",
  ];
  if (version === 2) {
    const state = denied ? "B" : r.pick(["B", "C", "C", "E", "E"]);
    fields.push(state, ...counters(r, state, true));
  }
  return { tuple: fields.join(","), ipv6: v6, denied };
}

function vnetFlow(r: Prng, epochMs: number, rule: string): Flow {
  const v6 = r.chance(0.1);
  const denied = rule.startsWith("Block") || rule.includes("Deny") || r.chance(0.08);
  const inbound = denied || r.chance(0.4);
  const local = v6 ? ipv6(r) : ipv4(r, true);
  const remote = v6 ? ipv6(r) : ipv4(r, r.chance(0.3));
  const [src, dst] = inbound ? [remote, local] : [local, remote];
  const state = denied ? "D" : r.pick(["B", "C", "E", "E"]);
  const fields = [
    String(epochMs - r.int(0, 59999)), src, dst, String(r.int(1024, 65535)), String(r.pick(DEST_PORTS)),
    r.pick(["6", "6", "6", "17", "1"]), inbound ? "I" : "O", state, r.pick(ENCRYPTIONS), ...counters(r, state, false),
  ];
  return { tuple: fields.join(","), ipv6: v6, denied };
}

/** A JSON string literal; `escapeSlash` writes `/` as `\/` (as PHP and some collectors do). */
function str(s: string, escapeSlash = false): string {
  const j = JSON.stringify(s);
  return escapeSlash ? j.replaceAll("/", "\\/") : j;
}

/** The flattened event: the envelope plus one rule and one tuple, keys in collector order. */
function flatten(env: Envelope, ruleJson: string, tuple: string, extra: string, escapeSlash: boolean, numericVersion: boolean): string {
  if (env.kind === "vnet") {
    return `{"time":${str(env.time)},"flowLogVersion":4,"flowLogGUID":${str(env.flowLogGUID)},"macAddress":${str(env.mac)},` +
      `"category":"FlowLogFlowEvent","flowLogResourceID":${str(env.resourceId, escapeSlash)},` +
      `"targetResourceID":${str(env.targetResourceID, escapeSlash)},"operationName":"FlowLogFlowEvent",` +
      `"aclID":${str(env.aclID)},"rule":${ruleJson}${extra},"flow.0":${str(tuple)}}`;
  }
  const version = env.kind === "nsg2" ? (numericVersion ? "2" : '"2"') : (numericVersion ? "1" : '"1"');
  return `{"time":${str(env.time)},"macAddress":${str(env.mac)},` +
    `"resourceId":${str(env.resourceId, escapeSlash)},` +
    `"operationName":"NetworkSecurityGroupFlowEvents","rule":${ruleJson},"version":${version}${extra},"flow.0":${str(tuple)}}`;
}

/** Generates `records` flattened events (exactly) and the blob of their NSG flows. */
export function generateCorpus(records: number, seed: number = DEFAULT_SEED): Corpus {
  const r = new Prng(seed);
  const stats: CorpusStats = { records: 0, bytes: 0, nsgV2: 0, nsgV1: 0, vnet: 0, ipv6: 0, denied: 0, wrapped: 0, escaped: 0, nonAscii: 0 };
  const resources: Resource[] = Array.from({ length: 64 }, (_, i) => {
    return {
      subscription: r.guid(true),
      resourceGroup: RESOURCE_GROUPS[i % RESOURCE_GROUPS.length]!,
      nsg: NSG_NAMES[(i >> 1) % NSG_NAMES.length]!,
      vnet: VNET_NAMES[i % VNET_NAMES.length]!,
      mac: r.hex(12, true),
      systemId: r.guid(),
      flowLogGUID: r.guid(),
      aclID: r.guid(),
    };
  });

  const lines: string[] = [];
  const ndjsonParts: Buffer[] = [];
  const blobRecordsJson: string[] = [];
  const blobParts: Buffer[] = [Buffer.from('{"records":[')];
  let blobRecords = 0;
  let blobTuples = 0;
  let firstBlobRecord = true;
  let epochMs = Date.UTC(2024, 2, 18, 0, 0, 0); // 2024-03-18T00:00:00Z
  const flushLines = () => {
    ndjsonParts.push(Buffer.from(lines.join("\n") + "\n"));
    lines.length = 0;
  };
  const flushBlob = () => {
    if (blobRecordsJson.length === 0) return;
    blobParts.push(Buffer.from((firstBlobRecord ? "" : ",") + blobRecordsJson.join(",")));
    firstBlobRecord = false;
    blobRecordsJson.length = 0;
  };

  while (stats.records < records) {
    epochMs += r.int(5, 900);
    const res = r.pick(resources);
    const u = r.next();
    const kind: Envelope["kind"] = u < 0.75 ? "nsg2" : u < 0.85 ? "nsg1" : "vnet";
    const env: Envelope = {
      kind,
      epochMs,
      time: kind === "vnet"
        ? isoTime(epochMs, String(r.int(0, 999999)).padStart(6, "0"), "+00:00")
        : isoTime(epochMs, String(r.int(0, 9999999)).padStart(7, "0"), "Z"),
      mac: res.mac,
      resourceId: kind === "vnet"
        ? `/SUBSCRIPTIONS/${res.subscription}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/${res.vnet.toUpperCase()}-FLOWLOG`
        : `/SUBSCRIPTIONS/${res.subscription}/RESOURCEGROUPS/${res.resourceGroup}/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${res.nsg}`,
      systemId: res.systemId,
      flowLogGUID: res.flowLogGUID,
      aclID: res.aclID,
      targetResourceID: `/subscriptions/${res.subscription.toLowerCase()}/resourceGroups/${res.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${res.vnet}`,
    };
    // One record: 1-3 rules, 1-6 flows each (as Network Watcher groups them).
    const blobRules: { rule: string; tuples: string[] }[] = [];
    const ruleCount = r.int(1, 3);
    for (let k = 0; k < ruleCount && stats.records < records; k++) {
      let rule: string = r.pick(kind === "vnet" ? VNET_RULES : NSG_RULES);
      // Non-ASCII rule names: raw UTF-8, or the same written with a \u escape.
      const special = r.next();
      const unicodeRule = special < 0.02;
      if (unicodeRule) rule = r.pick(["UserRule_autorisé-ssh", "UserRule_許可-https", "UserRule_Zugriff-für-Überwachung"]);
      const escapeUnicode = unicodeRule && r.chance(0.5);
      const ruleJson = escapeUnicode ? str(rule).replace(/[^\x00-\x7f]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) : str(rule);
      const blobRule = { rule, tuples: [] as string[] };
      blobRules.push(blobRule);
      const flows = r.int(1, 6);
      for (let f = 0; f < flows && stats.records < records; f++) {
        const flow = kind === "vnet" ? vnetFlow(r, epochMs, rule) : nsgFlow(r, kind === "nsg1" ? 1 : 2, Math.floor(epochMs / 1000), rule);
        blobRule.tuples.push(flow.tuple);
        const escapeSlash = r.chance(0.03);
        const quoted = r.chance(0.01);
        const extra = quoted ? `,"tags":"owner=\\"net-ops\\" cost-center=\\"4711\\""` : "";
        let line = flatten(env, ruleJson, flow.tuple, extra, escapeSlash, kind !== "vnet" && r.chance(0.05));
        if (r.chance(0.02)) {
          line = `{"message":${JSON.stringify(line)}}`;
          stats.wrapped++;
        }
        lines.push(line);
        stats.records++;
        stats.bytes += Buffer.byteLength(line) + 1;
        if (kind === "nsg2") stats.nsgV2++;
        else if (kind === "nsg1") stats.nsgV1++;
        else stats.vnet++;
        if (flow.ipv6) stats.ipv6++;
        if (flow.denied) stats.denied++;
        if (escapeSlash || quoted || escapeUnicode) stats.escaped++;
        if (unicodeRule && !escapeUnicode) stats.nonAscii++;
        if (lines.length >= 10000) flushLines();
      }
    }
    if (kind !== "vnet") {
      const record = {
        time: env.time,
        systemId: env.systemId,
        macAddress: env.mac,
        category: "NetworkSecurityGroupFlowEvent",
        resourceId: env.resourceId,
        operationName: "NetworkSecurityGroupFlowEvents",
        properties: {
          Version: kind === "nsg2" ? 2 : 1,
          flows: blobRules.filter((b) => b.tuples.length > 0).map((b) => ({
            rule: b.rule,
            flows: [{ mac: env.mac, flowTuples: b.tuples }],
          })),
        },
      };
      blobRecordsJson.push(JSON.stringify(record));
      blobRecords++;
      blobTuples += blobRules.reduce((n, b) => n + b.tuples.length, 0);
      if (blobRecordsJson.length >= 2000) flushBlob();
    }
  }
  if (lines.length > 0) flushLines();
  flushBlob();
  blobParts.push(Buffer.from("]}"));
  return { ndjson: Buffer.concat(ndjsonParts), stats, blob: Buffer.concat(blobParts), blobRecords, blobTuples };
}

export function describeCorpus(c: Corpus): string {
  const s = c.stats;
  const pct = (n: number) => `${((100 * n) / s.records).toFixed(1)}%`;
  return `${s.records} records, ${(s.bytes / 1e6).toFixed(1)} MB, ${(s.bytes / s.records).toFixed(0)} bytes/event on average; ` +
    `NSG v2 ${pct(s.nsgV2)}, NSG v1 ${pct(s.nsgV1)}, VNet v4 ${pct(s.vnet)}; IPv6 ${pct(s.ipv6)}, denied ${pct(s.denied)}, ` +
    `wrapped ${pct(s.wrapped)}, escapes ${pct(s.escaped)}, raw non-ASCII ${pct(s.nonAscii)}\n` +
    `blob: ${(c.blob.length / 1e6).toFixed(1)} MB, ${c.blobRecords} NSG records holding ${c.blobTuples} flow tuples`;
}

function main(argv: string[]): void {
  let records = 300_000;
  let seed = DEFAULT_SEED;
  let out: string | undefined;
  let blob: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--records") records = Number(argv[++i]);
    else if (a === "--seed") seed = Number(argv[++i]);
    else if (a === "--out") out = argv[++i];
    else if (a === "--blob") blob = argv[++i];
    else {
      process.stderr.write("usage: node dist/bench/corpus.js [--records N] [--seed N] --out FILE [--blob FILE]\n");
      process.exit(2);
    }
  }
  if (!out || !Number.isInteger(records) || records < 1) {
    process.stderr.write("usage: node dist/bench/corpus.js [--records N] [--seed N] --out FILE [--blob FILE]\n");
    process.exit(2);
  }
  const c = generateCorpus(records, seed);
  writeFileSync(out, c.ndjson);
  if (blob) writeFileSync(blob, c.blob);
  process.stderr.write(describeCorpus(c) + "\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
