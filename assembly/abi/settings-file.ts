// The settings and data files of the runtimes that read files themselves (the Fluent Bit filter,
// the WASI command): one mechanism for every enrichment. A settings document
// (`nsg-flow-ecs.json`, or the command's `--settings FILE`) names the profile, the indicator sets
// and the MMDB databases; applying it loads each file through WASI (files.ts); a reload looks at
// each file's mtime and size at most every `reloadSeconds`, loads what changed, and swaps a new
// version in only when it loaded well. A version that fails is said once on stderr (Fluent Bit's
// log) and the previous one stays. DEVELOPERS.md ("Settings and data files") has the contract.
import { JSON } from "json-as";
import { jsonError } from "../enrich/indicators/stix";
import { beginLoad, feedLoad, endLoad, unloadSet } from "../enrich/indicators/load";
import { replaceDatabases, checkDatabase, databaseType, databaseCount, databaseAt, geoError } from "../enrich/geo/databases";
import { setEventIdEnabled, setCommunityIdSeed } from "../base/settings";
import {
  FileStamp, Located, locate, preopens, stampOf, openFile, readSome, closeFile, readWhole,
  fileError, monotonicNs, epochMs, logLine, NOENT,
} from "./files";

export const SETTINGS_FILE = "nsg-flow-ecs.json";
const PREFIX = "nsg-flow-ecs: ";
const DEFAULT_RELOAD_S: i32 = 10;

// ---- The document ------------------------------------------------------------------------------

export class Settings {
  /** -1: not given (the caller's choice stands), 0: sekoia, 1: ecs. */
  profile: i32 = -1;
  communityIdSeed: i32 = 0;
  eventId: bool = false;
  indicatorNames: Array<string> = [];
  indicatorPaths: Array<string> = [];
  geo: Array<string> = [];
  reloadSeconds: i32 = DEFAULT_RELOAD_S;
}

/** Why the last decode failed. */
export let settingsError: string = "";

@inline function isString(r: JSON.Raw): bool {
  return r.data.length > 0 && r.data.charCodeAt(0) == 0x22;
}

function isObject(r: JSON.Raw): bool {
  return r.data.length > 0 && r.data.charCodeAt(0) == 0x7b;
}

/** A JSON integer in [min, max], else -1 (the callers' ranges do not include it). */
function smallInt(r: JSON.Raw, min: i32, max: i32): i32 {
  const t = r.data;
  if (t.length == 0 || t.length > 6) return -1;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  if (t.length > 1 && t.charCodeAt(0) == 0x30) return -1;
  const v = I32.parseInt(t);
  return v < min || v > max ? -1 : v;
}

/** Decodes the document at [ptr, ptr+len); null with settingsError. json-as aborts (a trap) on
 * text that is not JSON and reads a value of another type as garbage, so the text is checked
 * first and every member's type by hand, as the STIX loader does. */
