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
