// Indicator sets and their matching (DEVELOPERS.md, "Threat-intel and TOR indicators") in plain
// TypeScript, as the contract words them: the reference the core's enrich/indicators/ is checked
// against. Addresses are BigInts, sets are arrays walked in full for every lookup: slow and
// obviously right.
import { isIPv4 as nodeIsIPv4, isIPv6 as nodeIsIPv6 } from "node:net";
import { parseTime } from "./flow.js";

export interface ReferenceIndicator {
  family: 4 | 6;
  net: bigint;
  len: number;
  description?: string;
  id?: string;
  confidence?: "None" | "Low" | "Medium" | "High";
  /** Which STIX object it came from (a prefix twice in one object is one indicator). */
  object?: number;
}

export interface ReferenceSet {
  name: string;
  stix: boolean;
  indicators: ReferenceIndicator[];
}

export interface ReferenceReport {
  name: string;
  format: "list" | "tor" | "stix";
  loaded: number;
  duplicates: number;
  invalid: number;
  expired: number;
  revoked: number;
  unsupported: number;
  errors: { line?: number; index?: number; reason: string; text: string }[];
  error?: string;
}

const MAX_REPORTED = 5;
const QUOTE_MAX = 80;

// ─── Addresses ─────────────────────────────────────────────────────────────────────────────

const isIPv4 = (s: string): boolean => nodeIsIPv4(s);
const isIPv6 = (s: string): boolean => nodeIsIPv6(s) && !s.includes("%");

export function v4ToBig(s: string): bigint {
  return s.split(".").reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n);
}

export function v6ToBig(s: string): bigint {
  let text = s.toLowerCase();
  let tail: bigint[] = [];
  if (text.includes(".")) {
    const at = text.lastIndexOf(":");
    const q = v4ToBig(text.slice(at + 1));
    tail = [q >> 16n, q & 0xffffn];
    text = text.slice(0, at + 1) + "0:0";
  }
  const groups = (part: string): bigint[] => (part === "" ? [] : part.split(":").map((g) => BigInt(parseInt(g, 16))));
  let all: bigint[];
  if (text.includes("::")) {
    const [head, rest] = text.split("::") as [string, string];
    const h = groups(head), r = groups(rest);
    all = [...h, ...Array<bigint>(8 - h.length - r.length).fill(0n), ...r];
  } else all = groups(text);
  if (tail.length) { all[6] = tail[0]!; all[7] = tail[1]!; }
  return all.reduce((a, g) => (a << 16n) | g, 0n);
}

export function v4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
}

/** RFC 5952: lower case, no leading zeros, the first longest run of two or more zero groups as "::". */
export function v6Text(v: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(":");
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** An indicator's address or CIDR, or the reason it is not one (the core's words). */
export function parsePrefix(text: string): ReferenceIndicator | string {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  let bits: number | undefined;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(digits)) return "bad prefix length";
    if (digits.length > 1 && digits[0] === "0") return "bad prefix length (leading zero)";
    bits = Number(digits);
  }
  let family: 4 | 6, net: bigint, len: number;
  if (isIPv4(addr)) {
    if (bits !== undefined && bits > 32) return "prefix length over 32";
    family = 4; net = v4ToBig(addr); len = bits ?? 32;
  } else if (isIPv6(addr)) {
    if (bits !== undefined && bits > 128) return "prefix length over 128";
    family = 6; net = v6ToBig(addr); len = bits ?? 128;
    if (net >> 32n === 0xffffn && len >= 96) { family = 4; net &= 0xffffffffn; len -= 96; }
  } else return "not an IPv4 or IPv6 address";
  const width = family === 4 ? 32 : 128;
  if ((net & ((1n << BigInt(width - len)) - 1n)) !== 0n) return "host bits set after the prefix length";
  return { family, net, len };
}

