// Which intake, and the envelope's fields read and checked (DEVELOPERS.md, "Which intake" and
// "Field values"). Imports json.ts only.
// ─── Which intake ───────────────────────────────────────────────────────────────────────────
import { parsePort } from "./flow.js";
import { topLevelMembers, type JsonObjectValue, type Member } from "./json.js";

export function isVnet(record: JsonObjectValue): boolean {
  return hasFlowLogVersion(record) || record["operationName"] === "FlowLogFlowEvent";
}

export function hasFlowLogVersion(record: JsonObjectValue): boolean {
  return Object.hasOwn(record, "flowLogVersion") && record["flowLogVersion"] !== null;
}

// ─── Field values ───────────────────────────────────────────────────────────────────────────

export type StringKey = "macAddress" | "rule" | "operationName" | "flow_state" | "source_addr" | "destination_addr" | "flow.0" | "time";
export type PortKey = "source_port" | "destination_port";
export type MappedKey = StringKey | "version" | PortKey;

/** The envelope as read: every value present here is non-empty and of the documented type. */
export type Fields = { [K in StringKey | "version"]?: string } & { [K in PortKey]?: number };

// VNet reads neither the NSG overrides nor flow_state nor version, so they cannot be invalid there.
export const VNET_KEYS: readonly MappedKey[] = ["macAddress", "rule", "operationName", "flow.0", "time"];
export const NSG_KEYS: readonly MappedKey[] = [...VNET_KEYS, "flow_state", "source_addr", "destination_addr", "version", "source_port", "destination_port"];

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

export const WHAT_IS_EXPECTED: Record<MappedKey, string> = {
  macAddress: "a string or null", rule: "a string or null", operationName: "a string or null",
  flow_state: "a string or null", source_addr: "a string or null", destination_addr: "a string or null",
  "flow.0": "a string or null", time: "a string or null",
  version: "a string, an integer written with digits only, or null",
  source_port: "an integer 0-65535, a string of 1-5 digits up to 65535, \"\" or null",
  destination_port: "an integer 0-65535, a string of 1-5 digits up to 65535, \"\" or null",
};

/** Reads the mapped keys; on failure, names the offending key that comes first in the record
 * (by the position of the occurrence that wins, since the last duplicate wins). */
export function readFields(text: string, record: JsonObjectValue, keys: readonly MappedKey[]): Fields | { invalid: MappedKey } {
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

