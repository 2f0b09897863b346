// Loading one indicator set: load(name, bytes) in pieces (beginLoad, feedLoad…, endLoad),
// the format told apart by content, and a report. The same calls serve every runtime: the
// batch ABI hands it files the host read, and a settings file or a reload (not yet written)
// will hand it the bytes of a feed file; `generation` (sets.ts) says when the sets changed.
//
// Lists and Tor's exit-addresses are parsed line by line as the bytes arrive (only a partial
// line is kept between pieces), so a million-line feed never sits whole in linear memory; a
// STIX bundle is one JSON document and is kept until the end.
import { IndicatorSet, sets, findSet, totalIndicators, bumpGeneration, generation, MAX_INDICATORS } from "./sets";
import { LoadReport, listLine, torLine, formatOfLine, quote, FORMAT_UNKNOWN, FORMAT_LIST, FORMAT_TOR } from "./parse";
import { loadStix } from "./stix";
import { buildTable } from "./table";
import { Buf } from "./buf";

let set: IndicatorSet | null = null;
let report = new LoadReport();
let format = FORMAT_UNKNOWN;
let stixDoc = false;
let decided = false;
let line = 0;
const carry = new Buf();

/** Starts loading the set `name` (which replaces a set of that name once it loaded well). */
export function beginLoad(name: string): void {
  if (set !== null) changetype<IndicatorSet>(set).free();
  set = new IndicatorSet(name);
  report = new LoadReport();
  format = FORMAT_UNKNOWN;
  stixDoc = false;
  decided = false;
  line = 0;
  carry.clear();
}

function oneLine(s: IndicatorSet, p: usize, n: i32): void {
  line++;
  if (format == FORMAT_UNKNOWN) format = formatOfLine(p, n);
  if (format == FORMAT_TOR) torLine(s, report, p, n, line);
  else listLine(s, report, p, n, line);
}

/** The next piece of the file's bytes. */
export function feedLoad(p: usize, n: i32): void {
  if (set === null) return;
  const s = changetype<IndicatorSet>(set);
  if (!decided) {
    // The first byte that is not white space tells a JSON document from lines.
    let i = 0;
    while (i < n) {
      const c = load<u8>(p + <usize>i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      i++;
    }
    if (i < n) {
      decided = true;
      stixDoc = load<u8>(p + <usize>i) == 0x7b;
    }
  }
  if (stixDoc || !decided) {
    carry.pushBytes(p, n);
    return;
  }
  let from = 0;
  for (let i = 0; i < n; i++) {
    if (load<u8>(p + <usize>i) != 0x0a) continue;
    if (carry.len > 0) {
      carry.pushBytes(p + <usize>from, i - from);
      oneLine(s, carry.ptr, carry.len);
      carry.clear();
    } else {
      oneLine(s, p + <usize>from, i - from);
    }
    from = i + 1;
  }
  if (from < n) carry.pushBytes(p + <usize>from, n - from);
}

/** Ends the set: parses what is left, and when the set yielded an indicator, puts it in place
 * of any set of that name and rebuilds the table. Returns the report, a JSON object:
 * `{"name","format","loaded","duplicates","invalid","expired","revoked","unsupported",
 * "errors":[{"line"|"index","reason","text"}],"generation"}` plus `"error"` when the set was
 * not loaded (then the sets are as they were). `now` is epoch microseconds, for STIX
 * valid_until. */
export function endLoad(now: i64): string {
  if (set === null) return `{"error":"no set is being loaded"}`;
  const s = changetype<IndicatorSet>(set);
  set = null;
  if (stixDoc) {
    loadStix(s, report, carry.ptr, carry.len, now);
  } else if (carry.len > 0) {
    oneLine(s, carry.ptr, carry.len);
  }
  if (decided && !stixDoc && format == FORMAT_UNKNOWN) format = FORMAT_LIST;
  if (!stixDoc) report.format = format == FORMAT_TOR ? "tor" : "list";
  carry.clear();
  if (carry.cap > (1 << 20)) carry.free();

  if (report.error == "" && s.count == 0) {
    report.error = report.invalid > 0 ? "no usable indicator (every entry was invalid)" : "no usable indicator";
  }
  const old = findSet(s.name);
  if (report.error == "" && totalIndicators() - (old >= 0 ? sets[old].count : 0) + s.count > MAX_INDICATORS) {
    report.error = `more than ${MAX_INDICATORS} indicators in all`;
  }
  let duplicates = 0;
  if (report.error == "") {
    // A replaced set goes to the end: entries for one prefix follow the order sets were loaded.
    if (old >= 0) {
      sets[old].free();
      sets.splice(old, 1);
    }
    s.trim();
    sets.push(s);
    buildTable();
    bumpGeneration();
    duplicates = s.duplicates;
  }
  const r = report;
  let out = `{"name":${quote(s.name)},"format":"${r.format}","loaded":${report.error == "" ? s.count - duplicates : 0},` +
    `"duplicates":${duplicates},"invalid":${r.invalid},"expired":${r.expired},"revoked":${r.revoked},` +
    `"unsupported":${r.unsupported},"errors":[${r.reported.join(",")}],"generation":${generation}`;
  if (r.error != "") {
    out += `,"error":${quote(r.error)}`;
    s.free();
  }
  return out + "}";
}

/** Removes the set `name`; false when there is none. */
export function unloadSet(name: string): bool {
  const i = findSet(name);
  if (i < 0) return false;
  sets[i].free();
  sets.splice(i, 1);
  buildTable();
  bumpGeneration();
  return true;
}
