// The reference's bottom layer: error events, the output serializer, and byte-level helpers
// (UTF-8 and JSON error offsets). Imports nothing of the reference's.

export const MAX_RECORD_BYTES = 65536;
export const MAX_DEPTH = 64;
export type JsonObjectValue = { [key: string]: unknown };
// In Node 20, not in the ES2022 lib this project compiles against.
export type Es2024String = string & { isWellFormed(): boolean; toWellFormed(): string };
// ─── Error event ────────────────────────────────────────────────────────────────────────────

export type ErrorType = "too_large" | "invalid_utf8" | "invalid_json" | "too_deep" | "not_an_object"
  | "invalid_field" | "invalid_time" | "no_timestamp";

export function errorEvent(message: string, type: ErrorType, what: string): string {
  return serialize({ message, error: { type, message: what }, event: { kind: "pipeline_error" } });
}

/** What stops the JSON at `at`: the end, a printable character, or another byte in hex. */
export function unexpected(raw: Uint8Array, at: number): string {
  if (at >= raw.length) return "unexpected end of input";
  const c = raw[at]!;
  return c >= 0x20 && c < 0x7f
    ? `unexpected character '${String.fromCharCode(c)}'`
    : `unexpected byte 0x${c.toString(16).padStart(2, "0")}`;
}

export function describeJsonValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

export function isJsonObject(v: unknown): v is JsonObjectValue {
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
export function utf8BoundaryAtOrBefore(b: Uint8Array, limit: number): number {
  for (let start = limit - 1; start >= Math.max(0, limit - 3); start--) {
    const c = b[start]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return start + length > limit ? start : limit;
  }
  return limit; // no lead byte close enough: these bytes are not UTF-8 anyway
}

export function firstLoneSurrogate(s: string): number {
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

