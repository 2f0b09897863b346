// The mapping of DEVELOPERS.md ("The mapping, rule by rule") in plain TypeScript.
//
// This file is the oracle the WASM core is checked against and the baseline it is benchmarked
// against, so it is written to be checked against the contract line by line, top to bottom:
// Input, Which intake, Field values, The tuple, Time, NSG output, VNet output, Error event.
// The byte-level helpers it needs (UTF-8 and JSON error offsets, the output serializer) come
// after the mapping.

import { createHash } from "node:crypto";
import { mapFullEcs } from "./reference-ecs.js";

/** The options of host/loader.ts's MapOptions that change the output. */
export interface ReferenceOptions {
  eventId?: boolean;
  profile?: "sekoia" | "ecs";
  communityIdSeed?: number;
}

/** One entry point: one raw record in, exactly one line of JSON out (no newline). */
export function referenceMap(raw: Uint8Array, options: ReferenceOptions = {}): string {
  return mapRawEvent(raw, true, options);
}

// ─── Input ──────────────────────────────────────────────────────────────────────────────────

export const MAX_RECORD_BYTES = 65536;
export const MAX_DEPTH = 64;

// ignoreBOM: a BOM is not JSON whitespace, so it must reach JSON.parse (and `message`) as is.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export type JsonObjectValue = { [key: string]: unknown };
// In Node 20, not in the ES2022 lib this project compiles against.
type Es2024String = string & { isWellFormed(): boolean; toWellFormed(): string };

/** The error precedence is the order of the checks below; `mayBeWrapper` is false for the
 * inner event of a wrapper, which is unwrapped once and only once. */
function mapRawEvent(raw: Uint8Array, mayBeWrapper: boolean, options: ReferenceOptions): string {
  if (raw.length > MAX_RECORD_BYTES) {
    const kept = raw.subarray(0, utf8BoundaryAtOrBefore(raw, MAX_RECORD_BYTES));
    return errorEvent(lossyUtf8.decode(kept), "too_large",
      `record is ${raw.length} bytes, over the limit of ${MAX_RECORD_BYTES}; message holds its first ${kept.length} bytes`);
  }

  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    return errorEvent(lossyUtf8.decode(raw), "invalid_utf8", `invalid UTF-8 at byte ${firstInvalidUtf8(raw)}`);
  }

  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    const at = jsonErrorOffset(raw);
    return errorEvent(text, "invalid_json", `invalid JSON at byte ${at}: ${unexpected(raw, at)}`);
  }

  const deepAt = tooDeepOffset(raw);
  if (deepAt >= 0) {
    return errorEvent(text, "too_deep", `nesting deeper than ${MAX_DEPTH} levels at byte ${deepAt}`);
  }

  if (!isJsonObject(record)) {
    return errorEvent(text, "not_an_object", `the record is ${describeJsonValue(record)}, not an object`);
  }

  if (mayBeWrapper) {
    const inner = wrappedEvent(record);
    if (inner !== undefined) {
      // A string from JSON can hold a lone surrogate (from a \uD800 escape): such a string has
      // no UTF-8 form, so as a raw event it is invalid UTF-8. `message` keeps it as is (JSON
      // writes it back as the \ud800 escape the collector sent).
      if (!(inner as Es2024String).isWellFormed()) {
        const at = utf8Encoder.encode(inner.slice(0, firstLoneSurrogate(inner))).length;
        return errorEvent(inner, "invalid_utf8",
          `invalid UTF-8 (a lone surrogate) at byte ${at} of the wrapped event`);
      }
      return mapRawEvent(utf8Encoder.encode(inner), false, options);
    }
  }

  return mapRecord(text, record, options);
}

/** The wrapper rule: no `flow.0` and no `operationName` (absent in the sense of every string
 * field: missing, null or ""), no `flowLogVersion` (in the sense of the intake rule: missing or
 * null), and `message` (else `log`) a string whose first non-whitespace character is `{`. */
