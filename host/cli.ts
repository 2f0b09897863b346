#!/usr/bin/env node
// The `nsg-flow-ecs` command: picks the subcommand, prints its usage, version or usage error in
// one style (`host/cli/usage.ts`), and turns what it returns into the exit status: 2 for any
// usage error or an unusable --wasm.
import { readFileSync } from "node:fs";
import { GeoError, IndicatorError, ModuleError } from "./transform/loader.js";
import { UsageError, usage, usageErrorText, type Command, type OptionTable } from "./cli/usage.js";
import { MAP, parseMapArgs, runMap } from "./cli/map.js";
import { CHECK, parseCheckArgs, runCheckCommand } from "./cli/check.js";
import { COLLECT, parseCollectArgs } from "./cli/collect.js";
import { stdout } from "./cli/stdout.js";

function version(): string {
  // dist/host/cli.js → the package's own package.json, the one npm installed with it.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return `nsg-flow-ecs ${pkg.version}\n`;
}

/** Parses with `parse`; prints help or the version, or the usage error (exit 2); else runs. */
async function command<A>(cmd: Command<OptionTable>, argv: string[], parse: (argv: string[]) => A | "help" | "version",
  run: (args: A) => number | Promise<number>): Promise<number> {
  let args: A | "help" | "version";
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText(cmd, err));
    return 2;
  }
  if (args === "help") stdout().write(usage(cmd));
  else if (args === "version") stdout().write(version());
  else return run(args);
  return 0;
}

function main(argv: string[]): Promise<number> {
  if (argv[0] === "check") return command(CHECK, argv.slice(1), parseCheckArgs, runCheckCommand);
  if (argv[0] === "collect") {
    // The storage SDK is loaded only by the command that uses it: the mapping command starts
    // faster without it.
    return command(COLLECT, argv.slice(1), parseCollectArgs, async (args) => {
      const collect = await import("./collect/cli.js");
      try {
        return await collect.collectMain(args);
      } catch (err) {
        // How to reach the account is checked once the storage SDK is loaded: still a usage error.
        if (!(err instanceof collect.AuthSetupError)) throw err;
        process.stderr.write(usageErrorText(COLLECT, new UsageError(err.message)));
        return 2;
      }
    });
  }
  return command(MAP, argv, parseMapArgs, runMap);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const known = err instanceof ModuleError || err instanceof IndicatorError || err instanceof GeoError || (err as NodeJS.ErrnoException).code === "ENOENT";
    process.stderr.write(`nsg-flow-ecs: ${known ? (err as Error).message : (err as Error).stack ?? err}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
