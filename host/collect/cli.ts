// `nsg-flow-ecs collect` once its arguments are read (`host/cli/collect.ts`): the state and
// output it sets up, signals, and the progress lines on stderr.
import { resolve } from "node:path";
import { FlowTransform, defaultWasmPath, type MapOptions, type Profile } from "../transform/loader.js";
import { geoFaultsPart, geoSummary, indicatorSummary } from "../transform/summary.js";
import { LocalBlobMapper, WorkerBlobMapper } from "./mapper.js";
import { storageClient } from "./azure.js";
import { AuthSetupError, storageAuth, type StorageAuth } from "./credentials.js";

export { AuthSetupError };
import { DiskCheckpoints, StateError, type CheckpointStore } from "./checkpoints.js";
import { LeasedCheckpoints } from "./leases.js";
import { FileOutput, OutputError, StdoutOutput, type Output } from "./output.js";
import { Collector, type PassSummary } from "./collector.js";
import { DataFiles } from "./data-files.js";

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
  /** Indicator sets and geo databases (`--indicators`, `--geo`). */
  indicators?: MapOptions["indicators"];
  geo?: MapOptions["geo"];
  flatten: boolean;
  wasm?: string;
  threads: number;
  quiet: boolean;
}

const HEARTBEAT_MS = 60_000;

const say = (line: string) => process.stderr.write(`nsg-flow-ecs collect: ${line}\n`);

/** Runs the collector with arguments the CLI has checked (`host/cli/collect.ts`). */
export async function collectMain(args: CollectArgs): Promise<number> {
  let auth: StorageAuth;
  let service;
  try {
    auth = storageAuth(args);
    service = storageClient(auth);
  } catch (err) {
    // A usage error of `collect` (host/cli.ts prints it in the commands' one style, exit 2).
    if (err instanceof AuthSetupError) throw err;
    throw new AuthSetupError(`${args.accountUrl === undefined ? "the connection string" : "--account-url"} cannot be used: ${(err as Error).message}`);
  }
  // Every event gets its event.id: what lets a downstream index drop at-least-once re-sends.
  const mapOptions: MapOptions = { eventId: true, profile: args.profile, communityIdSeed: args.communityIdSeed };
  if (args.indicators) mapOptions.indicators = args.indicators;
  if (args.geo) mapOptions.geo = args.geo;
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
  const describe = (t: FlowTransform) => {
    if (args.quiet) return;
    for (const r of t.indicatorReports) process.stderr.write(indicatorSummary(r, "nsg-flow-ecs collect"));
    for (const db of t.geoDatabases) process.stderr.write(geoSummary(db, "nsg-flow-ecs collect"));
  };
  describe(transform);
  let transformForOneThread = transform;
  const dataFiles = new DataFiles([...(args.indicators ?? []).flatMap((s) => s.path ?? []),
    ...(args.geo ?? []).filter((g): g is string => typeof g === "string")]);
  /** **decided** (DEVELOPERS.md, "Settings and data files"): a changed file is loaded before the
   * next pass; a version that cannot be used keeps the previous data and is said once. */
  const reload = (): boolean => {
    if (!dataFiles.changed()) return false;
    let next: FlowTransform;
    try {
      next = FlowTransform.fromFile(wasm, mapOptions);
    } catch (err) {
      say(`a data file changed but cannot be used, keeping the previous data: ${(err as Error).message}`);
      return false;
    }
    say("a data file changed: loaded again");
    describe(next);
    transformForOneThread = next;
    return true;
  };
  const matching = (args.indicators?.length ?? 0) > 0;

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
    const totals: PassSummary = { listed: 0, read: 0, records: 0, errors: 0, bytes: 0, lagMs: 0, matched: 0, geoFaults: 0 };
    let passes = 0;
    let lastLine = 0;
    // One thread: the main thread maps. More: every lane maps on a worker thread of its own and
    // the main thread only downloads, writes and checkpoints (it is busy enough with that: the
    // storage SDK and the output take about as much CPU as the mapping).
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
      reload,
    }, say, (pass, secs) => {
      passes++;
      totals.read += pass.read;
      totals.records += pass.records;
      totals.errors += pass.errors;
      totals.matched! += pass.matched ?? 0;
      totals.geoFaults! += pass.geoFaults ?? 0;
      totals.bytes += pass.bytes;
      totals.lagMs = Math.max(totals.lagMs, pass.lagMs);
      // A line for each pass that read something, else one a minute (a heartbeat).
      if (args.quiet || (pass.read === 0 && Date.now() - lastLine < HEARTBEAT_MS)) return;
      say(progressLine(pass, `${pass.listed} blobs (${pass.read} read)`, secs, matching));
      lastLine = Date.now();
    });
    if (signalled) collector.stop(); // a signal during set-up: stop before the first pass
    const started = Date.now();
    const code = await collector.run();
    if (!args.quiet && !args.once) say(progressLine(totals, `${passes} passes, ${totals.read} blob reads`, (Date.now() - started) / 1000, matching));
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

function progressLine(p: Omit<PassSummary, "listed" | "read">, what: string, secs: number, matching: boolean): string {
  const lag = p.lagMs > 0 ? `, lag ${Math.round(p.lagMs / 1000)} s` : "";
  const matched = matching ? `${p.matched ?? 0} matching indicators, ` : "";
  return `${what}, ${p.records} records, ${p.records - p.errors} events, ${p.errors} errors, ${matched}${geoFaultsPart(p.geoFaults)}` +
    `${p.bytes} bytes read${lag} (${secs.toFixed(1)} s)`;
}
