#!/usr/bin/env node
// The `nsg-flow-ecs` command: flow events in (files or stdin), ECS NDJSON out, a summary on
// stderr. Exit 0 when every record mapped, 1 when any became an error event, 2 on usage errors.
import { writeSync } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { ModuleError, IndicatorError, PROFILES, defaultWasmPath, type MapOptions, type Profile, type IndicatorReport } from "./transform/loader.js";
import { runCheck } from "./check/check.js";
import { type StreamOptions, type StreamTotals } from "./transform/stream.js";
import { FlowPool } from "./pool/pool.js";

const USAGE = `Usage:
  nsg-flow-ecs [--profile sekoia|ecs] [--community-id-seed N] [--indicators NAME=FILE ...]
               [--wasm FILE] [--threads N] [--quiet] [--flatten] [--from-offset N] [FILE ...]
      Maps Azure NSG / VNet flow logs to ECS. Each FILE ("-" or none: stdin) is either a
      PT1H.json blob ({"records":[…]}, as Azure writes it), whose every flow tuple becomes one
      event, or NDJSON: one flattened raw event a line ({"macAddress":…,"flow.0":"<tuple>",…}),
      or {"message":"<raw event>"} lines as wrapping collectors write them. Which one is told
      from the first bytes. Writes one ECS event (or one error event, event.kind
      "pipeline_error") per tuple or line to stdout, in order.
  nsg-flow-ecs check [--wasm FILE]
      Runs the documented samples through the module (the built one, or FILE) and prints a
      pass/fail line per sample. Exit 0 only when all pass.
  nsg-flow-ecs collect [--connection-string CS] [--out FILE] [--once | --interval S] ...
      Reads the flow-log blobs of an Azure storage account as they grow, checkpointed
      (exactly once into FILE across crashes); \`nsg-flow-ecs collect --help\` lists its options.

Options:
  --profile P        sekoia (the default): the documented intake's ECS event, which its SIEM
                     expects; ecs: one complete ECS event per flow tuple (event.id, Community
                     ID, totals, cloud and resource context, the MAC on the NIC's side)
  --community-id-seed N
                     the Community ID seed of the ecs profile, 0-65535 (default 0)
  --indicators NAME=FILE
                     match every event's source.ip and destination.ip against the indicator
                     set in FILE (a list of addresses and CIDRs, Tor's exit-addresses, or a
                     STIX 2.1 bundle); a matching event gets threat.enrichments naming NAME as
                     the provider. Repeatable (--indicators tor=exits.txt --indicators cti=b.json)
  --wasm FILE        use this WebAssembly module instead of the built one
  --threads N        map on N threads (default: the number of cores); inputs under 32 MiB
                     are mapped on one thread whatever N is
  --quiet            no summary on stderr
  --flatten          write the flattened raw events of a blob instead of ECS (what a collector
                     forwards; NDJSON input is written as it is)
  --from-offset N    read one growing blob from byte N, an offset this command reported before:
                     only the records added since come out, and an unfinished record is left
                     for the next run. Prints "next offset M" on stderr: use M next time.
  -h, --help         this text

Exit status: 0 every record mapped; 1 some record became an error event (or a file could
not be read); 2 usage error, a --wasm module that cannot be used, or an indicator set that
cannot be read or has no usable indicator.
`;

class UsageError extends Error {}

interface Options {
  command: "map" | "check" | "help";
  wasm?: string;
  quiet: boolean;
  flatten: boolean;
  fromOffset?: number;
  threads?: number;
  profile?: Profile;
  communityIdSeed?: number;
  indicators: { name: string; path: string }[];
  files: string[];
}

