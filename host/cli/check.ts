// `nsg-flow-ecs check [--wasm FILE]`: the documented samples through a module, a pass/fail line each.
import { defaultWasmPath } from "../transform/loader.js";
import { runCheck } from "../check/check.js";
import { UsageError, parseCommand, type Command } from "./usage.js";
import { stdout } from "./stdout.js";

const OPTIONS = {
  wasm: { arg: "FILE", help: "check this WebAssembly module (the one you are about to deploy) instead of the built one" },
  // Taken only to say why not: a user who maps with --profile ecs may expect check to follow.
  profile: { arg: "P", hidden: true, help: "" },
  "community-id-seed": { arg: "N", hidden: true, help: "" },
} as const;

export const CHECK: Command<typeof OPTIONS> = {
  name: "nsg-flow-ecs check",
  synopsis: "[--wasm FILE]",
  about: `Runs the documented samples bundled with the package through the module, through the batch
    ABI and through the Fluent Bit filter ABI with both record shapes, and prints a pass/fail line
    per sample, with the field-level difference on failure.`,
  options: OPTIONS,
  footer: "Exit status: 0 every sample passed; 1 some failed; 2 usage error, or a --wasm module that cannot\nbe used.",
};

export function parseCheckArgs(argv: string[]): { wasm?: string } | "help" | "version" {
  const parsed = parseCommand(CHECK, argv);
  if (parsed.kind !== "run") return parsed.kind;
  if (parsed.values.profile !== undefined || parsed.values["community-id-seed"] !== undefined) {
    throw new UsageError("the documented samples pin the sekoia profile: check takes no --profile");
  }
  return { wasm: parsed.values.wasm };
}

export function runCheckCommand(args: { wasm?: string }): number {
  const result = runCheck(args.wasm ?? defaultWasmPath());
  stdout().write(result.lines.join("\n") + "\n");
  return result.failed === 0 ? 0 : 1;
}
