// The oracle for indicator matching, shared by tests/indicators.test.ts (the core's sets
// directly) and tests/indicators-mapping.test.ts (through the mapping): net.BlockList says
// whether a set covers an address at all, a plain BigInt walk over the indicators says which
// ones and in what order (DEVELOPERS.md, "Threat-intel and TOR indicators"), and the generators
// make sets and addresses with the edges in reach.
import { BlockList, isIPv4, isIPv6 } from "node:net";
import fc from "fast-check";

// Addresses as BigInts and back are the reference's (host/reference/indicators.ts): this oracle
// differs from it in how it finds the matches (net.BlockList, a walk of its own), not in arithmetic.
import { v4ToBig, v6ToBig, v4Text, v6Text } from "../host/reference/indicators.js";

export { v4ToBig, v6ToBig, v4Text, v6Text };

export interface Indicator { family: 4 | 6; net: bigint; len: number; desc?: string; id?: string; confidence?: string }
export interface OracleSet { name: string; stix: boolean; indicators: Indicator[] }

/** A prefix text as the core reads it (mapped IPv6 of /96 or longer is IPv4), or undefined. */
export function parsePrefix(text: string): Indicator | undefined {
  const [addr, bits, more] = text.split("/");
  if (more !== undefined || addr === undefined) return undefined;
  if (bits !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return undefined;
  let family: 4 | 6, net: bigint, len: number;
  if (isIPv4(addr)) {
    family = 4; net = v4ToBig(addr); len = bits === undefined ? 32 : Number(bits);
    if (len > 32) return undefined;
  } else if (isIPv6(addr) && !addr.includes("%")) {
    family = 6; net = v6ToBig(addr); len = bits === undefined ? 128 : Number(bits);
    if (len > 128) return undefined;
    if (net >> 32n === 0xffffn && len >= 96) { family = 4; net &= 0xffffffffn; len -= 96; }
  } else return undefined;
  const width = family === 4 ? 32 : 128;
  if ((net & ((1n << BigInt(width - len)) - 1n)) !== 0n) return undefined;
  return { family, net, len };
}

export function covers(i: Indicator, family: 4 | 6, a: bigint): boolean {
  const width = family === 4 ? 32 : 128;
  return i.family === family && (a >> BigInt(width - i.len)) === (i.net >> BigInt(width - i.len));
}

/** The address text as the core looks it up: its family and value (mapped → IPv4). */
export function addressOf(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: v4ToBig(text) };
  if (!isIPv6(text) || text.includes("%")) return undefined;
  const v = v6ToBig(text);
  if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
  return { family: 6, value: v };
}

export function entryOf(set: OracleSet, i: Indicator, atomic: string, field: string): unknown {
  const width = i.family === 4 ? 32 : 128;
  const text = i.family === 4 ? v4Text(i.net) : v6Text(i.net);
  const indicator: Record<string, unknown> = { type: i.family === 4 ? "ipv4-addr" : "ipv6-addr" };
  if (i.len === width) indicator.ip = text;
  indicator.name = i.len === width ? text : `${text}/${i.len}`;
  indicator.provider = set.name;
  if (i.desc) indicator.description = i.desc;
  if (i.confidence) indicator.confidence = i.confidence;
  const matched: Record<string, unknown> = { atomic, field };
  if (i.id) matched.id = i.id;
  matched.type = "indicator_match_rule";
  return { indicator, matched };
}

/** Which indicators cover each address, innermost first, then in set and file order; a
 * prefix repeated within a list set (or within one STIX object) counts once. */
export function expected(sets: OracleSet[], src: string, dst: string): unknown[] {
  const out: unknown[] = [];
  for (const [atomic, field] of [[src, "source.ip"], [dst, "destination.ip"]] as const) {
    const a = addressOf(atomic);
    if (!a) continue;
    const found: { set: OracleSet; si: number; i: Indicator; k: number }[] = [];
    sets.forEach((set, si) => {
      const seen = new Set<string>();
      set.indicators.forEach((i, k) => {
        if (!covers(i, a.family, a.value)) return;
        const key = `${i.family}/${i.net}/${i.len}/${set.stix ? i.id : ""}`;
        if (seen.has(key)) return;
        seen.add(key);
        found.push({ set, si, i, k });
      });
    });
    found.sort((p, q) => q.i.len - p.i.len || p.si - q.si || p.k - q.k);
    for (const f of found) out.push(entryOf(f.set, f.i, atomic, field));
  }
  return out;
}