function wrappedEvent(record: JsonObjectValue): string | undefined {
  const absent = (key: string) => !Object.hasOwn(record, key) || record[key] === null || record[key] === "";
  if (!absent("flow.0") || !absent("operationName") || hasFlowLogVersion(record)) return undefined;
  // "Failing that" read as: when message is not such a string, whatever it is instead.
  for (const key of ["message", "log"]) {
    const value = record[key];
    if (typeof value === "string" && /^[ \t\n\r]*\{/.test(value)) return value;
  }
  return undefined;
}

// ─── Which intake ───────────────────────────────────────────────────────────────────────────

function isVnet(record: JsonObjectValue): boolean {
  return hasFlowLogVersion(record) || record["operationName"] === "FlowLogFlowEvent";
}

function hasFlowLogVersion(record: JsonObjectValue): boolean {
  return Object.hasOwn(record, "flowLogVersion") && record["flowLogVersion"] !== null;
}

// ─── Field values ───────────────────────────────────────────────────────────────────────────

type StringKey = "macAddress" | "rule" | "operationName" | "flow_state" | "source_addr" | "destination_addr" | "flow.0" | "time";
type PortKey = "source_port" | "destination_port";
type MappedKey = StringKey | "version" | PortKey;

/** The envelope as read: every value present here is non-empty and of the documented type. */
export type Fields = { [K in StringKey | "version"]?: string } & { [K in PortKey]?: number };

// VNet reads neither the NSG overrides nor flow_state nor version, so they cannot be invalid there.
const VNET_KEYS: readonly MappedKey[] = ["macAddress", "rule", "operationName", "flow.0", "time"];
const NSG_KEYS: readonly MappedKey[] = [...VNET_KEYS, "flow_state", "source_addr", "destination_addr", "version", "source_port", "destination_port"];

const INVALID = Symbol("invalid");
type Read<T> = T | undefined | typeof INVALID;

function readString(value: unknown): Read<string> {
  if (value === null || value === "") return undefined;
  return typeof value === "string" ? value : INVALID;
}

// JSON.parse turns `2.0` and `2e0` into the same number as `2`; the digits-only rule is about
// how the number is written, hence the raw token.
function readVersion(value: unknown, token: () => string): Read<string> {
  if (typeof value === "number") return /^[0-9]+$/.test(token()) ? token() : INVALID;
  return readString(value);
}

function readPortOverride(value: unknown, token: () => string): Read<number> {
  if (value === null || value === "") return undefined;
  if (typeof value === "number") return /^[0-9]+$/.test(token()) && value <= 65535 ? value : INVALID;
  if (typeof value === "string") return parsePort(value) ?? INVALID;
  return INVALID;
}

const WHAT_IS_EXPECTED: Record<MappedKey, string> = {
  macAddress: "a string or null", rule: "a string or null", operationName: "a string or null",
  flow_state: "a string or null", source_addr: "a string or null", destination_addr: "a string or null",
  "flow.0": "a string or null", time: "a string or null",
  version: "a string, an integer written with digits only, or null",
  source_port: "an integer 0-65535, a string of 1-5 digits up to 65535, \"\" or null",
  destination_port: "an integer 0-65535, a string of 1-5 digits up to 65535, \"\" or null",
};

/** Reads the mapped keys; on failure, names the offending key that comes first in the record
 * (by the position of the occurrence that wins, since the last duplicate wins). */
function readFields(text: string, record: JsonObjectValue, keys: readonly MappedKey[]): Fields | { invalid: MappedKey } {
  const fields: Record<string, string | number> = {};
  const offending: MappedKey[] = [];
  // Only a number value or an error needs the text again.
  let scanned: Map<string, Member> | undefined;
  const members = () => (scanned ??= topLevelMembers(text));
  for (const key of keys) {
    if (!Object.hasOwn(record, key)) continue;
    const value = record[key];
    const token = () => members().get(key)!.token;
    const read = key === "version" ? readVersion(value, token)
      : key === "source_port" || key === "destination_port" ? readPortOverride(value, token)
        : readString(value);
    if (read === INVALID) offending.push(key);
    else if (read !== undefined) fields[key] = read;
  }
  if (offending.length > 0) {
    offending.sort((a, b) => members().get(a)!.index - members().get(b)!.index);
    return { invalid: offending[0]! };
  }
  return fields as Fields;
}

// ─── The tuple (flow.0) ─────────────────────────────────────────────────────────────────────

export interface NsgTuple {
  epochSeconds: string;
  sourceIp: string; destinationIp: string;
  sourcePort: number; destinationPort: number;
  protocol: "T" | "U";
  direction: "I" | "O";
  decision: "A" | "D";
  state?: "B" | "C" | "E";
  // Counters are canonical digit strings (they go up to 2^64-1, past what a double holds).
  sourcePackets?: string; sourceBytes?: string; destinationPackets?: string; destinationBytes?: string;
}

export interface VnetTuple {
  epochMilliseconds: number;
  sourceIp: string; destinationIp: string;
  sourcePort: number; destinationPort: number;
  protocol: string;
  direction: "I" | "O";
  state: "B" | "C" | "E" | "D";
  encryption: string;
  sourcePackets?: string; sourceBytes?: string; destinationPackets?: string; destinationBytes?: string;
}

const EPOCH = /^[0-9]{1,19}$/;
const TWO_TO_THE_64 = 2n ** 64n;
const LAST_MILLISECOND = 253402300799999n; // 9999-12-31T23:59:59.999Z

/** undefined: the tuple is not the documented shape. */
export function parseNsgTuple(tuple: string): NsgTuple | undefined {
  const f = tuple.split(",");
  if (f.length !== 8 && f.length !== 13) return undefined;
  const [epoch, srcIp, dstIp, srcPort, dstPort, proto, dir, decision] = f;
  const state = f[8] ?? "";
  const counters = f.slice(9);
  const sourcePort = parsePort(srcPort);
  const destinationPort = parsePort(dstPort);
  if (!EPOCH.test(epoch) || !isIp(srcIp) || !isIp(dstIp) || sourcePort === undefined || destinationPort === undefined) return undefined;
  if ((proto !== "T" && proto !== "U") || (dir !== "I" && dir !== "O") || (decision !== "A" && decision !== "D")) return undefined;
  if (state !== "" && state !== "B" && state !== "C" && state !== "E") return undefined;
  if (!counters.every(isCounter)) return undefined;
  return {
    epochSeconds: epoch,
    sourceIp: srcIp, destinationIp: dstIp, sourcePort, destinationPort,
    protocol: proto, direction: dir, decision,
    state: state === "" ? undefined : state,
    sourcePackets: counterValue(counters[0]), sourceBytes: counterValue(counters[1]),
    destinationPackets: counterValue(counters[2]), destinationBytes: counterValue(counters[3]),
  };
}

/** undefined: the tuple is not the documented shape (an epoch after 9999-12-31 included). */
export function parseVnetTuple(tuple: string): VnetTuple | undefined {
  const f = tuple.split(",");
  if (f.length !== 13) return undefined;
  const [epochMs, srcIp, dstIp, srcPort, dstPort, proto, dir, state, encryption, ...counters] = f;
  const sourcePort = parsePort(srcPort);
  const destinationPort = parsePort(dstPort);
  if (!EPOCH.test(epochMs) || BigInt(epochMs) > LAST_MILLISECOND) return undefined;
  if (!isIp(srcIp) || !isIp(dstIp) || sourcePort === undefined || destinationPort === undefined) return undefined;
  if (!/^[0-9]{1,3}$/.test(proto) || (dir !== "I" && dir !== "O")) return undefined;
  if (state !== "B" && state !== "C" && state !== "E" && state !== "D") return undefined;
  if (encryption === "" || !counters.every(isCounter)) return undefined;
  return {
    epochMilliseconds: Number(epochMs),
    sourceIp: srcIp, destinationIp: dstIp, sourcePort, destinationPort,
    protocol: proto, direction: dir, state, encryption,
    sourcePackets: counterValue(counters[0]), sourceBytes: counterValue(counters[1]),
    destinationPackets: counterValue(counters[2]), destinationBytes: counterValue(counters[3]),
  };
}

/** 1-5 digits (leading zeros allowed), value at most 65535. */
export function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const port = Number(s);
  return port <= 65535 ? port : undefined;
}

