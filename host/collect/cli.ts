// `nsg-flow-ecs collect`: its options, the state and output it sets up, signals, and the
// progress lines on stderr.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { availableParallelism } from "node:os";
import { FlowTransform, PROFILES, defaultWasmPath, type MapOptions, type Profile } from "../transform/loader.js";
import { LocalBlobMapper, WorkerBlobMapper } from "./mapper.js";
import { storageClient } from "./azure.js";
import { AuthSetupError, storageAuth, type StorageAuth } from "./credentials.js";
import { DiskCheckpoints, StateError, type CheckpointStore } from "./checkpoints.js";
import { LeasedCheckpoints } from "./leases.js";
import { FileOutput, OutputError, StdoutOutput, type Output } from "./output.js";
import { Collector, type PassSummary } from "./collector.js";

export const COLLECT_USAGE = `  nsg-flow-ecs collect [--connection-string CS | --account-url URL]
                       [--container NAME]... [--prefix P]
                       [--state DIR | --state-container NAME] [--out FILE]
                       [--once | --interval SECONDS] [--flatten] [--grace SECONDS]
                       [--retries N] [--profile sekoia|ecs] [--community-id-seed N]
                       [--threads N] [--wasm FILE] [--quiet]
      Reads the flow-log blobs of an Azure storage account as Network Watcher writes them
      (only the committed bytes that are new since the last read), maps them, and appends
      ECS NDJSON to FILE or stdout. Checkpoints make FILE exactly once across crashes.
      --connection-string CS   the account (else $AZURE_STORAGE_CONNECTION_STRING)
      --account-url URL        the account's blob endpoint, https://ACCOUNT.blob.core.windows.net
                               (or another cloud's), signed in with Microsoft Entra ID:
                               environment, workload identity, managed identity, Azure CLI
                               ($AZURE_TOKEN_CREDENTIALS keeps one); with ?sv=…&sig=…, that SAS
      --container NAME         a container to read (repeatable); default: those of
                               insights-logs-networksecuritygroupflowevent and
                               insights-logs-flowlogflowevent that exist
      --prefix P               only blobs whose name starts with P
      --state DIR              checkpoints on local disk (default ./.nsg-flow-ecs-state)
      --state-container NAME   checkpoints in this container, leased: several collectors
                               share the blobs (at-least-once, stable event.id)
      --out FILE               append to FILE (default: stdout, at-least-once)
      --once                   one pass, then exit
      --interval SECONDS       time between passes (default 60)
      --grace SECONDS          how long after its hour a blob is still read (default 3600)
      --retries N              failed passes in a row before exiting 1 (default 5 with
                               --once, unlimited otherwise)
      --profile sekoia|ecs     sekoia (the default): the documented intake's ECS event;
                               ecs: one complete ECS event per flow tuple (as the CLI)
      --community-id-seed N    the Community ID seed of the ecs profile (default 0)
      --flatten                write the flattened raw events instead of ECS
      --threads N              read and map up to N blobs at once, each on its own thread,
                               when a pass finds several to read (default: the number of
                               cores; 1: one blob at a time, on the main thread)
      Exit status: 0 done (or stopped by SIGINT/SIGTERM after a checkpoint); 1 storage
      unreachable after the retries, or the output cannot be written; 2 usage error.
`;

class UsageError extends Error {}

export interface CollectArgs {
  /** Set when the account is given by a connection string. */
  connectionString?: string;
  /** Set when it is given by its URL (Entra ID, or the SAS in it). */
  accountUrl?: string;
  containers: string[];
  prefix?: string;
  state: string;
  stateContainer?: string;
  out?: string;
  once: boolean;
  intervalMs: number;
  graceMs: number;
  maxRetries: number;
  profile?: Profile;
  communityIdSeed?: number;
  flatten: boolean;
  wasm?: string;
  threads: number;
  quiet: boolean;
}

