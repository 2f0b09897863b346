// `nsg-flow-ecs collect`'s arguments. What they set up and run is `collect/`'s; this file only
// turns argv into its CollectArgs.
import { availableParallelism } from "node:os";
import { PROFILES } from "../transform/loader.js";
import type { CollectArgs } from "../collect/cli.js";
import { UsageError, oneOf, parseCommand, wholeNumber, type Command } from "./usage.js";
import { ENRICHMENT_OPTIONS, parseEnrichment } from "./enrichment.js";

const OPTIONS = {
  "connection-string": { arg: "CS", help: "the account (else $AZURE_STORAGE_CONNECTION_STRING)" },
  "account-url": { arg: "URL", help: "instead: the account's blob endpoint, https://ACCOUNT.blob.core.windows.net (or another cloud's), signed in with Microsoft Entra ID (environment, workload identity, managed identity, Azure CLI; $AZURE_TOKEN_CREDENTIALS keeps one); with ?sv=…&sig=…, that SAS" },
  container: { arg: "NAME", multiple: true, help: "a container to read; default: those of insights-logs-networksecuritygroupflowevent and insights-logs-flowlogflowevent that exist" },
  prefix: { arg: "P", help: "only blobs whose name starts with P" },
  state: { arg: "DIR", help: "checkpoints on local disk (default ./.nsg-flow-ecs-state)" },
  "state-container": { arg: "NAME", help: "checkpoints in this container, leased: several collectors share the blobs (at-least-once, stable event.id)" },
  out: { arg: "FILE", help: "append to FILE (default: stdout, at-least-once)" },
  once: { help: "one pass, then exit" },
  interval: { arg: "SECONDS", help: "time between passes (default 60)" },
  grace: { arg: "SECONDS", help: "how long after its hour a blob is still read (default 3600)" },
  retries: { arg: "N", help: "failed passes in a row before exiting 1 (default 5 with --once, unlimited otherwise)" },
  profile: { arg: PROFILES.join("|"), help: "sekoia (the default): the documented intake's ECS event; ecs: one complete ECS event per flow tuple (as the CLI)" },
  "community-id-seed": { arg: "N", help: "the Community ID seed of the ecs profile (default 0)" },
  ...ENRICHMENT_OPTIONS,
  flatten: { help: "write the flattened raw events instead of ECS" },
  threads: { arg: "N", help: "read and map up to N blobs at once, each on its own thread, when a pass finds several to read (default: the number of cores; 1: one blob at a time, on the main thread)" },
  wasm: { arg: "FILE", help: "use this WebAssembly module instead of the built one" },
  quiet: { short: "q", help: "no progress lines on stderr" },
} as const;

export const COLLECT: Command<typeof OPTIONS> = {
  name: "nsg-flow-ecs collect",
  synopsis: "[--connection-string CS | --account-url URL] [--out FILE] [--once | --interval SECONDS] [options]",
  about: `Reads the flow-log blobs of an Azure storage account as Network Watcher writes them (only the
    committed bytes that are new since the last read), maps them, and appends ECS NDJSON to FILE or
    stdout. Checkpoints make FILE exactly once across crashes.`,
  options: OPTIONS,
  footer: `Exit status: 0 done (or stopped by SIGINT/SIGTERM after a checkpoint); 1 storage unreachable
after the retries, or the output cannot be written; 2 usage error, or an indicator set or a --geo
file that cannot be used.`,
};

export function parseCollectArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CollectArgs | "help" | "version" {
  const parsed = parseCommand(COLLECT, argv);
  if (parsed.kind !== "run") return parsed.kind;
  const values = parsed.values;
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
  const seed = values["community-id-seed"];
  const enrichment = parseEnrichment(values, values.flatten ?? false);
  return {
    ...enrichment,
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
    profile: values.profile === undefined ? undefined : oneOf("profile", values.profile, PROFILES),
    communityIdSeed: seed === undefined ? undefined : wholeNumber("community-id-seed", seed, 0, 65535, "a whole number"),
    flatten: values.flatten ?? false,
    wasm: values.wasm,
    threads: values.threads === undefined ? availableParallelism() : wholeNumber("threads", values.threads, 1, 1024, "a number of threads"),
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
