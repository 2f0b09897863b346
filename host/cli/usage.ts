// One way for every subcommand to take its arguments and to say what is wrong with them: an
// options table read by `node:util` parseArgs, the usage text written from that same table (so a
// new flag is one line, its help included), and one wording for every usage error.
import { parseArgs } from "node:util";

/** A usage error: the command prints `<command>: <message>`, its synopsis, and exits 2. */
export class UsageError extends Error {}

export interface OptionSpec {
  /** The value's name in the usage (`FILE`, `N`); none: a flag that takes no value. */
  arg?: string;
  short?: string;
  /** The option may be given more than once (its values come as an array). */
  multiple?: boolean;
  /** One paragraph; the usage wraps it. */
  help: string;
  /** Accepted but not listed (an option that only exists to be refused with a reason). */
  hidden?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

/** What parseArgs gives for a table: a string (or strings) for an option with a value, else true. */
export type Values<T extends OptionTable> = {
  [K in keyof T]?: T[K] extends { arg: string } ? (T[K] extends { multiple: true } ? string[] : string) : boolean;
};

export interface Command<T extends OptionTable> {
  /** `nsg-flow-ecs`, `nsg-flow-ecs check`, …: how errors and the usage name it. */
  name: string;
  /** What follows the name in the synopsis, e.g. `[options] [FILE ...]`. */
  synopsis: string;
  about: string;
  options: T;
  /** Whether the command takes operands (files); a stray word is a usage error otherwise. */
  positionals?: boolean;
  /** Paragraphs after the options (subcommands, exit status). */
  footer?: string;
}

/** Every command has these two; they are handled before the command sees its values. */
const COMMON: OptionTable = {
  help: { short: "h", help: "this text" },
  version: { help: "the version of nsg-flow-ecs" },
};

export type Parsed<T extends OptionTable> =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "run"; values: Values<T>; positionals: string[] };

/** Reads argv against the table: unknown options, missing values and values given to flags are
 * usage errors in the same words for every command (parseArgs' own messages name its API, not
 * ours, so the tokens are checked here). */
export function parseCommand<T extends OptionTable>(command: Command<T>, argv: string[]): Parsed<T> {
  const table: OptionTable = { ...command.options, ...COMMON };
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = { type: spec.arg === undefined ? "boolean" : "string", multiple: spec.multiple ?? false };
    if (spec.short !== undefined) options[name].short = spec.short;
  }
  const { values, positionals, tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = table[token.name];
    if (spec === undefined) throw new UsageError(`unknown option ${token.rawName}`);
    if (spec.arg !== undefined && token.value === undefined) throw new UsageError(`${token.rawName} needs a value (${spec.arg})`);
    if (spec.arg === undefined && token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (!command.positionals && positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  return { kind: "run", values: values as Values<T>, positionals };
}

const WIDTH = 100;
const HELP_COLUMN = 27;

function wrap(text: string, indent: number, first = ""): string {
  const lines: string[] = [];
  let line = first.padEnd(indent);
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(indent);
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  lines.push(line);
  return lines.join("\n");
}

function flagText(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.arg === undefined ? "" : ` ${spec.arg}`}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

/** The synopsis: one line a usage error ends with. */
export function synopsis(command: Command<OptionTable>): string {
  return `Usage: ${command.name} ${command.synopsis}`;
}

/** The whole text `--help` prints. */
export function usage(command: Command<OptionTable>): string {
  const rows: string[] = [];
  for (const [name, spec] of Object.entries({ ...command.options, ...COMMON })) {
    if (spec.hidden) continue;
    const flag = `  ${flagText(name, spec)}${spec.multiple ? " (repeatable)" : ""}`;
    // A flag too long for its column gets its help on the next line.
    rows.push(flag.length < HELP_COLUMN - 1 ? wrap(spec.help, HELP_COLUMN, flag) : `${flag}\n${wrap(spec.help, HELP_COLUMN)}`);
  }
  const parts = [synopsis(command), wrap(command.about, 0), `Options:\n${rows.join("\n")}`];
  if (command.footer !== undefined) parts.push(command.footer.trimEnd());
  return parts.join("\n\n") + "\n";
}

/** What a usage error prints: what is wrong, the synopsis, and where the options are listed. */
export function usageErrorText(command: Command<OptionTable>, err: UsageError): string {
  return `${command.name}: ${err.message}\n${synopsis(command)}\n'${command.name} --help' lists the options.\n`;
}

// The values the subcommands share, checked in the same words everywhere.

export function wholeNumber(flag: string, value: string, min: number, max: number, what: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} needs ${what} from ${min} to ${max}`);
  }
  return Number(value);
}

export function oneOf<V extends string>(flag: string, value: string, allowed: readonly V[]): V {
  if (!allowed.includes(value as V)) throw new UsageError(`--${flag} needs one of ${allowed.join(", ")}`);
  return value as V;
}