/** An event's address as looked up (an IPv4-mapped one is its IPv4 address), or undefined. */
export function eventAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: v4ToBig(text) };
  if (!isIPv6(text)) return undefined;
  const v = v6ToBig(text);
  return v >> 32n === 0xffffn ? { family: 4, value: v & 0xffffffffn } : { family: 6, value: v };
}

function covers(i: ReferenceIndicator, a: { family: 4 | 6; value: bigint }): boolean {
  const shift = BigInt((i.family === 4 ? 32 : 128) - i.len);
  return i.family === a.family && a.value >> shift === i.net >> shift;
}

// ─── Files ─────────────────────────────────────────────────────────────────────────────────

const SPACE = /^[ \t\r\v\f]+|[ \t\r\v\f]+$/g;
const trim = (s: string): string => s.replace(SPACE, "");
const lossy = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Collector {
  readonly report: ReferenceReport;
  readonly set: ReferenceSet;
  constructor(name: string, format: ReferenceReport["format"]) {
    this.report = { name, format, loaded: 0, duplicates: 0, invalid: 0, expired: 0, revoked: 0, unsupported: 0, errors: [] };
    this.set = { name, stix: format === "stix", indicators: [] };
  }
  bad(where: "line" | "index", at: number, reason: string, text: string): void {
    this.report.invalid++;
    if (this.report.errors.length >= MAX_REPORTED) return;
    this.report.errors.push({ [where]: at, reason, text: text.length > QUOTE_MAX ? text.slice(0, QUOTE_MAX) + "…" : text });
  }
}

function listLine(c: Collector, line: string, n: number): void {
  const comment = line.search(/[#;]/);
  const value = trim(comment < 0 ? line : line.slice(0, comment));
  const description = comment >= 0 && line[comment] === ";" ? trim(line.slice(comment + 1)) : "";
  if (value === "") return;
  if (/[ \t\r\v\f]/.test(value)) return c.bad("line", n, "more than one value on the line", line);
  const p = parsePrefix(value);
  if (typeof p === "string") return c.bad("line", n, p, line);
  c.set.indicators.push(description ? { ...p, description } : p);
}

function torLine(c: Collector, line: string, n: number): void {
  const m = /^[ \t\r\v\f]*ExitAddress(?:[ \t\r\v\f]+|$)([^ \t\r\v\f]*)/.exec(line);
  if (!m) return;
  if (m[1] === "") return c.bad("line", n, "no address after ExitAddress", line);
  const p = parsePrefix(m[1]!);
  if (typeof p === "string") return c.bad("line", n, p, line);
  if (p.len !== (p.family === 4 ? 32 : 128)) return c.bad("line", n, "a prefix, not one address", line);
  c.set.indicators.push(p);
}

function lines(text: string): Collector {
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  const first = all.map(trim).find((l) => l !== "" && l[0] !== "#" && l[0] !== ";");
  const tor = first !== undefined && (first.startsWith("ExitNode") || first.startsWith("ExitAddress"));
  const c = new Collector("", tor ? "tor" : "list");
  all.forEach((line, i) => (tor ? torLine : listLine)(c, line, i + 1));
  return c;
}

/** `[cmp OR cmp …] OR [ … ]`, each cmp `ipv4-addr:value` / `ipv6-addr:value`, `=` or
 * `ISSUBSET`, a quoted address: the prefixes, "unsupported", or the reason one is bad. */
function stixPattern(pattern: string): { family: 4 | 6; net: bigint; len: number }[] | "unsupported" | { bad: string } {
  const cmp = /^\s*(ipv4-addr|ipv6-addr):value\s*(?:=|ISSUBSET)\s*'([^']*)'\s*/;
  const out: { family: 4 | 6; net: bigint; len: number }[] = [];
  let rest = pattern;
  for (;;) {
    rest = rest.replace(/^\s*/, "");
    if (!rest.startsWith("[")) return "unsupported";
    rest = rest.slice(1);
    for (;;) {
      const m = cmp.exec(rest);
      if (!m) return "unsupported";
      const p = parsePrefix(m[2]!);
      if (typeof p === "string") return { bad: `${p}: '${m[2]}'` };
      if (m[1] === "ipv4-addr" && p.family !== 4) return { bad: `ipv4-addr:value holds an IPv6 address: '${m[2]}'` };
      out.push(p);
      rest = rest.slice(m[0].length);
      if (rest.startsWith("]")) { rest = rest.slice(1); break; }
      if (!rest.startsWith("OR")) return "unsupported";
      rest = rest.slice(2);
    }
    rest = rest.replace(/^\s*/, "");
    if (rest === "") return out;
    if (!rest.startsWith("OR")) return "unsupported";
    rest = rest.slice(2);
  }
}