export function decodeSettings(ptr: usize, len: i32): Settings | null {
  const at = jsonError(ptr, len);
  if (at >= 0) {
    settingsError = "not valid JSON at byte " + at.toString();
    return null;
  }
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
  if (i >= text.length || text.charCodeAt(i) != 0x7b) {
    settingsError = "not a JSON object";
    return null;
  }
  const doc = JSON.parse<Map<string, JSON.Raw>>(text);
  const keys = doc.keys();
  const s = new Settings();
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    const v = doc.get(key);
    if (key == "profile") {
      const p = isString(v) ? JSON.parse<string>(v.data) : "";
      if (p == "sekoia") s.profile = 0;
      else if (p == "ecs") s.profile = 1;
      else return bad("\"profile\" is \"sekoia\" or \"ecs\"");
    } else if (key == "communityIdSeed") {
      s.communityIdSeed = smallInt(v, 0, 65535);
      if (s.communityIdSeed < 0) return bad("\"communityIdSeed\" is an integer 0-65535");
    } else if (key == "eventId") {
      if (v.data != "true" && v.data != "false") return bad("\"eventId\" is true or false");
      s.eventId = v.data == "true";
    } else if (key == "reloadSeconds") {
      s.reloadSeconds = smallInt(v, 1, 86400);
      if (s.reloadSeconds < 0) return bad("\"reloadSeconds\" is an integer 1-86400");
    } else if (key == "indicators") {
      if (!isObject(v)) return bad("\"indicators\" is an object, set name → file");
      const sets = JSON.parse<Map<string, JSON.Raw>>(v.data);
      const names = sets.keys();
      for (let n = 0; n < names.length; n++) {
        const f = sets.get(names[n]);
        const path = isString(f) ? JSON.parse<string>(f.data) : "";
        if (names[n].length == 0 || path.length == 0) return bad("\"indicators\" maps a set's name to a file (both non-empty strings)");
        s.indicatorNames.push(names[n]);
        s.indicatorPaths.push(path);
      }
    } else if (key == "geo") {
      if (v.data.length == 0 || v.data.charCodeAt(0) != 0x5b) return bad("\"geo\" is an array of files");
      const list = JSON.parse<JSON.Raw[]>(v.data);
      for (let n = 0; n < list.length; n++) {
        const path = isString(list[n]) ? JSON.parse<string>(list[n].data) : "";
        if (path.length == 0) return bad("\"geo\" is an array of files (non-empty strings)");
        s.geo.push(path);
      }
    } else {
      return bad("unknown key \"" + key + "\"");
    }
  }
  return s;
}

function bad(why: string): Settings | null {
  settingsError = why;
  return null;
}

// ---- Data files --------------------------------------------------------------------------------

/** One data file the settings name: where it is, the version loaded, the version that failed. */
class Source {
  /** The indicator set's name; "" for a database. */
  name: string;
  /** The path as the settings or the argument wrote it (messages). */
  shown: string;
  where: Located;
  /** The version in use (errno != 0: none yet). */
  loaded: FileStamp = new FileStamp();
  /** The version that last failed (said once), or none. */
  failed: FileStamp | null = null;
  /** A database's bytes, owned by the databases once in use. */
  ptr: usize = 0;
  len: u32 = 0;

  constructor(name: string, shown: string, where: Located) {
    this.name = name;
    this.shown = shown;
    this.where = where;
    this.loaded.errno = NOENT;
  }
}

let indicatorSources = new Array<Source>();
let geoSources = new Array<Source>();
/** Whether some indicator set or database was ever asked for (the check has work only then). */
let anyData = false;

function thousands(n: i64): string {
  const s = n.toString();
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 == 0) out += ",";
    out += s.charAt(i);
  }
  return out;
}

function num(m: Map<string, JSON.Raw>, key: string): i64 {
  if (!m.has(key)) return 0;
  return I64.parseInt(m.get(key).data);
}

/** The CLI's line for a database (host/transform/summary.ts, geoSummary): which file answers,
 * and how current it is (MaxMind's licence asks for its updates to be applied). */
function geoLine(i: i32, shown: string): string {
  const db = databaseAt(i);
  // The file says when it was built; Date throws (an abort: a trap) outside years 0-9999, and a
  // corrupt file may say anything.
  const built = db.buildEpoch <= 253402300799 ? new Date(<i64>db.buildEpoch * 1000).toISOString().substring(0, 10) : "?";
  return PREFIX + "geo " + shown.substring(shown.lastIndexOf("/") + 1) + ": " + databaseType(i) + ", built " + built +
    ", IPv" + db.ipVersion.toString() + ", " + thousands(<i64>db.nodeCount) + " nodes";
}