export function parseArgs(argv: string[]): Options {
  const opts: Options = { command: "map", quiet: false, flatten: false, indicators: [], files: [] };
  let i = 0;
  if (argv[0] === "check") {
    opts.command = "check";
    i = 1;
  }
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") opts.command = "help";
    else if (a === "--quiet" || a === "-q") opts.quiet = true;
    else if (a === "--flatten") opts.flatten = true;
    else if (a === "--from-offset" || a.startsWith("--from-offset=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined || !/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) {
        throw new UsageError("--from-offset needs a byte offset (a whole number)");
      }
      opts.fromOffset = Number(v);
    }
    else if (a === "--threads" || a.startsWith("--threads=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 1024) {
        throw new UsageError("--threads needs a number of threads from 1 to 1024");
      }
      opts.threads = Number(v);
    } else if (a === "--profile" || a.startsWith("--profile=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (!PROFILES.includes(v as Profile)) throw new UsageError(`--profile needs one of ${PROFILES.join(", ")}`);
      opts.profile = v as Profile;
    } else if (a === "--community-id-seed" || a.startsWith("--community-id-seed=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined || !/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) {
        throw new UsageError("--community-id-seed needs a whole number from 0 to 65535");
      }
      opts.communityIdSeed = Number(v);
    } else if (a === "--indicators" || a.startsWith("--indicators=")) {
      const v = a.includes("=") && a.startsWith("--indicators=") ? a.slice("--indicators=".length) : argv[++i];
      const eq = v === undefined ? -1 : v.indexOf("=");
      if (v === undefined || eq <= 0 || eq === v.length - 1) throw new UsageError("--indicators needs NAME=FILE");
      const name = v.slice(0, eq);
      if (opts.indicators.some((s) => s.name === name)) throw new UsageError(`--indicators ${name} is given twice`);
      opts.indicators.push({ name, path: v.slice(eq + 1) });
    } else if (a === "--wasm") {
      if (i + 1 >= argv.length) throw new UsageError("--wasm needs a file");
      opts.wasm = argv[++i];
    } else if (a.startsWith("--wasm=")) opts.wasm = a.slice(7);
    else if (a === "--") opts.files.push(...argv.slice(i + 1)), (i = argv.length);
    else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else opts.files.push(a);
  }
  if (opts.command === "check" && opts.files.length > 0) throw new UsageError("check takes no files");
  if (opts.fromOffset !== undefined && opts.files.length > 1) throw new UsageError("--from-offset reads one blob");
  if (opts.flatten && (opts.profile !== undefined || opts.communityIdSeed !== undefined)) {
    throw new UsageError("--flatten writes the raw events: --profile and --community-id-seed do not apply");
  }
  if (opts.flatten && opts.indicators.length > 0) {
    throw new UsageError("--flatten writes the raw events: --indicators does not apply");
  }
  if (opts.command === "check" && opts.indicators.length > 0) throw new UsageError("check takes no --indicators");
  if (opts.communityIdSeed !== undefined && opts.profile !== "ecs") {
    throw new UsageError("--community-id-seed applies to --profile ecs only");
  }
  if (opts.command === "check" && (opts.profile !== undefined || opts.communityIdSeed !== undefined)) {
    throw new UsageError("check runs the documented samples, which pin the sekoia profile: it takes no --profile");
  }
  return opts;
}

/** Writes one batch of output, which is a view of the module's buffer (valid until the next
 * call): straight to the file descriptor while that blocks (files, terminals, and pipes on
 * Linux), else — a non-blocking pipe that is full, or a stream with writes still queued — as a
 * copy through the stream, waiting for 'drain' (back-pressure). */