function isCounter(s: string): boolean {
  return s === "" || (/^[0-9]{1,20}$/.test(s) && BigInt(s) < TWO_TO_THE_64);
}

/** "" → absent; otherwise the value without leading zeros ("000" → "0"). */
function counterValue(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : BigInt(s).toString();
}

export function isIp(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/** Dotted quad, each part 0-255 without leading zeros (as Node's net.isIPv4). */
export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** RFC 4291 text form: 1-4 hex digit groups, at most one `::` (standing for at least one zero
 * group), an optional dotted quad in place of the last two groups, no zone id. */
export function isIPv6(s: string): boolean {
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const compressed = halves.length === 2;
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
  // The dotted quad can only be the very last thing in the address, never before a `::`.
  const endsWithGroup = !compressed || halves[1] !== "";
  let width = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (/^[0-9A-Fa-f]{1,4}$/.test(g)) width += 1;
    else if (endsWithGroup && i === groups.length - 1 && isIPv4(g)) width += 2;
    else return false; // includes "" from a stray single colon, and zone ids
  }
  return compressed ? width <= 7 : width === 8;
}

// ─── Time ───────────────────────────────────────────────────────────────────────────────────

/** A UTC instant: whole seconds since 1970-01-01T00:00:00Z and microseconds (0-999999). */
export interface Instant {
  seconds: number;
  micros: number;
}