/** The CLI's lines for a set's report (host/cli/map.ts, indicatorSummary). */
function summarise(report: string): string {
  const m = JSON.parse<Map<string, JSON.Raw>>(report);
  const name = JSON.parse<string>(m.get("name").data);
  const what = ["invalid", "duplicates", "expired", "revoked", "unsupported"];
  const words = ["invalid", "duplicate", "expired", "revoked", "with another kind of pattern"];
  let skipped: i64 = 0;
  let parts = "";
  for (let i = 0; i < what.length; i++) {
    const n = num(m, what[i]);
    skipped += n;
    if (n > 0) parts += (parts.length > 0 ? ", " : "") + thousands(n) + " " + words[i];
  }
  let out = PREFIX + "indicators " + name + ": " + thousands(num(m, "loaded")) + " loaded, " + thousands(skipped) + " skipped";
  if (parts.length > 0) out += " (" + parts + ")";
  const errors = JSON.parse<JSON.Raw[]>(m.get("errors").data);
  for (let i = 0; i < errors.length; i++) {
    const e = JSON.parse<Map<string, JSON.Raw>>(errors[i].data);
    const where = e.has("line") ? "line " + e.get("line").data : "object " + e.get("index").data;
    out += "\n" + PREFIX + "indicators " + name + ": " + where + ": " + JSON.parse<string>(e.get("reason").data) + ": " + e.get("text").data;
  }
  return out;
}

const PIECE: i32 = 1 << 20;
let piece: usize = 0;

/** Loads an indicator set from its file, in pieces (a list is parsed as it comes). Returns ""
 * and sets `src.loaded`, or the reason it was not loaded (the set of that name, if any, stays). */
function loadIndicators(src: Source, say: bool): string {
  const f = openFile(src.where.dir, src.where.path, src.shown);
  if (f === null) return fileError;
  if (piece == 0) piece = heap.alloc(<usize>PIECE);
  beginLoad(src.name);
  while (true) {
    const n = readSome(f, piece, PIECE, src.shown);
    if (n < 0) {
      closeFile(f);
      // Starting again drops what was parsed, and an empty set is refused: a set whose file
      // could not be read whole is never put in place.
      beginLoad(src.name);
      endLoad(0);
      return fileError;
    }
    if (n == 0) break;
    feedLoad(piece, n);
  }
  closeFile(f);
  const report = endLoad(epochMs() * 1000);
  const m = JSON.parse<Map<string, JSON.Raw>>(report);
  if (m.has("error")) return src.shown + ": " + JSON.parse<string>(m.get("error").data);
  src.loaded = f.stamp;
  src.failed = null;
  if (say) logLine(summarise(report));
  return "";
}

/** Reads the databases' files (new blocks for those not in use, or that changed when
 * `changedOnly`) and swaps the list in. Returns "" or the reason (nothing changed then). */
function loadDatabases(list: Array<Source>, say: bool, changedOnly: bool): string {
  const ptrs = new Array<usize>();
  const lens = new Array<u32>();
  const fresh = new Array<usize>();
  const stamps = new Array<FileStamp>();
  let why = "";
  for (let i = 0; i < list.length; i++) {
    const src = list[i];
    if (changedOnly && src.ptr != 0 && stampOf(src.where.dir, src.where.path).same(src.loaded)) {
      ptrs.push(src.ptr);
      lens.push(src.len);
      stamps.push(src.loaded);
      continue;
    }
    const w = readWhole(src.where.dir, src.where.path, src.shown);
    if (w === null) {
      why = fileError;
      break;
    }
    ptrs.push(w.ptr);
    lens.push(w.len);
    fresh.push(w.ptr);
    stamps.push(w.stamp);
  }
  // Each new file is checked alone first, so that the message names the one refused.
  for (let i = 0; why == "" && i < ptrs.length; i++) {
    if (!fresh.includes(ptrs[i])) continue;
    const e = checkDatabase(ptrs[i], lens[i]);
    if (e != "") why = list[i].shown + ": " + e;
  }
  if (why == "" && !replaceDatabases(ptrs, lens)) why = geoError;
  if (why != "") {
    for (let i = 0; i < fresh.length; i++) heap.free(fresh[i]);
    return why;
  }
  for (let i = 0; i < list.length; i++) {
    list[i].ptr = ptrs[i];
    list[i].len = lens[i];
    list[i].loaded = stamps[i];
    list[i].failed = null;
    if (say) logLine(geoLine(i, list[i].shown));
  }
  return "";
}

