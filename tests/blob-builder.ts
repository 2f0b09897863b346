// Builds PT1H.json blobs as Azure writes them (Microsoft's documented NSG v1/v2 and VNet v4
// formats), block by block: a 12-byte head `{"records":[`, one block per record (each after the
// first starting with `,`), a 2-byte tail `]}`. Also what a collector makes of them: the
// flattened raw event of every tuple, keys in the collector's order.

export interface NsgGroup {
  mac?: string;
  flowTuples: unknown;
}
export interface NsgRule {
  rule?: string;
  flows: NsgGroup[] | unknown;
}
export interface NsgRecord {
  time: string;
  macAddress?: string;
  resourceId: string;
  version: 1 | 2;
  rules: NsgRule[];
}

export interface VnetGroup {
  rule?: string;
  flowTuples: string[];
}
export interface VnetRecord {
  time: string;
  flowLogGUID: string;
  macAddress: string;
  flowLogResourceID: string;
  targetResourceID: string;
  acls: { aclID: string; flowGroups: VnetGroup[] }[];
}

export function nsgRecordJson(r: NsgRecord): unknown {
  return {
    time: r.time,
    systemId: "a0fca5ce-022c-47b1-9735-89943b42f2fa",
    ...(r.macAddress === undefined ? {} : { macAddress: r.macAddress }),
    category: "NetworkSecurityGroupFlowEvent",
    resourceId: r.resourceId,
    operationName: "NetworkSecurityGroupFlowEvents",
    properties: { Version: r.version, flows: r.rules },
  };
}

export function vnetRecordJson(r: VnetRecord): unknown {
  return {
    time: r.time,
    flowLogVersion: 4,
    flowLogGUID: r.flowLogGUID,
    macAddress: r.macAddress,
    category: "FlowLogFlowEvent",
    flowLogResourceID: r.flowLogResourceID,
    targetResourceID: r.targetResourceID,
    operationName: "FlowLogFlowEvent",
    flowRecords: { flows: r.acls },
  };
}

/** The blocks of a blob holding these records: head, records (`,` before all but the first),
 * tail. `pretty` indents each record the way a formatter would. */
export function blobBlocks(records: unknown[], pretty = false): string[] {
  const text = (r: unknown) => (pretty ? "\n  " + JSON.stringify(r, null, 2).replace(/\n/g, "\n  ") : JSON.stringify(r));
  return [
    pretty ? '{\n  "records": [' : '{"records":[',
    ...records.map((r, i) => (i === 0 ? "" : ",") + text(r)),
    pretty ? "\n  ]\n}" : "]}",
  ];
}

export function blob(records: unknown[], pretty = false): string {
  return blobBlocks(records, pretty).join("");
}

/** The flattened raw events a collector forwards for an NSG record, in blob order. */
export function flattenNsg(r: NsgRecord): string[] {
  const out: string[] = [];
  for (const rule of r.rules) {
    for (const group of rule.flows as NsgGroup[]) {
      for (const tuple of group.flowTuples as string[]) {
        const mac = group.mac ?? r.macAddress;
        out.push(JSON.stringify({
          ...(mac === undefined ? {} : { macAddress: mac }),
          operationName: "NetworkSecurityGroupFlowEvents",
          resourceId: r.resourceId,
          time: r.time,
          ...(rule.rule === undefined ? {} : { rule: rule.rule }),
          version: String(r.version),
          "flow.0": tuple,
        }));
      }
    }
  }
  return out;
}

export function flattenVnet(r: VnetRecord): string[] {
  const out: string[] = [];
  for (const acl of r.acls) {
    for (const group of acl.flowGroups) {
      for (const tuple of group.flowTuples) {
        out.push(JSON.stringify({
          time: r.time,
          flowLogVersion: 4,
          flowLogGUID: r.flowLogGUID,
          macAddress: r.macAddress,
          flowLogResourceID: r.flowLogResourceID,
          targetResourceID: r.targetResourceID,
          operationName: "FlowLogFlowEvent",
          aclID: acl.aclID,
          ...(group.rule === undefined ? {} : { rule: group.rule }),
          "flow.0": tuple,
        }));
      }
    }
  }
  return out;
}

// A deterministic source of varied records for tests that want many.
export function* lcg(seed: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    yield s;
  }
}

export function nsgTuple(n: number, v2: boolean, ipv6 = false): string {
  const src = ipv6 ? `2001:db8::${(n % 65535).toString(16)}` : `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const dst = ipv6 ? "2001:db8:85a3::8a2e:370:7334" : "192.0.2.10";
  const base = `${1542110000 + (n % 100000)},${src},${dst},${1024 + (n % 60000)},443,${n % 3 ? "T" : "U"},${n % 2 ? "I" : "O"},${n % 5 ? "A" : "D"}`;
  if (!v2) return base;
  return n % 4 === 0 ? `${base},B,,,,` : `${base},${"BCE"[n % 3]},${n % 50},${n * 7},${n % 30},${n * 3}`;
}

export function vnetTuple(n: number, ipv6 = false): string {
  const src = ipv6 ? `fe80::${(n % 65535).toString(16)}` : `10.0.${(n >> 8) & 255}.${n & 255}`;
  return `${1663146000000 + n * 37},${src},192.0.2.180,${1024 + (n % 60000)},443,${n % 2 ? 6 : 17},${n % 2 ? "O" : "I"},${"BCED"[n % 4]},NX,${n % 9},${n * 11},${n % 7},${n * 5}`;
}
