// `nsg-flow-ecs [options] [FILE ...]`: flow events in (files or stdin), ECS NDJSON out, a summary
// on stderr. Exit 0 when every record mapped, 1 when any became an error event (or a file could
// not be read).
import { PROFILES, defaultWasmPath, type MapOptions } from "../transform/loader.js";
import { geoFaultsPart, geoSummary, indicatorSummary } from "../transform/summary.js";
import { type StreamOptions, type StreamTotals } from "../transform/stream.js";
import { FlowPool } from "../pool/pool.js";
import { FdWriter } from "../transform/fd.js";
import { stdout } from "./stdout.js";
import { UsageError, oneOf, parseCommand, wholeNumber, type Command } from "./usage.js";
import { ENRICHMENT_OPTIONS, parseEnrichment } from "./enrichment.js";

const OPTIONS = {
  profile: { arg: PROFILES.join("|"), help: "sekoia (the default): the documented intake's ECS event, which its SIEM expects; ecs: one complete ECS event per flow tuple (event.id, Community ID, totals, cloud and resource context, the MAC on the NIC's side)" },
  "community-id-seed": { arg: "N", help: "the Community ID seed of the ecs profile, 0-65535 (default 0)" },
  ...ENRICHMENT_OPTIONS,
  wasm: { arg: "FILE", help: "use this WebAssembly module instead of the built one" },
  threads: { arg: "N", help: "map on N threads (default: the number of cores); inputs under 32 MiB are mapped on one thread whatever N is" },
  quiet: { short: "q", help: "no summary on stderr" },
  flatten: { help: "write the flattened raw events of a blob instead of ECS (what a collector forwards; NDJSON input is written as it is)" },
  "from-offset": { arg: "N", help: "read one growing blob from byte N, an offset this command reported before: only the records added since come out, and an unfinished record is left for the next run. Prints \"next offset M\" on stderr: use M next time." },
} as const;

export const MAP: Command<typeof OPTIONS> = {
  name: "nsg-flow-ecs",
  synopsis: "[options] [FILE ...]\n       nsg-flow-ecs check [--wasm FILE]\n       nsg-flow-ecs collect [options]",
  about: `Maps Azure NSG / VNet flow logs to ECS. Each FILE ("-" or none: stdin) is either a PT1H.json
    blob ({"records":[…]}, as Azure writes it), whose every flow tuple becomes one event, or NDJSON:
    one flattened raw event a line ({"macAddress":…,"flow.0":"<tuple>",…}), or {"message":"<raw
    event>"} lines as wrapping collectors write them; which one is told from the first bytes.
    Writes one ECS event (or one error event, event.kind "pipeline_error") per tuple or line to
    stdout, in order.`,
  positionals: true,
  options: OPTIONS,
  footer: `Commands:
  check                    runs the documented samples through the module and prints a pass/fail
                           line per sample ('nsg-flow-ecs check --help')
  collect                  reads the flow-log blobs of an Azure storage account as they grow,
                           checkpointed ('nsg-flow-ecs collect --help')

Exit status: 0 every record mapped; 1 some record became an error event (or a file could not be
read); 2 usage error, a --wasm module that cannot be used, an indicator set that cannot be read or
has no usable indicator, or a --geo file that cannot be read or is not a MaxMind DB.`,
};


export interface MapArgs {
  wasm?: string;
  quiet: boolean;
  flatten: boolean;
  fromOffset?: number;
  threads?: number;
  mapOptions: MapOptions;
  files: string[];
}