export function parseCollectArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CollectArgs | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        "connection-string": { type: "string" },
        "account-url": { type: "string" },
        container: { type: "string", multiple: true },
        prefix: { type: "string" },
        state: { type: "string" },
        "state-container": { type: "string" },
        out: { type: "string" },
        once: { type: "boolean" },
        interval: { type: "string" },
        grace: { type: "string" },
        retries: { type: "string" },
        profile: { type: "string" },
        "community-id-seed": { type: "string" },
        flatten: { type: "boolean" },
        wasm: { type: "string" },
        threads: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const accountUrl = values["account-url"];
  if (accountUrl !== undefined && values["connection-string"] !== undefined) {
    throw new UsageError("--connection-string and --account-url are exclusive: give the one way to the account");
  }
  // An explicit --account-url wins over a connection string in the environment.
  const connectionString = accountUrl === undefined ? values["connection-string"] ?? env.AZURE_STORAGE_CONNECTION_STRING : undefined;
  if (!connectionString && accountUrl === undefined) {
    throw new UsageError("no storage account: give --connection-string, --account-url or set AZURE_STORAGE_CONNECTION_STRING");
  }
  if (values.state !== undefined && values["state-container"] !== undefined) {
    throw new UsageError("--state and --state-container are exclusive");
  }
  if (values.once && values.interval !== undefined) throw new UsageError("--once and --interval are exclusive");
  if (values.profile !== undefined && !PROFILES.includes(values.profile as Profile)) {
    throw new UsageError(`--profile needs one of ${PROFILES.join(", ")}`);
  }
  const seed = values["community-id-seed"];
  if (seed !== undefined && (!/^[0-9]{1,5}$/.test(seed) || Number(seed) > 65535)) {
    throw new UsageError("--community-id-seed needs a whole number from 0 to 65535");
  }
  const threads = values.threads === undefined ? availableParallelism() : count("--threads", values.threads);
  if (threads < 1 || threads > 1024) throw new UsageError("--threads needs a number of threads from 1 to 1024");
  return {
    connectionString: connectionString || undefined,
    accountUrl,
    containers: values.container ?? [],
    prefix: values.prefix,
    state: values.state ?? ".nsg-flow-ecs-state",
    stateContainer: values["state-container"],
    out: values.out,
    once: values.once ?? false,
    intervalMs: positive("--interval", seconds("--interval", values.interval, 60)) * 1000,
    graceMs: seconds("--grace", values.grace, 3600) * 1000,
    maxRetries: values.retries === undefined ? (values.once ? 5 : Infinity) : count("--retries", values.retries),
    profile: values.profile as Profile | undefined,
    communityIdSeed: seed === undefined ? undefined : Number(seed),
    flatten: values.flatten ?? false,
    wasm: values.wasm,
    threads,
    quiet: values.quiet ?? false,
  };
}

function seconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !Number.isFinite(n)) throw new UsageError(`${name} needs a number of seconds`);
  return n;
}

function positive(name: string, n: number): number {
  if (n <= 0) throw new UsageError(`${name} must be more than 0`);
  return n;
}

function count(name: string, value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`${name} needs a whole number`);
  return Number(value);
}

const HEARTBEAT_MS = 60_000;

const say = (line: string) => process.stderr.write(`nsg-flow-ecs collect: ${line}\n`);

