// STIX 2.1 bundles (what TAXII 2.1 feeds serve), decoded with json-as: the indicator objects
// whose pattern compares ipv4-addr:value / ipv6-addr:value to an address or CIDR, several joined
// by OR. json-as aborts (a trap, which poisons the instance) on text that is not JSON, so the
// bytes are checked first by `jsonError` below, and every member is type-checked by hand before
// json-as decodes it.
import { JSON } from "json-as";
import { firstInvalidUtf8 } from "../../base/utf8";
import { parseIsoTime, parsedMicros } from "../../flow/time";
import { IndicatorSet, CONF_ABSENT, CONF_NONE, CONF_LOW, CONF_MEDIUM, CONF_HIGH } from "./sets";
import { LoadReport, parsePrefix, reason, family, v4, hi, lo, prefixLen } from "./parse";
import { Buf } from "./buf";

const MAX_DEPTH = 64;

// ---- The JSON check ----------------------------------------------------------------------------

let jp: usize = 0;
let jend: usize = 0;

@inline function ws(): void {
  while (jp < jend) {
    const c = load<u8>(jp);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    jp++;
  }
}

function str(): bool {
  jp++; // the opening quote
  while (jp < jend) {
    const c = load<u8>(jp);
    if (c == 0x22) { jp++; return true; }
    if (c < 0x20) return false;
    if (c == 0x5c) {
      jp++;
      if (jp >= jend) return false;
      const e = load<u8>(jp);
      if (e == 0x75) {
        for (let i = 1; i <= 4; i++) {
          if (jp + <usize>i >= jend) return false;
          const h = load<u8>(jp + <usize>i);
          if (!((h >= 0x30 && h <= 0x39) || ((h | 0x20) >= 0x61 && (h | 0x20) <= 0x66))) return false;
        }
        jp += 4;
      } else if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) {
        return false;
      }
    }
    jp++;
  }
  return false;
}

function digits(): i32 {
  let n = 0;
  while (jp < jend && load<u8>(jp) >= 0x30 && load<u8>(jp) <= 0x39) { jp++; n++; }
  return n;
}

function num(): bool {
  if (load<u8>(jp) == 0x2d) jp++;
  if (jp >= jend) return false;
  if (load<u8>(jp) == 0x30) jp++;
  else if (digits() == 0) return false;
  if (jp < jend && load<u8>(jp) == 0x2e) { jp++; if (digits() == 0) return false; }
  if (jp < jend && (load<u8>(jp) | 0x20) == 0x65) {
    jp++;
    if (jp < jend && (load<u8>(jp) == 0x2b || load<u8>(jp) == 0x2d)) jp++;
    if (digits() == 0) return false;
  }
  return true;
}

function word(w: string): bool {
  for (let i = 0; i < w.length; i++) {
    if (jp >= jend || <i32>load<u8>(jp) != w.charCodeAt(i)) return false;
    jp++;
  }
  return true;
}

function value(depth: i32): bool {
  ws();
  if (jp >= jend) return false;
  const c = load<u8>(jp);
  if (c == 0x22) return str();
  if (c == 0x7b || c == 0x5b) {
    if (depth >= MAX_DEPTH) return false;
    const close: u8 = c == 0x7b ? 0x7d : 0x5d;
    jp++;
    ws();
    if (jp < jend && load<u8>(jp) == close) { jp++; return true; }
    while (true) {
      if (c == 0x7b) {
        ws();
        if (jp >= jend || load<u8>(jp) != 0x22 || !str()) return false;
        ws();
        if (jp >= jend || load<u8>(jp) != 0x3a) return false;
        jp++;
      }
      if (!value(depth + 1)) return false;
      ws();
      if (jp >= jend) return false;
      const d = load<u8>(jp);
      jp++;
      if (d == close) return true;
      if (d != 0x2c) return false;
    }
  }
  if (c == 0x74) return word("true");
  if (c == 0x66) return word("false");
  if (c == 0x6e) return word("null");
  return num();
}

/** -1 when [p, p+n) is one JSON value (nested at most 64 deep) in valid UTF-8, else the byte
 * offset where it stops being one. */
export function jsonError(p: usize, n: i32): i32 {
  const bad = firstInvalidUtf8(p, n);
  jp = p;
  jend = p + <usize>n;
  const ok = value(0);
  if (ok) ws();
  const at = ok && jp == jend ? -1 : <i32>(jp - p);
  if (bad >= 0 && (at < 0 || bad < at)) return bad;
  return at;
}

// ---- Patterns ------------------------------------------------------------------------------------