async function writeOut(out: Writable & { fd?: number }, bytes: Uint8Array): Promise<void> {
  let done = 0;
  if (out.writableLength === 0 && typeof out.fd === "number") {
    try {
      while (done < bytes.length) done += writeSync(out.fd, bytes, done);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    }
  }
  if (!out.write(Buffer.from(bytes.subarray(done)))) await once(out, "drain");
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "collect") return (await import("./collect/cli.js")).collectMain(argv.slice(1));
  let opts: Options;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`nsg-flow-ecs: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const wasm = opts.wasm ?? defaultWasmPath();
  if (opts.command === "check") {
    const result = runCheck(wasm);
    process.stdout.write(result.lines.join("\n") + "\n");
    return result.failed === 0 ? 0 : 1;
  }

  const mapOptions: MapOptions = {};
  if (opts.profile !== undefined) mapOptions.profile = opts.profile;
  if (opts.communityIdSeed !== undefined) mapOptions.communityIdSeed = opts.communityIdSeed;
  if (opts.indicators.length > 0) mapOptions.indicators = opts.indicators;
  // writeOut writes or copies each chunk before the next: the pool may reuse its buffers, and
  // the module's own (outputViews).
  const pool = new FlowPool({ wasm, transformOptions: mapOptions, threads: opts.threads, outputViews: true });
  try {
    // Loaded now: an unusable --wasm or indicator set is said before any file is read.
    const reports = pool.transform.indicatorReports;
    if (!opts.quiet) for (const r of reports) process.stderr.write(indicatorSummary(r));
    return await mapFiles(opts, pool);
  } finally {
    void pool.close(); // not awaited: the process exits without waiting for threads to stop
  }
}

const count = (n: number): string => n.toLocaleString("en-US");

/** `indicators NAME: N loaded, M skipped (…)`, then the first bad lines or objects. */
export function indicatorSummary(r: IndicatorReport): string {
  const parts = ([["invalid", r.invalid], ["duplicate", r.duplicates], ["expired", r.expired], ["revoked", r.revoked],
    ["with another kind of pattern", r.unsupported]] as const).filter(([, n]) => n > 0).map(([what, n]) => `${count(n)} ${what}`);
  const skipped = r.invalid + r.duplicates + r.expired + r.revoked + r.unsupported;
  let text = `nsg-flow-ecs: indicators ${r.name}: ${count(r.loaded)} loaded, ${count(skipped)} skipped${parts.length ? ` (${parts.join(", ")})` : ""}\n`;
  for (const e of r.errors) {
    text += `nsg-flow-ecs: indicators ${r.name}: ${e.line !== undefined ? `line ${e.line}` : `object ${e.index}`}: ${e.reason}: ${JSON.stringify(e.text)}\n`;
  }
  return text;
}

// Written by the core only as an event's own member: inside a JSON string its quotes would be
// escaped, so each occurrence is one event that matched.
const THREAT = Buffer.from(`,"threat":{"enrichments":[`);

function countMatches(bytes: Uint8Array): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let at = b.indexOf(THREAT); at >= 0; at = b.indexOf(THREAT, at + THREAT.length)) n++;
  return n;
}

async function mapFiles(opts: Options, pool: FlowPool): Promise<number> {
  const totals: StreamTotals = { records: 0, errors: 0 };
  const matching = opts.indicators.length > 0;
  let matched = 0;
  const started = process.hrtime.bigint();
  let unreadable = 0;
  for (const file of opts.files.length > 0 ? opts.files : ["-"]) {
    const options: StreamOptions = {
      fromOffset: opts.fromOffset,
      incremental: opts.fromOffset !== undefined,
      flattenOnly: opts.flatten,
      onBlobOffset: (offset) => {
        if (opts.fromOffset !== undefined) process.stderr.write(`nsg-flow-ecs: next offset ${offset}\n`);
      },
    };
    try {
      const output = file === "-" ? pool.transformInput(process.stdin, totals, options) : pool.transformFile(file, totals, options);
      for await (const out of output) {
        if (matching) matched += countMatches(out);
        await writeOut(process.stdout, out);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EPIPE") return 0;
      if (!e.code) throw err;
      process.stderr.write(`nsg-flow-ecs: cannot read ${file}: ${e.message}\n`);
      unreadable++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!opts.quiet) {
    const rate = seconds > 0 ? Math.round(totals.records / seconds) : 0;
    process.stderr.write(
      `nsg-flow-ecs: ${totals.records} records, ${totals.errors} errors, ${matching ? `${matched} matching indicators, ` : ""}` +
      `${rate} records/s (${seconds.toFixed(3)} s)\n`,
    );
  }
  return totals.errors > 0 || unreadable > 0 ? 1 : 0;
}

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // A closed pipe (`| head`) is a normal way for a reader to stop.
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const known = err instanceof ModuleError || err instanceof IndicatorError || (err as NodeJS.ErrnoException).code === "ENOENT";
    process.stderr.write(`nsg-flow-ecs: ${known ? (err as Error).message : (err as Error).stack ?? err}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