export async function collectMain(argv: string[]): Promise<number> {
  let args: CollectArgs | "help";
  try {
    args = parseCollectArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`nsg-flow-ecs collect: ${err.message}\n\nUsage:\n${COLLECT_USAGE}`);
    return 2;
  }
  if (args === "help") {
    process.stdout.write(`Usage:\n${COLLECT_USAGE}`);
    return 0;
  }
  let auth: StorageAuth;
  let service;
  try {
    auth = storageAuth(args);
    service = storageClient(auth);
  } catch (err) {
    const what = err instanceof AuthSetupError ? "" : args.accountUrl === undefined ? "the connection string cannot be used: " : "--account-url cannot be used: ";
    process.stderr.write(`nsg-flow-ecs collect: ${what}${(err as Error).message}\n\nUsage:\n${COLLECT_USAGE}`);
    return 2;
  }
  // Every event gets its event.id: what lets a downstream index drop at-least-once re-sends.
  const mapOptions: MapOptions = { eventId: true, profile: args.profile, communityIdSeed: args.communityIdSeed };
  const wasm = args.wasm ?? defaultWasmPath();
  // Loaded even when worker threads map: a module that cannot take the options is said here,
  // before anything starts.
  let transform: FlowTransform;
  try {
    transform = FlowTransform.fromFile(wasm, mapOptions);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    process.stderr.write(`nsg-flow-ecs collect: this module cannot take these options: ${err.message}\n`);
    return 2;
  }

  let store: CheckpointStore | undefined;
  let output: Output | undefined;
  let collector: Collector | undefined;
  let signalled = false;
  const onSignal = () => {
    if (signalled) process.exit(130); // a second signal: leave now (the restart cuts FILE back)
    signalled = true;
    collector?.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (args.stateContainer !== undefined) {
      store = new LeasedCheckpoints(service.getContainerClient(args.stateContainer));
      output = args.out === undefined ? new StdoutOutput() : openWhole(args.out);
    } else {
      const disk = DiskCheckpoints.open(args.state, service.accountName);
      store = disk;
      if (args.out !== undefined) {
        const file = openExactlyOnce(args.out, disk);
        if (disk.output?.path !== file.path || disk.output.length !== file.length) await disk.adoptOutput(file.path, file.length);
        output = file;
      } else {
        output = new StdoutOutput();
      }
    }
    const totals: PassSummary = { listed: 0, read: 0, records: 0, errors: 0, bytes: 0, lagMs: 0 };
    let passes = 0;
    let lastLine = 0;
    // One thread: the main thread maps. More: every lane maps on a worker thread of its own and
    // the main thread only downloads, writes and checkpoints (it is busy enough with that: the
    // storage SDK and the output take about as much CPU as the mapping).
    const transformForOneThread = transform;
    collector = new Collector(service, store, output, args.threads === 1
      ? () => new LocalBlobMapper(transformForOneThread)
      : () => new WorkerBlobMapper({ wasm, transformOptions: mapOptions }), {
      containers: args.containers,
      prefix: args.prefix,
      flatten: args.flatten,
      graceMs: args.graceMs,
      once: args.once,
      intervalMs: args.intervalMs,
      maxRetries: args.maxRetries,
      shuffle: args.stateContainer !== undefined,
      threads: args.threads,
      auth: { mode: auth.mode, stateContainer: args.stateContainer },
    }, say, (pass, secs) => {
      passes++;
      totals.read += pass.read;
      totals.records += pass.records;
      totals.errors += pass.errors;
      totals.bytes += pass.bytes;
      totals.lagMs = Math.max(totals.lagMs, pass.lagMs);
      // A line for each pass that read something, else one a minute (a heartbeat).
      if (args.quiet || (pass.read === 0 && Date.now() - lastLine < HEARTBEAT_MS)) return;
      say(progressLine(pass, `${pass.listed} blobs (${pass.read} read)`, secs));
      lastLine = Date.now();
    });
    if (signalled) collector.stop(); // a signal during set-up: stop before the first pass
    const started = Date.now();
    const code = await collector.run();
    if (!args.quiet && !args.once) say(progressLine(totals, `${passes} passes, ${totals.read} blob reads`, (Date.now() - started) / 1000));
    return code;
  } catch (err) {
    if (err instanceof OutputError || err instanceof StateError) {
      say(err.message);
      return 1;
    }
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await collector?.close();
    output?.close();
    await store?.close();
  }
}

/** Opens FILE to append whole lines: a line cut by a crash is dropped. */
function openWhole(path: string, output = FileOutput.open(resolve(path))): FileOutput {
  const end = output.lastLineEnd();
  if (end < output.length) {
    say(`${path}: dropping a partial last line (${output.length - end} bytes)`);
    output.truncate(end);
  }
  return output;
}

/** Opens FILE consistently with the disk checkpoints: what was written after the last
 * checkpoint (a crash between the write and the checkpoint) is cut off. */
function openExactlyOnce(path: string, store: DiskCheckpoints): FileOutput {
  const output = FileOutput.open(resolve(path));
  const recorded = store.output;
  if (recorded?.path !== output.path) return openWhole(path, output);
  if (output.length > recorded.length) {
    say(`${path}: cutting ${output.length - recorded.length} bytes written after the last checkpoint`);
    output.truncate(recorded.length);
  } else if (output.length < recorded.length) {
    say(`${path} is shorter than the last checkpoint says (rotated or truncated?): appending at its end`);
    return openWhole(path, output);
  }
  return output;
}

function progressLine(p: Omit<PassSummary, "listed" | "read">, what: string, secs: number): string {
  const lag = p.lagMs > 0 ? `, lag ${Math.round(p.lagMs / 1000)} s` : "";
  return `${what}, ${p.records} records, ${p.records - p.errors} events, ${p.errors} errors, ` +
    `${p.bytes} bytes read${lag} (${secs.toFixed(1)} s)`;
}