/** net.BlockList's answer: the sets that cover the address at all. */
export function blockListSets(sets: OracleSet[], text: string): string[] {
  const a = addressOf(text);
  if (!a) return [];
  return sets.filter((set) => {
    const list = new BlockList();
    for (const i of set.indicators) {
      if (i.family !== a.family) continue;
      list.addSubnet(i.family === 4 ? v4Text(i.net) : v6Text(i.net), i.len, i.family === 4 ? "ipv4" : "ipv6");
    }
    return list.check(a.family === 4 ? v4Text(a.value) : v6Text(a.value), a.family === 4 ? "ipv4" : "ipv6");
  }).map((s) => s.name);
}

// ---- Generators ---------------------------------------------------------------------------------

export const V4_BASES = ["0.0.0.0", "10.0.0.0", "10.1.2.3", "10.1.2.255", "10.1.255.255", "192.168.0.1", "255.255.255.255", "198.51.100.7"].map(v4ToBig);
export const V6_BASES = ["::", "::1", "2001:db8::", "2001:db8::1", "2001:db8:0:1::", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"].map(v6ToBig);

export const v4Value = fc.oneof(fc.constantFrom(...V4_BASES), fc.bigInt({ min: 0n, max: 0xffffffffn }),
  fc.tuple(fc.constantFrom(...V4_BASES), fc.integer({ min: -3, max: 3 })).map(([b, d]) => (b + BigInt(d)) & 0xffffffffn));
export const v6Value = fc.oneof(fc.constantFrom(...V6_BASES), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  fc.tuple(fc.constantFrom(...V6_BASES), fc.integer({ min: -3, max: 3 })).map(([b, d]) => (b + BigInt(d)) & ((1n << 128n) - 1n)));

/** An indicator line: IPv4, IPv6 or IPv4-mapped IPv6, exact or a prefix, written in one of the
 * forms the core accepts (a /32 or /128 with or without its length, IPv6 expanded or not). */
export const indicatorText = fc.oneof(
  fc.tuple(v4Value, fc.integer({ min: 0, max: 32 }), fc.boolean()).map(([v, len, bare]) => {
    const net = len === 0 ? 0n : v & (((1n << BigInt(len)) - 1n) << BigInt(32 - len));
    return len === 32 && bare ? v4Text(net) : `${v4Text(net)}/${len}`;
  }),
  fc.tuple(v6Value, fc.integer({ min: 0, max: 128 }), fc.boolean(), fc.boolean()).map(([v, len, bare, expand]) => {
    const net = len === 0 ? 0n : v & (((1n << BigInt(len)) - 1n) << BigInt(128 - len));
    const text = expand ? Array.from({ length: 8 }, (_, i) => ((net >> BigInt(112 - 16 * i)) & 0xffffn).toString(16).toUpperCase().padStart(4, "0")).join(":") : v6Text(net);
    return len === 128 && bare ? text : `${text}/${len}`;
  }),
  fc.tuple(v4Value, fc.integer({ min: 96, max: 128 })).map(([v, len]) => {
    const bits = len - 96;
    const net = bits === 0 ? 0n : v & (((1n << BigInt(bits)) - 1n) << BigInt(32 - bits));
    return `::ffff:${v4Text(net)}/${len}`;
  }),
);

export const addressText = fc.oneof(
  v4Value.map(v4Text),
  v6Value.map(v6Text),
  v4Value.map((v) => `::ffff:${v4Text(v)}`),
  fc.constantFrom("not an address", "", "10.1.2", "010.1.2.3", "2001:db8::1%eth0"),
);

export const setSpec = fc.record({
  lines: fc.array(fc.tuple(indicatorText, fc.option(fc.constantFrom("SBL1", "SBL2 \"quoted\"", "ünïcode"), { nil: undefined })), { minLength: 1, maxLength: 30 }),
});

export function listFile(lines: [string, string | undefined][]): string {
  return lines.map(([t, d]) => (d === undefined ? t : `${t} ; ${d}`)).join("\n") + "\n";
}

export function oracleSet(name: string, lines: [string, string | undefined][]): OracleSet {
  return { name, stix: false, indicators: lines.map(([t, d]) => ({ ...parsePrefix(t)!, desc: d })) };
}

