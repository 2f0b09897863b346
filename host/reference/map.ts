// The mapping of DEVELOPERS.md ("The mapping, rule by rule") in plain TypeScript: the entry,
// the input checks, the record and event.id. The rest of the contract sits one file per section,
// in the order DEVELOPERS.md gives it: fields.ts (Which intake, Field values), flow.ts (The tuple,
// Time), sekoia.ts (NSG and VNet output), ecs.ts (the full-ECS profile), json.ts (Error event,
// the serializer, byte-level helpers).
//
// The reference is the oracle the WASM core is checked against and the baseline it is
// benchmarked against, so it is written to be checked against the contract line by line.

import { createHash } from "node:crypto";
import { mapFullEcs } from "./ecs.js";
import { withThreat, type ReferenceIndicators } from "./indicators.js";
import { mapNsg, mapVnet } from "./sekoia.js";
import { isVnet, hasFlowLogVersion, readFields, VNET_KEYS, NSG_KEYS, WHAT_IS_EXPECTED, type Fields } from "./fields.js";
import { parseTime, type Instant } from "./flow.js";
import {
  MAX_RECORD_BYTES, MAX_DEPTH, errorEvent, utf8BoundaryAtOrBefore, firstInvalidUtf8, jsonErrorOffset, unexpected, tooDeepOffset,
  isJsonObject, describeJsonValue, firstLoneSurrogate, topLevelMembers, type Member, type Es2024String, type JsonObjectValue,
} from "./json.js";

/** The options of host/transform/loader.ts's MapOptions that change the output. */
export interface ReferenceOptions {
  eventId?: boolean;
  profile?: "sekoia" | "ecs";
  communityIdSeed?: number;
  /** Loaded indicator sets: a matching event gets threat.enrichments (indicators.ts). */
  indicatorSets?: ReferenceIndicators;
}

/** One entry point: one raw record in, exactly one line of JSON out (no newline). */
export function referenceMap(raw: Uint8Array, options: ReferenceOptions = {}): string {
  return mapRawEvent(raw, true, options);
}

// ─── Input ──────────────────────────────────────────────────────────────────────────────────


// ignoreBOM: a BOM is not JSON whitespace, so it must reach JSON.parse (and `message`) as is.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();


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

  const line = mapAccepted(text, record, fields, time, vnet, options);
  // An error event stays one: the indicators see accepted events only.
  return options.indicatorSets && !line.endsWith(`"kind":"pipeline_error"}}`) ? withThreat(line, options.indicatorSets) : line;
}

function mapAccepted(text: string, record: JsonObjectValue, fields: Fields, time: Instant | undefined, vnet: boolean, options: ReferenceOptions): string {
  // The full-ECS profile (host/reference/ecs.ts) always has the id.
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

