// The options tables of host/cli/: what --help lists is the table, so a flag added to a table is
// parsed and documented at once; a repeatable option gives every value.
import { MAP } from "../host/cli/map.js";
import { CHECK } from "../host/cli/check.js";
import { COLLECT, parseCollectArgs } from "../host/cli/collect.js";
import { UsageError, parseCommand, usage, type Command, type OptionTable } from "../host/cli/usage.js";

const commands = [MAP, CHECK, COLLECT] as Command<OptionTable>[];

test.each(commands.map((c) => [c.name, c] as const))("%s --help lists every option of its table, with its value's name", (_n, command) => {
  const text = usage(command);
  for (const [name, spec] of Object.entries(command.options)) {
    const flag = `--${name}${spec.arg ? ` ${spec.arg}` : ""}`;
    if (spec.hidden) expect(text).not.toContain(`--${name}`);
    else expect([name, text.includes(flag)]).toEqual([name, true]);
  }
  // No line wider than the usage's width.
  expect(text.split("\n").filter((l) => l.length > 100 && !l.startsWith("Usage:"))).toEqual([]);
});

test("a repeatable option gives every value, in order; a single one the last", () => {
  const args = parseCollectArgs(["--connection-string", "a", "--container", "x", "--container=y", "--prefix", "p", "--prefix", "q"], {});
  expect(args).toMatchObject({ containers: ["x", "y"], prefix: "q" });
});

test("a table entry is all a new option needs: parsed, checked, listed", () => {
  const command: Command<OptionTable> = { name: "demo", synopsis: "[options]", about: "A demo.", options: { geo: { arg: "FILE", help: "a GeoIP database" } } };
  expect(parseCommand(command, ["--geo", "db.mmdb"])).toEqual({ kind: "run", values: { geo: "db.mmdb" }, positionals: [] });
  expect(() => parseCommand(command, ["--geo"])).toThrow(new UsageError("--geo needs a value (FILE)"));
  expect(() => parseCommand(command, ["stray"])).toThrow(new UsageError("unexpected argument stray"));
  expect(usage(command)).toContain("  --geo FILE               a GeoIP database\n");
});