// ---- Applying a document -------------------------------------------------------------------------

/** The settings file in use: where it is, the directory its paths are relative to. */
let settingsAt: Located | null = null;
let settingsShown = "";
/** The version of the settings file last looked at (applied or refused). */
let settingsSeen: FileStamp = new FileStamp();
/** The profile the settings chose (-1: none; the caller's stands). */
export let settingsProfile: i32 = -1;
let reloadNs: u64 = <u64>DEFAULT_RELOAD_S * 1000000000;

/** A path of the settings, under the preopen the settings file is in (relative to its folder). */
function under(base: Located, dirOfSettings: string, path: string): Located | null {
  if (path.startsWith("/")) return locate(path);
  return new Located(base.dir, dirOfSettings + path);
}

/** Applies a decoded document whose relative paths are relative to `base` + `dirOfSettings`.
 * `strict` (the command): stop at the first file that fails and return why. Otherwise (Fluent
 * Bit) every file that fails is said once and the rest still load; returns "". */
export function applySettings(s: Settings, base: Located | null, dirOfSettings: string, strict: bool): string {
  if (s.profile >= 0) settingsProfile = s.profile;
  else settingsProfile = -1;
  setEventIdEnabled(s.eventId);
  setCommunityIdSeed(<u32>s.communityIdSeed);
  reloadNs = <u64>s.reloadSeconds * 1000000000;

  // Indicator sets: a set whose file is the same stays as it is; others load now.
  const next = new Array<Source>();
  for (let i = 0; i < s.indicatorNames.length; i++) {
    const name = s.indicatorNames[i];
    const path = s.indicatorPaths[i];
    let src: Source | null = null;
    for (let j = 0; j < indicatorSources.length; j++) {
      if (indicatorSources[j].name == name && indicatorSources[j].shown == path) src = indicatorSources[j];
    }
    if (src === null) {
      const where = base === null ? locate(path) : under(changetype<Located>(base), dirOfSettings, path);
      if (where === null) {
        const why = "indicators " + name + ": cannot open " + path + ": not under a preopened directory";
        if (strict) return why;
        logLine(PREFIX + why + " (not loaded)");
        continue;
      }
      const fresh = new Source(name, path, where);
      const why = loadIndicators(fresh, true);
      if (why != "") {
        if (strict) return "indicators " + name + ": " + why;
        fresh.failed = stampOf(where.dir, where.path);
        logLine(PREFIX + "indicators " + name + ": " + why + " (not loaded; tried again when the file changes)");
      }
      src = fresh;
    }
    next.push(changetype<Source>(src));
  }
  for (let j = 0; j < indicatorSources.length; j++) {
    let kept = false;
    for (let i = 0; i < next.length; i++) if (next[i].name == indicatorSources[j].name) kept = true;
    if (!kept) unloadSet(indicatorSources[j].name);
  }
  indicatorSources = next;

  // Databases: one list, swapped whole.
  let same = s.geo.length == geoSources.length;
  for (let i = 0; same && i < s.geo.length; i++) same = geoSources[i].shown == s.geo[i];
  // The list in use again: a list that failed before is no longer wanted.
  if (same) pendingGeo = null;
  if (!same) {
    const list = new Array<Source>();
    let why = "";
    for (let i = 0; i < s.geo.length; i++) {
      const where = base === null ? locate(s.geo[i]) : under(changetype<Located>(base), dirOfSettings, s.geo[i]);
      if (where === null) {
        why = "cannot open " + s.geo[i] + ": not under a preopened directory";
        break;
      }
      const src = new Source("", s.geo[i], changetype<Located>(where));
      // A database already in use under the same path is not read again.
      for (let j = 0; j < geoSources.length; j++) {
        if (geoSources[j].shown == s.geo[i] && geoSources[j].ptr != 0) {
          src.ptr = geoSources[j].ptr;
          src.len = geoSources[j].len;
          src.loaded = geoSources[j].loaded;
        }
      }
      list.push(src);
    }
    if (why == "") why = loadDatabases(list, true, true);
    if (why != "") {
      if (strict) return geoWhy(why);
      logLine(PREFIX + geoWhy(why) + " (databases not changed; tried again when a file changes)");
      for (let i = 0; i < list.length; i++) {
        list[i].failed = stampOf(list[i].where.dir, list[i].where.path);
        // Keep what is in use: the sources of the list in use stay until a good list loads.
      }
      pendingGeo = list;
    } else {
      geoSources = list;
      pendingGeo = null;
    }
  }
  anyData = indicatorSources.length > 0 || geoSources.length > 0 || pendingGeo !== null;
  return "";
}