function stix(name: string, text: string, nowMicros: number): Collector {
  const c = new Collector(name, "stix");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    c.report.error = "not valid JSON";
    return c;
  }
  const bundle = doc as { type?: unknown; objects?: unknown };
  if (bundle.type !== "bundle") { c.report.error = "not a STIX bundle (no \"type\":\"bundle\")"; return c; }
  if (!("objects" in bundle)) { c.report.error = "a STIX bundle without objects"; return c; }
  if (!Array.isArray(bundle.objects)) { c.report.error = "a STIX bundle whose objects are not an array"; return c; }
  bundle.objects.forEach((o: unknown, k: number) => {
    const raw = JSON.stringify(o);
    if (typeof o !== "object" || o === null || Array.isArray(o)) return c.bad("index", k, "not an object", raw);
    const x = o as Record<string, unknown>;
    if (x.type !== "indicator") return;
    for (const key of ["id", "name", "description", "pattern", "pattern_type", "valid_until"]) {
      if (key in x && x[key] !== null && typeof x[key] !== "string") return c.bad("index", k, `${key} is not a string`, raw);
    }
    if (typeof x.pattern !== "string") return c.bad("index", k, "an indicator without a pattern", raw);
    if (x.revoked === true) { c.report.revoked++; return; }
    if (x.pattern_type !== "stix") { c.report.unsupported++; return; }
    if (typeof x.valid_until === "string") {
      const t = parseTime(x.valid_until);
      if (t === undefined) return c.bad("index", k, "valid_until is not a timestamp", raw);
      if (t.seconds * 1e6 + t.micros <= nowMicros) { c.report.expired++; return; }
    }
    let confidence: ReferenceIndicator["confidence"];
    if ("confidence" in x && x.confidence !== null) {
      const v = x.confidence;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 100) return c.bad("index", k, "confidence is not an integer from 0 to 100", raw);
      confidence = v === 0 ? "None" : v < 30 ? "Low" : v < 70 ? "Medium" : "High";
    }
    let types = "";
    if ("indicator_types" in x && x.indicator_types !== null) {
      if (!Array.isArray(x.indicator_types)) return c.bad("index", k, "indicator_types is not a list", raw);
      if (x.indicator_types.some((t) => typeof t !== "string")) return c.bad("index", k, "indicator_types holds a value that is not a string", raw);
      types = (x.indicator_types as string[]).join(", ");
    }
    const prefixes = stixPattern(x.pattern);
    if (prefixes === "unsupported") { c.report.unsupported++; return; }
    if ("bad" in prefixes) return c.bad("index", k, prefixes.bad, raw);
    const name = typeof x.name === "string" ? x.name : "";
    let description = name;
    if (types) description += description ? ` (${types})` : types;
    if (typeof x.description === "string" && x.description) description += (description ? ": " : "") + x.description;
    for (const p of prefixes) {
      const i: ReferenceIndicator = { ...p, object: k };
      if (description) i.description = description;
      if (typeof x.id === "string" && x.id) i.id = x.id;
      if (confidence) i.confidence = confidence;
      c.set.indicators.push(i);
    }
  });
  return c;
}