const FIRST_SECOND = daysFromCivil(1, 1, 1) * 86400; // 0001-01-01T00:00:00Z
const LAST_SECOND = daysFromCivil(9999, 12, 31) * 86400 + 86399; // 9999-12-31T23:59:59Z

const TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?$/;

/** `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM|±HHMM]` (offsets up to ±23:59); undefined when it
 * does not parse, names a date that does not exist, or lands outside years 0001-9999 once
 * converted to UTC. */
export function parseTime(s: string): Instant | undefined {
  const m = TIME.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Year 0000 does not exist (as for Python's datetime), even where the offset would move the
  // instant into year 0001.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetSeconds = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    offsetSeconds = (m[9] === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  if (seconds < FIRST_SECOND || seconds > LAST_SECOND) return undefined;
  // Truncated, never rounded: .9999999 must stay in the same second.
  const micros = Number((m[7] ?? "").slice(0, 6).padEnd(6, "0"));
  return { seconds, micros };
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; a zero fraction is not written (as Python's isoformat). */
export function formatTime(t: Instant): string {
  const days = Math.floor(t.seconds / 86400);
  const secondOfDay = t.seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const date = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
  const clock = `${pad(Math.floor(secondOfDay / 3600), 2)}:${pad(Math.floor(secondOfDay / 60) % 60, 2)}:${pad(secondOfDay % 60, 2)}`;
  return `${date}T${clock}${t.micros === 0 ? "" : "." + pad(t.micros, 6)}Z`;
}

/** NSG tuple epoch (seconds, 1-19 digits); undefined past 9999-12-31T23:59:59Z. */
export function instantFromEpochSeconds(digits: string): Instant | undefined {
  const seconds = BigInt(digits);
  return seconds > BigInt(LAST_SECOND) ? undefined : { seconds: Number(seconds), micros: 0 };
}

/** VNet tuple epoch (milliseconds; already range-checked by parseVnetTuple). */
export function instantFromEpochMilliseconds(ms: number): Instant {
  return { seconds: Math.floor(ms / 1000), micros: (ms % 1000) * 1000 };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

// Proleptic Gregorian day numbers (days since 1970-01-01), after Howard Hinnant's
// "chrono-compatible low-level date algorithms"; exact for every year the contract allows.
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yearOfEra = yy - era * 400;
  const dayOfYear = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const d = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yearOfEra + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

// ─── The record: fields, time, then the intake's output ─────────────────────────────────────

function mapRecord(text: string, record: JsonObjectValue, options: ReferenceOptions): string {
  const vnet = isVnet(record);
  const fields = readFields(text, record, vnet ? VNET_KEYS : NSG_KEYS);
  if ("invalid" in fields) {
    return errorEvent(text, "invalid_field", `field ${JSON.stringify(fields.invalid)} must be ${WHAT_IS_EXPECTED[fields.invalid]}`);
  }

  // Checked in both intakes, even where the tuple's epoch is what ends up in @timestamp.
  let time: Instant | undefined;
  if (fields.time !== undefined) {
    time = parseTime(fields.time);
    if (time === undefined) return errorEvent(text, "invalid_time", `cannot parse time "${fields.time}"`);
  }

  // The full-ECS profile (host/reference-ecs.ts) always has the id.
  if (options.profile === "ecs") {
    return mapFullEcs({ message: text, record, fields, time, vnet, id: eventId(text, record), seed: options.communityIdSeed ?? 0 });
  }
  const id = options.eventId ? eventId(text, record) : undefined;
  return vnet ? mapVnet(text, fields, time, id) : mapNsg(text, fields, time, id);
}

// ─── event.id ───────────────────────────────────────────────────────────────────────────────

const EVENT_ID_KEYS = [
  "resourceId", "flowLogResourceID", "targetResourceID", "flowLogGUID", "macAddress", "time", "aclID", "rule", "flow.0",
];

/** SHA-1 of the identifying fields (DEVELOPERS.md, "event.id"), in lowercase hex. */
function eventId(text: string, record: JsonObjectValue): string {
  const hash = createHash("sha1");
  let members: Map<string, Member> | undefined;
  for (const key of EVENT_ID_KEYS) {
    const value = record[key];
    if (!Object.hasOwn(record, key) || value === null) {
      hash.update(Uint8Array.of(0));
      continue;
    }
    const bytes = typeof value === "string" ? wtf8(value) : utf8Encoder.encode((members ??= topLevelMembers(text)).get(key)!.token);
    const header = Buffer.alloc(5);
    header[0] = typeof value === "string" ? 1 : 2;
    header.writeUInt32BE(bytes.length, 1);
    hash.update(header).update(bytes);
  }
  return hash.digest("hex");
}

/** UTF-8, where a lone surrogate (which a \uD800 escape can make) takes its 3-byte form, as
 * the core decodes it, instead of U+FFFD. */
function wtf8(s: string): Uint8Array {
  if ((s as Es2024String).isWellFormed()) return utf8Encoder.encode(s);
  const bytes: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else bytes.push(...utf8Encoder.encode(ch));
  }
  return Uint8Array.from(bytes);
}

// ─── NSG output ─────────────────────────────────────────────────────────────────────────────

export const NSG_FLOW_STATE = { B: "begin", C: "continue", E: "end" } as const;
const NSG_DECISION = { A: "accept", D: "reject" } as const;
const NSG_EVENT_TYPE = { A: "allowed", D: "denied" } as const;
const TRANSPORT = { T: "tcp", U: "udp" } as const;
export const DIRECTION = { I: "inbound", O: "outbound" } as const;

export const NO_TIMESTAMP_NSG = "no \"time\" and no epoch from a documented \"flow.0\" tuple";
export const NO_TIMESTAMP_VNET = "no epoch from a documented \"flow.0\" tuple and no \"time\"";

function mapNsg(message: string, f: Fields, time: Instant | undefined, id: string | undefined): string {
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

function mapVnet(message: string, f: Fields, time: Instant | undefined, id: string | undefined): string {
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

// ─── Error event ────────────────────────────────────────────────────────────────────────────

export type ErrorType = "too_large" | "invalid_utf8" | "invalid_json" | "too_deep" | "not_an_object"
  | "invalid_field" | "invalid_time" | "no_timestamp";

export function errorEvent(message: string, type: ErrorType, what: string): string {
  return serialize({ message, error: { type, message: what }, event: { kind: "pipeline_error" } });
}

/** What stops the JSON at `at`: the end, a printable character, or another byte in hex. */
function unexpected(raw: Uint8Array, at: number): string {
  if (at >= raw.length) return "unexpected end of input";
  const c = raw[at]!;
  return c >= 0x20 && c < 0x7f
    ? `unexpected character '${String.fromCharCode(c)}'`
    : `unexpected byte 0x${c.toString(16).padStart(2, "0")}`;
}

function describeJsonValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

function isJsonObject(v: unknown): v is JsonObjectValue {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ─── Output serializer ──────────────────────────────────────────────────────────────────────
// JSON.stringify cannot write a number beyond 2^53 exactly (Node 20 has no JSON.rawJSON), so
// numbers travel as their digits. Absent (undefined) members are skipped, and an object or a
// list left empty is skipped too: absent inputs give absent outputs, never null or {}.

export class JsonNumber {
  constructor(readonly digits: string) {}
}

export type OutValue = string | JsonNumber | OutValue[] | OutObject | undefined;
export interface OutObject { [key: string]: OutValue }

export function portNumber(port: number | undefined): JsonNumber | undefined {
  return port === undefined ? undefined : new JsonNumber(String(port));
}

export function counterNumber(digits: string | undefined): JsonNumber | undefined {
  return digits === undefined ? undefined : new JsonNumber(digits);
}

export function serialize(v: OutObject): string {
  return serializeValue(v) ?? "{}";
}

function serializeValue(v: OutValue): string | undefined {
  if (v === undefined) return undefined;
  // JSON.stringify escapes exactly as the contract says, lone surrogates as lowercase \udxxx.
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof JsonNumber) return v.digits;
  if (Array.isArray(v)) {
    const items = v.map(serializeValue).filter((s): s is string => s !== undefined);
    return items.length > 0 ? `[${items.join(",")}]` : undefined;
  }
  const members: string[] = [];
  for (const [key, value] of Object.entries(v)) {
    const s = serializeValue(value);
    if (s !== undefined) members.push(`${JSON.stringify(key)}:${s}`);
  }
  return members.length > 0 ? `{${members.join(",")}}` : undefined;
}

// ─── Byte-level helpers ─────────────────────────────────────────────────────────────────────
// TextDecoder and JSON.parse decide whether a record is valid; these only say where it is not,
// as byte offsets into the record, and find the raw text of top-level members.

/** Offset of the first byte of the first ill-formed sequence (WHATWG / RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF, no truncated sequence), or -1 if all is valid. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let continuation: number;
    let lo = 0x80, hi = 0xbf; // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) continuation = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      continuation = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      else if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      continuation = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      else if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    if (i + continuation >= b.length) return i;
    if (b[i + 1]! < lo || b[i + 1]! > hi) return i;
    for (let k = 2; k <= continuation; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += continuation + 1;
  }
  return -1;
}

/** `limit`, or the start of the character that `limit` would cut in two. */
function utf8BoundaryAtOrBefore(b: Uint8Array, limit: number): number {
  for (let start = limit - 1; start >= Math.max(0, limit - 3); start--) {
    const c = b[start]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return start + length > limit ? start : limit;
  }
  return limit; // no lead byte close enough: these bytes are not UTF-8 anyway
}

function firstLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) { i++; continue; }
    }
    if (c >= 0xd800 && c <= 0xdfff) return i;
  }
  return -1;
}

/** Where a text JSON.parse rejected stops being JSON: the length of its longest prefix that is
 * still the start of some valid JSON text (so the input length for a truncated text). The input
 * is valid UTF-8, so any byte >= 0x80 is string content or an error. */
export function jsonErrorOffset(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  const open: number[] = []; // the `{` / `[` still open
  type Expect = "value" | "valueOrEnd" | "key" | "keyOrEnd" | "afterValue";
  let expect: Expect = "value";
  const skipWhitespace = () => { while (i < n && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++; };
  const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
  const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

  // Each returns -1 after consuming its token, or the offset of the error.
  const string = (): number => {
    i++; // the opening quote
    for (;;) {
      if (i >= n) return n;
      const c = b[i]!;
      if (c === 0x22) { i++; return -1; }
      if (c < 0x20) return i;
      if (c !== 0x5c) { i++; continue; }
      i++;
      if (i >= n) return n;
      const e = b[i]!;
      if (e === 0x75) {
        i++;
        for (let k = 0; k < 4; k++, i++) {
          if (i >= n) return n;
          if (!isHex(b[i]!)) return i;
        }
      } else if ([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(e)) i++;
      else return i;
    }
  };
  const digits = (): number => {
    if (i >= n) return n;
    if (!isDigit(b[i])) return i;
    while (isDigit(b[i])) i++;
    return -1;
  };
  const number = (): number => {
    if (b[i] === 0x2d) i++;
    if (i >= n) return n;
    if (b[i] === 0x30) i++;
    else { const e = digits(); if (e >= 0) return e; }
    if (b[i] === 0x2e) { i++; const e = digits(); if (e >= 0) return e; }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      const e = digits(); if (e >= 0) return e;
    }
    return -1;
  };
  const literal = (word: string): number => {
    for (let k = 0; k < word.length; k++, i++) {
      if (i >= n) return n;
      if (b[i] !== word.charCodeAt(k)) return i;
    }
    return -1;
  };

  for (;;) {
    skipWhitespace();
    if (expect === "afterValue" && open.length === 0) return i < n ? i : n; // n: JSON.parse disagreed
    if (i >= n) return n;
    const c = b[i]!;
    let err = -1;
    switch (expect) {
      case "valueOrEnd":
        if (c === 0x5d) { open.pop(); i++; expect = "afterValue"; continue; }
      // falls through
      case "value":
        if (c === 0x7b) { open.push(c); i++; expect = "keyOrEnd"; continue; }
        if (c === 0x5b) { open.push(c); i++; expect = "valueOrEnd"; continue; }
        if (c === 0x22) err = string();
        else if (c === 0x2d || isDigit(c)) err = number();
        else if (c === 0x74) err = literal("true");
        else if (c === 0x66) err = literal("false");
        else if (c === 0x6e) err = literal("null");
        else return i;
        if (err >= 0) return err;
        expect = "afterValue";
        continue;
      case "keyOrEnd":
        if (c === 0x7d) { open.pop(); i++; expect = "afterValue"; continue; }
      // falls through
      case "key":
        if (c !== 0x22) return i;
        err = string();
        if (err >= 0) return err;
        skipWhitespace();
        if (i >= n) return n;
        if (b[i] !== 0x3a) return i;
        i++;
        expect = "value";
        continue;
      case "afterValue": {
        const container = open[open.length - 1];
        if (c === 0x2c) { i++; expect = container === 0x7b ? "key" : "value"; continue; }
        if ((container === 0x7b && c === 0x7d) || (container === 0x5b && c === 0x5d)) { open.pop(); i++; continue; }
        return i;
      }
    }
  }
}

/** Offset of the `{` or `[` that opens level MAX_DEPTH + 1 (the top level is 1), or -1. Only
 * called on valid JSON, where `"`, `\`, brackets are ASCII and never inside a multi-byte character. */
export function tooDeepOffset(b: Uint8Array): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

export interface Member {
  index: number; // position among the top-level members, of the occurrence that wins
  token: string; // its value as written
}

/** The top-level members of a text JSON.parse accepted as an object, keys unescaped. */
export function topLevelMembers(text: string): Map<string, Member> {
  const members = new Map<string, Member>();
  let i = skipJsonWhitespace(text, 0) + 1; // past `{`
  for (let index = 0; ; index++) {
    i = skipJsonWhitespace(text, i);
    if (text[i] === "}") return members;
    const keyEnd = endOfJsonValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipJsonWhitespace(text, skipJsonWhitespace(text, keyEnd) + 1); // past `:`
    const valueEnd = endOfJsonValue(text, valueStart);
    members.set(key, { index, token: text.slice(valueStart, valueEnd) });
    i = skipJsonWhitespace(text, valueEnd);
    if (text[i] === ",") i++;
  }
}

function skipJsonWhitespace(text: string, i: number): number {
  while (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r") i++;
  return i;
}

/** End (exclusive) of the valid JSON value starting at `i`. */
function endOfJsonValue(text: string, i: number): number {
  let depth = 0;
  let inString = false;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (inString) {
      if (c === "\\") j++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return j + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) return j; // a scalar ended by its container's close
      if (--depth === 0) return j + 1;
    } else if (depth === 0 && (c === "," || c === " " || c === "\t" || c === "\n" || c === "\r")) return j;
  }
  return text.length;
}