const PATTERN_OK = 0;
const PATTERN_UNSUPPORTED = 1; // another kind of pattern: counted and skipped
const PATTERN_BAD = 2; // ours, but an address that is not one

let pat: string = "";
let pos: i32 = 0;
let patternWhy: string = "";
// The object's prefixes, added only when all of them parsed.
const found = new Buf();
const scratch = new Buf();

function skip(): void {
  while (pos < pat.length) {
    const c = pat.charCodeAt(pos);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    pos++;
  }
}

function take(w: string): bool {
  if (pat.length - pos < w.length || pat.substr(pos, w.length) != w) return false;
  pos += w.length;
  return true;
}

/** `ipv4-addr:value = '…'` (or ISSUBSET, the STIX way to say "in this CIDR"). */
function comparison(): i32 {
  skip();
  let want = 0;
  if (take("ipv4-addr:value")) want = 4;
  else if (take("ipv6-addr:value")) want = 6;
  else return PATTERN_UNSUPPORTED;
  skip();
  if (!take("=") && !take("ISSUBSET")) return PATTERN_UNSUPPORTED;
  skip();
  if (!take("'")) return PATTERN_UNSUPPORTED;
  const from = pos;
  while (pos < pat.length && pat.charCodeAt(pos) != 0x27) pos++;
  if (pos >= pat.length) return PATTERN_UNSUPPORTED;
  const text = pat.substring(from, pos);
  pos++;
  scratch.clear();
  scratch.pushString(text);
  if (!parsePrefix(scratch.ptr, scratch.len)) {
    patternWhy = reason + ": '" + text + "'";
    return PATTERN_BAD;
  }
  // An IPv4-mapped IPv6 value parses as IPv4 and is accepted as either.
  if (want == 4 && family != 4) {
    patternWhy = "ipv4-addr:value holds an IPv6 address: '" + text + "'";
    return PATTERN_BAD;
  }
  found.pushU8(<u8>family);
  found.pushU8(<u8>prefixLen);
  found.pushU64(family == 4 ? <u64>v4 : hi);
  found.pushU64(lo);
  return PATTERN_OK;
}

/** `[cmp OR cmp …] OR [ … ]`, nothing else (no AND, no qualifiers, no other objects). */
function pattern(p: string): i32 {
  pat = p;
  pos = 0;
  found.clear();
  while (true) {
    skip();
    if (!take("[")) return PATTERN_UNSUPPORTED;
    while (true) {
      const r = comparison();
      if (r != PATTERN_OK) return r;
      skip();
      if (take("]")) break;
      if (!take("OR")) return PATTERN_UNSUPPORTED;
    }
    skip();
    if (pos == pat.length) return PATTERN_OK;
    if (!take("OR")) return PATTERN_UNSUPPORTED;
  }
}

// ---- Objects ---------------------------------------------------------------------------------------

@inline function isString(r: JSON.Raw): bool {
  return r.data.length > 0 && r.data.charCodeAt(0) == 0x22;
}

function confidenceOf(v: i32): u8 {
  // STIX 2.1 Appendix A, "None / Low / Med / High": 0, 1-29, 30-69, 70-100.
  if (v == 0) return CONF_NONE;
  if (v < 30) return CONF_LOW;
  if (v < 70) return CONF_MEDIUM;
  return CONF_HIGH;
}

/** Loads the bundle [p, p+n) into `set`; `now` (epoch microseconds) decides what expired. */
export function loadStix(set: IndicatorSet, report: LoadReport, p: usize, n: i32, now: i64): void {
  report.format = "stix";
  set.stix = true;
  const at = jsonError(p, n);
  if (at >= 0) {
    report.error = `not valid JSON at byte ${at}`;
    return;
  }
  const text = String.UTF8.decodeUnsafe(p, <usize>n);
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
  if (i >= text.length || text.charCodeAt(i) != 0x7b) {
    report.error = "not a STIX bundle (not a JSON object)";
    return;
  }
  const bundle = JSON.parse<Map<string, JSON.Raw>>(text);
  if (!bundle.has("type") || bundle.get("type").data != "\"bundle\"") {
    report.error = "not a STIX bundle (no \"type\":\"bundle\")";
    return;
  }
  if (!bundle.has("objects")) {
    report.error = "a STIX bundle without objects";
    return;
  }
  const list = bundle.get("objects").data;
  if (list.length == 0 || list.charCodeAt(0) != 0x5b) {
    report.error = "a STIX bundle whose objects are not an array";
    return;
  }
  const objects = JSON.parse<JSON.Raw[]>(list);
  for (let k = 0; k < objects.length; k++) loadObject(set, report, unchecked(objects[k]).data, k, now);
}

