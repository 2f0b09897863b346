// The built CLI as a user runs it: files and stdin, exit codes, summary, check, and the
// workplace's documented-case checker when it is there.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ecsDiff } from "../host/check/compare.js";
import { loadDocumentedCases } from "../host/check/documented.js";
import { compileFixture } from "./compile-fixture.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/host/cli.js");
const cases = loadDocumentedCases();

function run(args: string[], input?: string | Buffer) {
  const r = spawnSync("node", [cli, ...args], { cwd: root, input, maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

const outLines = (s: string) => s.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

test("maps the bundled example: one ECS event per line, exit 0, a summary on stderr", () => {
  const input = readFileSync(join(root, "examples/flattened-events.ndjson"), "utf8");
  const r = run(["examples/flattened-events.ndjson"]);
  expect(r.code).toBe(0);
  const out = outLines(r.stdout);
  expect(out).toHaveLength(input.trim().split("\n").length);
  expect(out.every((o) => typeof o["@timestamp"] === "string" && !o.error)).toBe(true);
  expect(r.stderr).toMatch(/^nsg-flow-ecs: 8 records, 0 errors, \d+ records\/s/);
});

test("reads stdin, maps the documented cases exactly, in order", () => {
  const r = run([], cases.map((c) => c.input).join("\n") + "\n");
  expect(r.code).toBe(0);
  const out = outLines(r.stdout);
  expect(out).toHaveLength(cases.length);
  out.forEach((o, i) => expect(ecsDiff(o, cases[i].expected)).toEqual([]));
});

test("accepts {\"message\": raw} lines from wrapping collectors", () => {
  const wrapped = cases.map((c) => JSON.stringify({ message: c.input })).join("\n");
  const r = run(["-"], wrapped);
  expect(r.code).toBe(0);
  outLines(r.stdout).forEach((o, i) => expect(ecsDiff(o, cases[i].expected)).toEqual([]));
});

test("several files in order; exit 1 with error events when some records are bad", () => {
  const r = run(["examples/flattened-events.ndjson", "examples/bad-events.ndjson"]);
  expect(r.code).toBe(1);
  const out = outLines(r.stdout);
  const bad = readFileSync(join(root, "examples/bad-events.ndjson"), "utf8").trim().split("\n");
  expect(out).toHaveLength(8 + bad.length);
  expect(out.slice(8).map((o) => o.error?.type ?? "mapped")).toEqual([
    "invalid_time", "invalid_json", "not_an_object", "no_timestamp", "mapped",
  ]);
  expect(r.stderr).toMatch(/13 records, 4 errors/);
});

test("usage errors exit 2 with the usage; --help exits 0", () => {
  const bad = run(["--frobnicate"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("unknown option --frobnicate");
  expect(bad.stderr).toContain("Usage:");
  expect(run(["--wasm"]).code).toBe(2);
  const notOurs = run(["check", "--wasm", "build/nsg-flow-ecs-wasi.wasm"]);
  expect(notOurs.code).toBe(2);
  expect(notOurs.stderr).toContain("does not have the nsg-flow-ecs batch ABI");
  const missing = run(["--wasm", "no-such.wasm", "examples/flattened-events.ndjson"]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("no-such.wasm");
  const help = run(["--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("nsg-flow-ecs check");
});

test("a missing file is reported, the others are still mapped, exit 1", () => {
  const r = run(["no-such-file.ndjson", "examples/flattened-events.ndjson"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("cannot read no-such-file.ndjson");
  expect(outLines(r.stdout)).toHaveLength(8);
});

test("a large input streams through completely (output written in large writes with back-pressure)", () => {
  const lines = cases.map((c) => c.input);
  const n = 60_000;
  const input = Array.from({ length: n }, (_, i) => lines[i % lines.length]).join("\n") + "\n";
  const r = run([], input);
  expect(r.code).toBe(0);
  expect(r.stdout.split("\n").length - 1).toBe(n);
  expect(r.stderr).toContain(`${n} records, 0 errors`);
});

test("check passes every documented sample through the built module and both Fluent Bit record shapes", () => {
  const r = run(["check"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`${cases.length * 3} passed, 0 failed`);
  expect(r.stdout.match(/^ok {3}/gm)).toHaveLength(cases.length * 3);
});

test("check --wasm rejects a module that maps wrongly, with the field-level difference", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "nsg-flow-ecs-")), "echo.wasm");
  compileFixture("echo-module.ts", "echo-module.asconfig.json", path);
  const r = run(["check", "--wasm", path]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^FAIL seed\/begin\.json \(batch\)$/m);
  expect(r.stdout).toContain(".event: missing");
  expect(r.stdout).toMatch(/0 passed, \d+ failed/);
});

const checker = join(root, "../shared/tools/check-documented.mjs");
(existsSync(checker) ? test : test.skip)("the workplace checker reports 10 passed against the built CLI", () => {
  const r = spawnSync("node", [checker], { cwd: root, encoding: "utf8" });
  expect(r.stdout).toContain("10 passed, 0 failed");
  expect(r.status).toBe(0);
});

test("a slow reader on the pipe gets every byte, in order (back-pressure, non-blocking pipes)", async () => {
  const lines = cases.map((c) => c.input);
  const input = Array.from({ length: 40_000 }, (_, i) => lines[i % lines.length]).join("\n") + "\n";
  const expected = run(["--quiet"], input).stdout;
  const child = spawn("node", [cli, "--quiet"], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.end(input);
  const chunks: Buffer[] = [];
  let reads = 0;
  child.stdout.on("data", (d: Buffer) => {
    chunks.push(d);
    if (++reads % 5 === 0) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 5);
    }
  });
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect(code).toBe(0);
  expect(Buffer.concat(chunks).toString("utf8")).toBe(expected);
});

// One usage style for every subcommand (host/cli/usage.ts): the same words, exit 2, --help, --version.
const subcommands: [string, string[]][] = [["nsg-flow-ecs", []], ["nsg-flow-ecs check", ["check"]], ["nsg-flow-ecs collect", ["collect"]]];

test("--version prints the package's version, in every subcommand", () => {
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const [, sub] of subcommands) {
    const r = run([...sub, "--version"]);
    expect([sub, r.code, r.stdout, r.stderr]).toEqual([sub, 0, `nsg-flow-ecs ${version}\n`, ""]);
  }
});

test("--help and -h print the subcommand's own usage on stdout, exit 0", () => {
  for (const [name, sub] of subcommands) {
    for (const flag of ["--help", "-h"]) {
      const r = run([...sub, flag]);
      expect([sub, flag, r.code, r.stderr]).toEqual([sub, flag, 0, ""]);
      expect(r.stdout.startsWith(`Usage: ${name} `)).toBe(true);
      expect(r.stdout).toContain("--wasm FILE");
      expect(r.stdout).toContain("--version");
    }
  }
});

test("usage errors: the same wording in every subcommand, the synopsis, a pointer to --help, exit 2, nothing on stdout", () => {
  const cases: [string[], string][] = [
    [["--frobnicate"], "unknown option --frobnicate"],
    [["-z"], "unknown option -z"],
    [["--wasm"], "--wasm needs a value (FILE)"],
    [["--help=yes"], "--help takes no value"],
  ];
  for (const [name, sub] of subcommands) {
    for (const [args, said] of cases) {
      const r = run([...sub, ...args], "");
      expect([sub, args, r.code, r.stdout]).toEqual([sub, args, 2, ""]);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines[0]).toBe(`${name}: ${said}`);
      expect(lines[1].startsWith(`Usage: ${name} `)).toBe(true);
      expect(lines.at(-1)).toBe(`'${name} --help' lists the options.`);
    }
  }
  // Values each subcommand checks, and operands where none are taken.
  for (const [args, said] of [
    [["--threads", "0"], "nsg-flow-ecs: --threads needs a number of threads from 1 to 1024"],
    [["--profile", "elastic"], "nsg-flow-ecs: --profile needs one of sekoia, ecs"],
    [["--from-offset", "-1", "a"], "nsg-flow-ecs: --from-offset needs a byte offset (a whole number)"],
    [["check", "some-file"], "nsg-flow-ecs check: unexpected argument some-file"],
    [["collect", "--connection-string", "x", "stray"], "nsg-flow-ecs collect: unexpected argument stray"],
    [["collect", "--connection-string", "x", "--threads", "many"], "nsg-flow-ecs collect: --threads needs a number of threads from 1 to 1024"],
  ] as [string[], string][]) {
    const r = run(args, "");
    expect([args, r.code, r.stderr.split("\n")[0]]).toEqual([args, 2, said]);
  }
});

test("the option forms parseArgs reads: --opt=value, -q, -- before a file that starts with a dash", () => {
  const a = run(["--profile=ecs", "-q", "--", "examples/flattened-events.ndjson"]);
  const b = run(["--profile", "ecs", "--quiet", "examples/flattened-events.ndjson"]);
  expect([a.code, a.stderr]).toEqual([0, ""]);
  expect(a.stdout).toBe(b.stdout);
  expect(JSON.parse(a.stdout.split("\n")[0]).ecs.version).toBe("8.17.0");
  const dash = run(["-q", "--", "-no-such-file"]);
  expect([dash.code, dash.stderr]).toEqual([1, expect.stringContaining("cannot read -no-such-file")]);
});
