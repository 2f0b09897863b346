// The tuple (`flow.0`) and time, parsed as DEVELOPERS.md says ("The tuple", "Time"). Imports nothing
// of the reference's.
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