export function parseMapArgs(argv: string[]): MapArgs | "help" | "version" {
  const parsed = parseCommand(MAP, argv);
  if (parsed.kind !== "run") return parsed.kind;
  const v = parsed.values;
  const args: MapArgs = { wasm: v.wasm, quiet: v.quiet ?? false, flatten: v.flatten ?? false, mapOptions: {}, files: parsed.positionals };
  if (v["from-offset"] !== undefined) {
    if (!/^[0-9]+$/.test(v["from-offset"]) || !Number.isSafeInteger(Number(v["from-offset"]))) {
      throw new UsageError("--from-offset needs a byte offset (a whole number)");
    }
    args.fromOffset = Number(v["from-offset"]);
  }
  if (v.threads !== undefined) args.threads = wholeNumber("threads", v.threads, 1, 1024, "a number of threads");
  if (v.profile !== undefined) args.mapOptions.profile = oneOf("profile", v.profile, PROFILES);
  if (v["community-id-seed"] !== undefined) {
    args.mapOptions.communityIdSeed = wholeNumber("community-id-seed", v["community-id-seed"], 0, 65535, "a whole number");
  }
  if (args.fromOffset !== undefined && args.files.length > 1) throw new UsageError("--from-offset reads one blob");
  if (args.flatten && (v.profile !== undefined || v["community-id-seed"] !== undefined)) {
    throw new UsageError("--flatten writes the raw events: --profile and --community-id-seed do not apply");
  }
  if (args.mapOptions.communityIdSeed !== undefined && args.mapOptions.profile !== "ecs") {
    throw new UsageError("--community-id-seed applies to --profile ecs only");
  }
  Object.assign(args.mapOptions, parseEnrichment(v, args.flatten));
  return args;
}

export async function runMap(args: MapArgs): Promise<number> {
  const wasm = args.wasm ?? defaultWasmPath();
  // On several threads a chunk is being written while the next is mapped (keepOutputs: 1), then
  // its buffer is reused (outputViews); on one, a chunk is a view of the module, written at once.
  const pool = new FlowPool({ wasm, transformOptions: args.mapOptions, threads: args.threads, outputViews: true,
    keepOutputs: args.threads === 1 ? 0 : 1 });
  try {
    // Loaded now: an unusable --wasm, indicator set or database is said before any file is read.
    const t = pool.transform;
    if (!args.quiet) {
      for (const r of t.indicatorReports) process.stderr.write(indicatorSummary(r));
      for (const db of t.geoDatabases) process.stderr.write(geoSummary(db));
    }
    return await mapFiles(args, pool);
  } finally {
    void pool.close(); // not awaited: the process exits without waiting for threads to stop
  }
}

async function mapFiles(args: MapArgs, pool: FlowPool): Promise<number> {
  const totals: StreamTotals = { records: 0, errors: 0, matched: 0, geoFaults: 0 };
  const matching = (args.mapOptions.indicators?.length ?? 0) > 0;
  const started = process.hrtime.bigint();
  let unreadable = 0;
  const out = new FdWriter(1, stdout);
  const overlap = args.threads !== 1;
  for (const file of args.files.length > 0 ? args.files : ["-"]) {
    const options: StreamOptions = {
      fromOffset: args.fromOffset,
      incremental: args.fromOffset !== undefined,
      flattenOnly: args.flatten,
      onBlobOffset: (offset) => {
        if (args.fromOffset !== undefined) process.stderr.write(`nsg-flow-ecs: next offset ${offset}\n`);
      },
    };
    try {
      const output = file === "-" ? pool.transformFd(0, totals, options) : pool.transformFile(file, totals, options);
      let writing: Promise<void> | undefined;
      for await (const chunk of output) {
        await writing;
        writing = out.write(chunk, overlap);
        writing.catch(() => undefined); // awaited before the next write; not unhandled meanwhile
      }
      await writing;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EPIPE") process.exit(0); // now: a read of stdin may be waiting
      if (!e.code) throw err;
      process.stderr.write(`nsg-flow-ecs: cannot read ${file}: ${e.message}\n`);
      unreadable++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!args.quiet) {
    const rate = seconds > 0 ? Math.round(totals.records / seconds) : 0;
    process.stderr.write(
      `nsg-flow-ecs: ${totals.records} records, ${totals.errors} errors, ${matching ? `${totals.matched} matching indicators, ` : ""}` +
      geoFaultsPart(totals.geoFaults) +
      `${rate} records/s (${seconds.toFixed(3)} s)\n`,
    );
  }
  return totals.errors > 0 || unreadable > 0 ? 1 : 0;
}
