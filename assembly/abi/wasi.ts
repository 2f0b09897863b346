// The WASI command: NDJSON or a PT1H.json blob on stdin (told from the first bytes), ECS NDJSON
// on stdout, a summary on stderr, exit status as the CLI's (0 all mapped, 1 some error events).
// Arguments: `--profile sekoia|ecs`, `--community-id-seed N`, `--indicators NAME=FILE` and
// `--geo FILE` (repeatable), as the CLI's, and `--settings FILE` (the Fluent Bit filter's
// settings document). Files are read through the runtime's preopened directories
// (settings-file.ts, files.ts); a file that cannot be read or yields nothing is exit 2.
import { lit, Lit, spanEquals, parseSmallUint } from "../base/bytes";
import { setFullProfile, setCommunityIdSeed } from "../base/settings";
import { outBuf, outPos, outReset, putLit, putU64, reserve, linesOut, errorLinesOut } from "../base/output";
import { feedLines, MODE_MAP } from "../framing/ndjson";
import { blobStart, blobFeed, blobResume, blobPending, looksLikeBlob } from "../framing/blob";

import { fd_read, writeAll, logLine } from "./files";
import { loadIndicatorArgument, loadGeoArguments, loadSettingsArgument, settingsProfile } from "./settings-file";
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;
@external("wasi_snapshot_preview1", "args_sizes_get")
declare function args_sizes_get(argc: usize, argvBufSize: usize): u16;
@external("wasi_snapshot_preview1", "args_get")
declare function args_get(argv: usize, argvBuf: usize): u16;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const CHUNK = 1 << 20;

const chunk: usize = heap.alloc(CHUNK);
const iov: usize = heap.alloc(16);
const count: usize = heap.alloc(8);

/** Reads up to `room` bytes into chunk + at; 0 at end of input, -1 on a read error. */
function readStdin(at: i32, room: i32): i32 {
  store<u32>(iov, <u32>(chunk + <usize>at));
  store<u32>(iov + 4, <u32>room);
  if (fd_read(STDIN, iov, 1, count) != 0) return -1;
  return <i32>load<u32>(count);
}


function flushOutput(): bool {
  const ok = writeAll(STDOUT, outBuf, outPos);
  outReset();
  return ok;
}

const SUMMARY_1 = lit("nsg-flow-ecs: ");
const SUMMARY_2 = lit(" records, ");
const SUMMARY_3 = lit(" errors\n");
const READ_ERROR = lit("nsg-flow-ecs: cannot read stdin\n");
const WRITE_ERROR = lit("nsg-flow-ecs: cannot write stdout\n");

function say(l: Lit): void {
  writeAll(STDERR, l.ptr, l.len);
}

const ARG_PROFILE = lit("--profile");
const ARG_SEED = lit("--community-id-seed");
const ARG_INDICATORS = lit("--indicators");
const ARG_GEO = lit("--geo");
const ARG_SETTINGS = lit("--settings");
const PROFILE_SEKOIA = lit("sekoia");
const PROFILE_ECS = lit("ecs");
const USAGE = lit(
  "usage: nsg-flow-ecs-wasi [--profile sekoia|ecs] [--community-id-seed N] [--indicators NAME=FILE]... [--geo FILE]... [--settings FILE] < input > output\n" +
  "  --profile sekoia   the documented intake's ECS event (the default)\n" +
  "  --profile ecs      one complete ECS event per flow tuple\n" +
  "  --community-id-seed N   the Community ID seed of the ecs profile, 0-65535 (default 0)\n" +
  "  --indicators NAME=FILE  an indicator set (list, Tor exit-addresses, STIX bundle), repeatable\n" +
  "  --geo FILE              an MMDB database (City, Country, ASN), repeatable\n" +
  "  --settings FILE         the settings document the Fluent Bit filter reads (nsg-flow-ecs.json);\n" +
  "                          the other arguments win over it\n" +
  "  files are read through the runtime's preopened directories (wasmtime --dir)\n",
);
const BAD_ARGUMENT = lit("nsg-flow-ecs: bad argument: ");
const NEWLINE = lit("\n");
const SEED_WITHOUT_ECS = lit("nsg-flow-ecs: --community-id-seed applies to --profile ecs only\n");

/** The arguments after the program name, applied to the settings; false (after saying why on
 * stderr) on a usage error. */