function loadObject(set: IndicatorSet, report: LoadReport, raw: string, k: i32, now: i64): void {
  if (raw.length == 0 || raw.charCodeAt(0) != 0x7b) {
    report.bad("index", k, "not an object", raw);
    return;
  }
  const o = JSON.parse<Map<string, JSON.Raw>>(raw);
  if (!o.has("type") || o.get("type").data != "\"indicator\"") return; // identities, relationships…
  const stringKeys = ["id", "name", "description", "pattern", "pattern_type", "valid_until"];
  for (let i = 0; i < stringKeys.length; i++) {
    const key = unchecked(stringKeys[i]);
    if (o.has(key) && o.get(key).data != "null" && !isString(o.get(key))) {
      report.bad("index", k, key + " is not a string", raw);
      return;
    }
  }
  if (!o.has("pattern") || !isString(o.get("pattern"))) {
    report.bad("index", k, "an indicator without a pattern", raw);
    return;
  }
  if (o.has("revoked") && o.get("revoked").data == "true") {
    report.revoked++;
    return;
  }
  if (!o.has("pattern_type") || !isString(o.get("pattern_type")) || JSON.parse<string>(o.get("pattern_type").data) != "stix") {
    report.unsupported++;
    return;
  }
  if (o.has("valid_until") && isString(o.get("valid_until"))) {
    const until = JSON.parse<string>(o.get("valid_until").data);
    scratch.clear();
    scratch.pushString(until);
    if (!parseIsoTime(scratch.ptr, scratch.len)) {
      report.bad("index", k, "valid_until is not a timestamp", raw);
      return;
    }
    if (parsedMicros <= now) {
      report.expired++;
      return;
    }
  }
  let confidence = CONF_ABSENT;
  if (o.has("confidence") && o.get("confidence").data != "null") {
    const c = o.get("confidence").data;
    let v = 0;
    let ok = c.length > 0 && c.length <= 3;
    for (let i = 0; ok && i < c.length; i++) {
      const d = c.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) ok = false;
      else v = v * 10 + d;
    }
    if (!ok || v > 100 || (c.length > 1 && c.charCodeAt(0) == 0x30)) {
      report.bad("index", k, "confidence is not an integer from 0 to 100", raw);
      return;
    }
    confidence = confidenceOf(v);
  }
  let types = "";
  if (o.has("indicator_types") && o.get("indicator_types").data != "null") {
    const t = o.get("indicator_types").data;
    if (t.charCodeAt(0) != 0x5b) {
      report.bad("index", k, "indicator_types is not a list", raw);
      return;
    }
    const items = JSON.parse<JSON.Raw[]>(t);
    for (let i = 0; i < items.length; i++) {
      if (!isString(unchecked(items[i]))) {
        report.bad("index", k, "indicator_types holds a value that is not a string", raw);
        return;
      }
      types += (types.length > 0 ? ", " : "") + JSON.parse<string>(unchecked(items[i]).data);
    }
  }
  const r = pattern(JSON.parse<string>(o.get("pattern").data));
  if (r == PATTERN_UNSUPPORTED) {
    report.unsupported++;
    return;
  }
  if (r == PATTERN_BAD) {
    report.bad("index", k, patternWhy, raw);
    return;
  }
  const id = o.has("id") && isString(o.get("id")) ? JSON.parse<string>(o.get("id").data) : "";
  const name = o.has("name") && isString(o.get("name")) ? JSON.parse<string>(o.get("name").data) : "";
  const description = o.has("description") && isString(o.get("description")) ? JSON.parse<string>(o.get("description").data) : "";
  // One ECS keyword for what the analyst reads: "<name> (<indicator_types>): <description>".
  let desc = name;
  if (types.length > 0) desc += (desc.length > 0 ? " (" + types + ")" : types);
  if (description.length > 0) desc += (desc.length > 0 ? ": " : "") + description;
  const d = String.UTF8.encode(desc);
  const idBytes = String.UTF8.encode(id);
  const info = set.addInfo(changetype<usize>(d), d.byteLength, changetype<usize>(idBytes), idBytes.byteLength, confidence);
  for (let at = 0; at < found.len; at += 18) {
    const q = found.ptr + <usize>at;
    const fam = load<u8>(q);
    const len = <i32>load<u8>(q, 1);
    if (fam == 4) set.add4(<u32>load<u64>(q, 2), len, info);
    else set.add6(load<u64>(q, 2), load<u64>(q, 10), len, info);
  }
}