/** Reads one set's bytes: the set (without its repeated prefixes) and the report. */
export function parseIndicatorSet(name: string, bytes: Uint8Array, nowMs: number): { set?: ReferenceSet; report: ReferenceReport } {
  const text = lossy.decode(bytes);
  let c: Collector;
  if (/^[ \t\n\r]*\{/.test(text)) {
    // JSON is UTF-8 (RFC 8259): a bundle that is not is not JSON; a list's bad bytes are only
    // text, shown as U+FFFD.
    try {
      strict.decode(bytes);
      c = stix(name, text, nowMs * 1000);
    } catch {
      c = new Collector(name, "stix");
      c.report.error = "not valid JSON";
    }
  } else c = lines(text);
  c.report.name = c.set.name = name;
  // One prefix twice: once in a list set; in a STIX set, once per object.
  const seen = new Set<string>();
  c.set.indicators = c.set.indicators.filter((i) => {
    const key = `${i.family}/${i.net}/${i.len}/${c.set.stix ? i.object : ""}`;
    if (seen.has(key)) { c.report.duplicates++; return false; }
    seen.add(key);
    return true;
  });
  c.report.loaded = c.set.indicators.length;
  if (c.report.error === undefined && c.report.loaded === 0) {
    c.report.error = c.report.invalid > 0 ? "no usable indicator (every entry was invalid)" : "no usable indicator";
  }
  if (c.report.error !== undefined) { c.report.loaded = 0; c.report.duplicates = 0; return { report: c.report }; }
  return { set: c.set, report: c.report };
}

// ─── Matching ─────────────────────────────────────────────────────────────────────────────

export class ReferenceIndicators {
  readonly sets: ReferenceSet[] = [];

  /** Loads a set; one of that name is replaced (the new one goes last) unless this one fails. */
  load(name: string, bytes: Uint8Array, nowMs: number = Date.now()): ReferenceReport {
    const { set, report } = parseIndicatorSet(name, bytes, nowMs);
    if (set) {
      const old = this.sets.findIndex((s) => s.name === name);
      if (old >= 0) this.sets.splice(old, 1);
      this.sets.push(set);
    }
    return report;
  }

  /** The threat.enrichments entries for an event's final source and destination addresses. */
  entries(source: string | undefined, destination: string | undefined): unknown[] {
    const out: unknown[] = [];
    for (const [atomic, field] of [[source, "source.ip"], [destination, "destination.ip"]] as const) {
      const a = atomic === undefined ? undefined : eventAddress(atomic);
      if (!a) continue;
      const found = this.sets.flatMap((set, s) => set.indicators.map((i, k) => ({ set, i, s, k })).filter((f) => covers(f.i, a)));
      found.sort((p, q) => q.i.len - p.i.len || p.s - q.s || p.k - q.k);
      for (const { set, i } of found) out.push(entry(set, i, atomic!, field));
    }
    return out;
  }
}

function entry(set: ReferenceSet, i: ReferenceIndicator, atomic: string, field: string): unknown {
  const one = i.len === (i.family === 4 ? 32 : 128);
  const text = i.family === 4 ? v4Text(i.net) : v6Text(i.net);
  const indicator: Record<string, unknown> = { type: i.family === 4 ? "ipv4-addr" : "ipv6-addr" };
  if (one) indicator.ip = text;
  indicator.name = one ? text : `${text}/${i.len}`;
  indicator.provider = set.name;
  if (i.description) indicator.description = i.description;
  if (i.confidence) indicator.confidence = i.confidence;
  const matched: Record<string, unknown> = { atomic, field };
  if (i.id) matched.id = i.id;
  matched.type = "indicator_match_rule";
  return { indicator, matched };
}

/** An accepted event's line with `threat` as its last member when an indicator matched. */
export function withThreat(line: string, indicators: ReferenceIndicators): string {
  const e = JSON.parse(line) as { source?: { ip?: string }; destination?: { ip?: string } };
  const found = indicators.entries(e.source?.ip, e.destination?.ip);
  return found.length === 0 ? line : `${line.slice(0, -1)},"threat":{"enrichments":${JSON.stringify(found)}}}`;
}