function applyArguments(): bool {
  const sizes = heap.alloc(8);
  if (args_sizes_get(sizes, sizes + 4) != 0) return true;
  const argc = <i32>load<u32>(sizes);
  const argv = heap.alloc(<usize>argc * 4 + 4);
  const buf = heap.alloc(<usize>load<u32>(sizes + 4) + 1);
  if (args_get(argv, buf) != 0) return true;
  let seed = -1;
  let full = false;
  let profileGiven = false;
  let settingsPath = "";
  const setNames = new Array<string>();
  const setPaths = new Array<string>();
  const geoPaths = new Array<string>();
  for (let i = 1; i < argc; i++) {
    const arg = <usize>load<u32>(argv + <usize>i * 4);
    const value: usize = i + 1 < argc ? <usize>load<u32>(argv + <usize>(i + 1) * 4) : 0;
    if (spanEquals(arg, cLength(arg), ARG_PROFILE) && value != 0) {
      const n = cLength(value);
      if (spanEquals(value, n, PROFILE_ECS)) full = true;
      else if (spanEquals(value, n, PROFILE_SEKOIA)) full = false;
      else return badArgument(value);
      profileGiven = true;
      i++;
    } else if (spanEquals(arg, cLength(arg), ARG_SEED) && value != 0) {
      const v = parseSmallUint(value, cLength(value), 5);
      if (v < 0 || v > 65535) return badArgument(value);
      seed = <i32>v;
      i++;
    } else if (spanEquals(arg, cLength(arg), ARG_INDICATORS) && value != 0) {
      const spec = String.UTF8.decodeUnsafe(value, <usize>cLength(value));
      const eq = spec.indexOf("=");
      // One name once, as the CLI's (a second file for a name is a mistake, not a replacement).
      if (eq <= 0 || eq == spec.length - 1 || setNames.includes(spec.substring(0, eq))) return badArgument(value);
      setNames.push(spec.substring(0, eq));
      setPaths.push(spec.substring(eq + 1));
      i++;
    } else if (spanEquals(arg, cLength(arg), ARG_GEO) && value != 0 && cLength(value) > 0) {
      geoPaths.push(String.UTF8.decodeUnsafe(value, <usize>cLength(value)));
      i++;
    } else if (spanEquals(arg, cLength(arg), ARG_SETTINGS) && value != 0 && cLength(value) > 0 && settingsPath == "") {
      settingsPath = String.UTF8.decodeUnsafe(value, <usize>cLength(value));
      i++;
    } else {
      return badArgument(arg);
    }
  }
  if (settingsPath != "") {
    const why = loadSettingsArgument(settingsPath);
    if (why != "") return cannotLoad(why);
    if (!profileGiven && settingsProfile >= 0) full = settingsProfile == 1;
  }
  if (seed >= 0 && !full) {
    say(SEED_WITHOUT_ECS);
    say(USAGE);
    return false;
  }
  setFullProfile(full);
  if (seed >= 0) setCommunityIdSeed(<u32>seed);
  for (let k = 0; k < setNames.length; k++) {
    const why = loadIndicatorArgument(setNames[k], setPaths[k]);
    if (why != "") return cannotLoad(why);
  }
  if (geoPaths.length > 0) {
    const why = loadGeoArguments(geoPaths);
    if (why != "") return cannotLoad(why);
  }
  return true;
}

function cannotLoad(why: string): bool {
  logLine("nsg-flow-ecs: " + why);
  return false;
}

function cLength(p: usize): i32 {
  let n = 0;
  while (load<u8>(p + <usize>n) != 0) n++;
  return n;
}

function badArgument(arg: usize): bool {
  say(BAD_ARGUMENT);
  writeAll(STDERR, arg, cLength(arg));
  say(NEWLINE);
  say(USAGE);
  return false;
}

export function _start(): void {
  if (!applyArguments()) proc_exit(2);
  outReset();
  let failed = false;
  // Which format: read until the first bytes tell (a pipe may deliver a few bytes at a time).
  let have = 0;
  let verdict = -1;
  let eof = false;
  while (verdict < 0 && have < CHUNK) {
    const n = readStdin(have, CHUNK - have);
    if (n < 0) { say(READ_ERROR); failed = true; eof = true; break; }
    if (n == 0) { eof = true; break; }
    have += n;
    verdict = looksLikeBlob(chunk, have);
  }
  const isBlob = verdict == 1;
  if (isBlob) blobStart(0, false, MODE_MAP);
  let n = have;
  while (true) {
    const last = eof || n == 0;
    if (isBlob) {
      blobFeed(chunk, n, last);
      if (!flushOutput()) { say(WRITE_ERROR); proc_exit(1); }
      while (blobPending()) {
        blobResume();
        if (!flushOutput()) { say(WRITE_ERROR); proc_exit(1); }
      }
    } else {
      feedLines(chunk, n, last, MODE_MAP);
      if (!flushOutput()) { say(WRITE_ERROR); proc_exit(1); }
    }
    if (last) break;
    n = readStdin(0, CHUNK);
    if (n < 0) { say(READ_ERROR); failed = true; eof = true; n = 0; }
  }
  reserve(64);
  putLit(SUMMARY_1); putU64(<u64>linesOut); putLit(SUMMARY_2); putU64(<u64>errorLinesOut); putLit(SUMMARY_3);
  writeAll(STDERR, outBuf, outPos);
  outReset();
  if (failed || errorLinesOut > 0) proc_exit(1);
}