/** A list of databases the settings ask for that has not loaded yet (tried again on change). */
let pendingGeo: Array<Source> | null = null;

/** The command's `--indicators NAME=FILE`: "" or why it failed (the set's lines said). */
export function loadIndicatorArgument(name: string, path: string): string {
  const where = locate(path);
  if (where === null) return "indicators " + name + ": cannot open " + path + ": not under a preopened directory (--dir)";
  const src = new Source(name, path, where);
  const why = loadIndicators(src, true);
  if (why != "") return "indicators " + name + ": " + why;
  indicatorSources.push(src);
  return "";
}

/** `geo city.mmdb: why`, or `geo: cannot open city.mmdb: ENOENT` (that reason names the file). */
function geoWhy(why: string): string {
  return "geo" + (why.startsWith("cannot ") ? ": " : " ") + why;
}

/** The command's `--geo FILE` (all of them at once): "" or why it failed. */
export function loadGeoArguments(paths: Array<string>): string {
  const list = new Array<Source>();
  for (let i = 0; i < geoSources.length; i++) list.push(geoSources[i]);
  for (let i = 0; i < paths.length; i++) {
    const where = locate(paths[i]);
    if (where === null) return geoWhy("cannot open " + paths[i] + ": not under a preopened directory (--dir)");
    list.push(new Source("", paths[i], where));
  }
  const why = loadDatabases(list, false, true);
  if (why != "") return geoWhy(why);
  for (let i = geoSources.length; i < list.length; i++) logLine(geoLine(i, list[i].shown));
  geoSources = list;
  return "";
}

/** Reads and decodes a settings file; null with settingsError (the reason, naming the file). */
function readSettings(at: Located, shown: string): Settings | null {
  const w = readWhole(at.dir, at.path, shown);
  if (w === null) {
    settingsError = fileError;
    settingsSeen = stampOf(at.dir, at.path);
    return null;
  }
  settingsSeen = w.stamp;
  const s = decodeSettings(w.ptr, <i32>w.len);
  heap.free(w.ptr);
  if (s === null) settingsError = shown + ": " + settingsError;
  return s;
}

function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.substring(0, slash + 1);
}

/** The command's `--settings FILE`: "" or why it failed. */
export function loadSettingsArgument(path: string): string {
  const where = locate(path);
  if (where === null) return "cannot open " + path + ": not under a preopened directory (--dir)";
  const s = readSettings(where, path);
  if (s === null) return settingsError;
  return applySettings(s, where, folderOf(where.path), true);
}

// ---- Fluent Bit: find, apply, reload -------------------------------------------------------------

