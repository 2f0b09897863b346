#!/usr/bin/env node
// The `nsg-flow-ecs` command: flow events in (files or stdin), ECS NDJSON out, a summary on
// stderr. Exit 0 when every record mapped, 1 when any became an error event, 2 on usage errors.
import { createReadStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { FlowTransform, ModuleError, defaultWasmPath } from "./loader.js";
import { runCheck } from "./check.js";
import { transformStream, type StreamTotals } from "./index.js";

const USAGE = `Usage:
  nsg-flow-ecs [--wasm FILE] [--quiet] [FILE ...]
      Maps Azure NSG / VNet flow events to ECS. Reads each FILE ("-" or none: stdin) as NDJSON,
      one flattened raw event a line ({"macAddress":…,"rule":…,"flow.0":"<tuple>",…}), or
      {"message":"<raw event>"} lines as wrapping collectors write them. Writes one ECS event
      (or one error event, event.kind "pipeline_error") per input record to stdout, in order.
  nsg-flow-ecs check [--wasm FILE]
      Runs the documented samples through the module (the built one, or FILE) and prints a
      pass/fail line per sample. Exit 0 only when all pass.

Options:
  --wasm FILE   use this WebAssembly module instead of the built one
  --quiet       no summary on stderr
  -h, --help    this text

Exit status: 0 every record mapped; 1 some record became an error event (or a file could
not be read); 2 usage error, or a --wasm module that cannot be used.
`;

class UsageError extends Error {}

interface Options {
  command: "map" | "check" | "help";
  wasm?: string;
  quiet: boolean;
  files: string[];
}

export function parseArgs(argv: string[]): Options {
  const opts: Options = { command: "map", quiet: false, files: [] };
  let i = 0;
  if (argv[0] === "check") {
    opts.command = "check";
    i = 1;
  }
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") opts.command = "help";
    else if (a === "--quiet" || a === "-q") opts.quiet = true;
    else if (a === "--wasm") {
      if (i + 1 >= argv.length) throw new UsageError("--wasm needs a file");
      opts.wasm = argv[++i];
    } else if (a.startsWith("--wasm=")) opts.wasm = a.slice(7);
    else if (a === "--") opts.files.push(...argv.slice(i + 1)), (i = argv.length);
    else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else opts.files.push(a);
  }
  if (opts.command === "check" && opts.files.length > 0) throw new UsageError("check takes no files");
  return opts;
}

/** Writes with back-pressure: waits for 'drain' whenever the stream's buffer is full. */
async function writeOut(out: Writable, bytes: Buffer): Promise<void> {
  if (bytes.length > 0 && !out.write(bytes)) await once(out, "drain");
}

async function main(argv: string[]): Promise<number> {
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

  const transform = FlowTransform.fromFile(wasm);
  const totals: StreamTotals = { records: 0, errors: 0 };
  const started = process.hrtime.bigint();
  let unreadable = 0;
  for (const file of opts.files.length > 0 ? opts.files : ["-"]) {
    const input = file === "-" ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
    try {
      for await (const out of transformStream(input, transform, totals)) await writeOut(process.stdout, out);
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
      `nsg-flow-ecs: ${totals.records} records, ${totals.errors} errors, ${rate} records/s (${seconds.toFixed(3)} s)\n`,
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
    const known = err instanceof ModuleError || (err as NodeJS.ErrnoException).code === "ENOENT";
    process.stderr.write(`nsg-flow-ecs: ${known ? (err as Error).message : (err as Error).stack ?? err}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