/** When the next look is due (monotonic ns); 0 until the first record, which looks at once. */
let nextCheck: u64 = 0;
let started = false;
/** Looks for nsg-flow-ecs.json in each preopened directory (the first holding one is used). */
function findSettings(): Located | null {
  const list = preopens();
  for (let i = 0; i < list.length; i++) {
    const st = stampOf(list[i].fd, SETTINGS_FILE);
    if (st.errno == 0) {
      settingsShown = (list[i].name == "." ? "" : list[i].name + "/") + SETTINGS_FILE;
      return new Located(list[i].fd, SETTINGS_FILE);
    }
  }
  return null;
}

function takeSettings(at: Located): void {
  const s = readSettings(at, settingsShown);
  if (s === null) {
    logLine(PREFIX + settingsError + " (" + (settingsApplied ? "the previous settings stay in use" : "mapping without enrichment") + "; tried again when the file changes)");
    return;
  }
  logLine(PREFIX + "settings " + settingsShown + " applied");
  settingsApplied = true;
  applySettings(changetype<Settings>(s), at, "", false);
}

let settingsApplied = false;

/** At the filter's first record: find the settings file and apply it. */
function start(): void {
  started = true;
  const at = findSettings();
  if (at === null) return;
  settingsAt = at;
  takeSettings(at);
}

/** Every reloadSeconds: the settings file, then each data file, loaded again when changed. */
function check(): void {
  if (settingsAt === null) {
    const at = findSettings();
    if (at === null) return;
    settingsAt = at;
    takeSettings(at);
    return;
  }
  const at = changetype<Located>(settingsAt);
  const st = stampOf(at.dir, at.path);
  if (!st.same(settingsSeen)) {
    settingsSeen = st;
    if (st.errno != 0) {
      logLine(PREFIX + settingsShown + ": cannot open: " + (st.errno == NOENT ? "ENOENT" : "errno " + st.errno.toString()) + " (the settings in use stay; tried again when the file changes)");
    } else {
      takeSettings(at);
      return;
    }
  }
  if (!anyData) return;
  for (let i = 0; i < indicatorSources.length; i++) {
    const src = indicatorSources[i];
    const seen = stampOf(src.where.dir, src.where.path);
    if (seen.same(src.loaded)) continue;
    if (src.failed !== null && seen.same(changetype<FileStamp>(src.failed))) continue;
    const why = loadIndicators(src, true);
    if (why != "") {
      src.failed = seen;
      logLine(PREFIX + "indicators " + src.name + ": " + why + (src.loaded.errno == 0 ? " (the previous version stays in use)" : " (not loaded)"));
    }
  }
  const list = pendingGeo !== null ? changetype<Array<Source>>(pendingGeo) : geoSources;
  let changed = false;
  let allFailedBefore = true;
  for (let i = 0; i < list.length; i++) {
    const seen = stampOf(list[i].where.dir, list[i].where.path);
    if (seen.same(list[i].loaded)) continue;
    changed = true;
    if (list[i].failed === null || !seen.same(changetype<FileStamp>(list[i].failed))) allFailedBefore = false;
  }
  if (changed && !allFailedBefore) {
    const why = loadDatabases(list, true, true);
    if (why != "") {
      for (let i = 0; i < list.length; i++) list[i].failed = stampOf(list[i].where.dir, list[i].where.path);
      logLine(PREFIX + geoWhy(why) + (databaseCount() > 0 ? " (the databases in use stay)" : " (no databases)"));
    } else {
      geoSources = list;
      pendingGeo = null;
    }
  }
}

/** The filter's per-record step: one clock read and a compare; the first call looks for the
 * settings, and then every reloadSeconds a look at each file's mtime and size. */
@inline export function settingsTick(): void {
  const now = monotonicNs();
  if (now >= nextCheck) settingsLook(now);
}

function settingsLook(now: u64): void {
  if (!started) start();
  else check();
  nextCheck = now + reloadNs;
}

/** Whether the filter's settings file was found and applied at least once. */
export function settingsInUse(): bool {
  return settingsApplied;
}
