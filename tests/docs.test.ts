// The docs cannot rot: every fenced shell block of README.md and docs/*.md runs here, as a user
// would type it, and what it shows must hold. How a block is written (docs/testing.md, "The
// docs test"):
// - ```sh / ```bash / ```shell: each command (a `\` at a line's end continues it) runs from the
//   repository root and must exit 0, or the status a trailing `# exit N` comment names;
// - ```console: `$ command` lines, each followed by the output it prints (stdout and stderr
//   together), compared exactly;
// - ```sh no-run: <reason>: not run (Azure, wasmtime, a rebuild…); listed as skipped with the
//   reason, so nothing is left out silently.
// `nsg-flow-ecs` is the built CLI and `fluent-bit` the one the Fluent Bit suites find. Commands
// run in a scratch directory holding links to the repository's files, so what they write
// (`> ecs.ndjson`) lands there.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { findFluentBit } from "../bench/fluent-bit.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const pages = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];

interface Block {
  page: string;
  line: number;
  lang: string;
  /** What follows the language in the info string. */
  rest: string;
  body: string[];
}

const SHELL = new Set(["sh", "bash", "shell", "console"]);

/** Fenced blocks, also inside list items (the fence's indentation is taken off its lines). */
function blocks(page: string): Block[] {
  const lines = readFileSync(join(root, page), "utf8").split("\n");
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j].trim().startsWith(fence) && lines[j].trim().replace(/[`~]/g, "") === "")) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    found.push({ page, line: i + 1, lang, rest: rest.trim(), body });
    i = j;
  }
  return found;
}

/** Joins `\` continuations; drops blank and comment-only lines. */
function commands(lines: string[]): string[] {
  const out: string[] = [];
  let current = "";
  for (const line of lines) {
    if (current === "" && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    if (line.endsWith("\\")) current += line.slice(0, -1) + " ";
    else {
      out.push(current + line);
      current = "";
    }
  }
  if (current !== "") out.push(current);
  return out;
}

/** The status a command's trailing comment announces (`# exit 1: error events`), else 0. */
const expectedStatus = (command: string): number => Number(/#[^#]*\bexit (\d+)\b/.exec(command)?.[1] ?? 0);

// npm run test:quick starts no real Fluent Bit: its blocks are listed as not run there.
const found: ReturnType<typeof findFluentBit> = process.env.NSG_FLOW_ECS_TEST_QUICK
  ? { why: "npm run test:quick runs no real Fluent Bit (npm test does)" } : findFluentBit();
const fluentBit = "bin" in found ? found : undefined;
const usesFluentBit = (command: string) => /(^|[\s|;&(])fluent-bit\s/.test(command);

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-docs-"));
  for (const entry of readdirSync(root)) {
    if (entry !== ".git") symlinkSync(join(root, entry), join(scratch, entry));
  }
  const bin = join(scratch, ".docs-bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "nsg-flow-ecs"), `#!/bin/sh\nexec "${process.execPath}" "${join(root, "dist/host/cli.js")}" "$@"\n`);
  chmodSync(join(bin, "nsg-flow-ecs"), 0o755);
  if (fluentBit) symlinkSync(fluentBit.bin, join(bin, "fluent-bit"));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sh(command: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["-c", command], {
    cwd: scratch,
    encoding: "utf8",
    env: { ...process.env, PATH: `${join(scratch, ".docs-bin")}:${process.env.PATH}` },
    timeout: 60_000,
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const all = pages.flatMap(blocks);
const shellBlocks = all.filter((b) => SHELL.has(b.lang));
const notRun = shellBlocks.filter((b) => b.rest.startsWith("no-run"));
const needsFluentBit = (b: Block) => b.body.some(usesFluentBit);
const where = (b: Block) => `${b.page}:${b.line}`;

test("the pages have shell blocks, and each block's info string is one the test knows", () => {
  expect(shellBlocks.length).toBeGreaterThan(10);
  for (const b of shellBlocks) {
    // A typo (`no_run`, `norun`) must not turn into a block that is silently run or skipped.
    expect([where(b), b.rest === "" || /^no-run: \S/.test(b.rest)]).toEqual([where(b), true]);
  }
  // Said once, in the run's output: what is not run, and why.
  process.stdout.write(`docs: ${shellBlocks.length} shell blocks, ${notRun.length} not run:\n` +
    notRun.map((b) => `  ${where(b)} — ${b.rest.slice("no-run:".length).trim()}\n`).join(""));
});

for (const b of shellBlocks) {
  if (b.rest.startsWith("no-run")) {
    test.skip(`${where(b)} not run: ${b.rest.slice("no-run:".length).trim()}`, () => {});
  } else if (needsFluentBit(b) && !fluentBit) {
    test.skip(`${where(b)} not run: ${"why" in found ? found.why : ""}`, () => {});
  } else if (b.lang === "console") {
    test(`${where(b)} console: each command prints what the page shows`, () => {
      const steps: { command: string; output: string[] }[] = [];
      for (const line of b.body) {
        if (line.startsWith("$ ")) steps.push({ command: line.slice(2), output: [] });
        else if (steps.length > 0) steps.at(-1)!.output.push(line);
        else throw new Error(`${where(b)}: output before any "$ " command`);
      }
      expect(steps.length).toBeGreaterThan(0);
      for (const step of steps) {
        // On a line of its own: a trailing comment would swallow the redirection.
        const r = sh(`{\n${step.command}\n} 2>&1`);
        const shown = step.output.join("\n").trimEnd();
        expect({ command: step.command, status: r.status, output: r.stdout.trimEnd() })
          .toEqual({ command: step.command, status: expectedStatus(step.command), output: shown });
      }
    });
  } else {
    test(`${where(b)} ${b.lang}: every command exits as the page says`, () => {
      const list = commands(b.body);
      expect(list.length).toBeGreaterThan(0);
      for (const command of list) {
        const r = sh(command);
        expect({ command, status: r.status, stderr: r.status === expectedStatus(command) ? "" : r.stderr })
          .toEqual({ command, status: expectedStatus(command), stderr: "" });
      }
    });
  }
}

/** GitHub's anchor for a heading: lower case, punctuation dropped (not `-` or `_`), spaces → `-`. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");

test("every relative link of the pages points at a file that exists, and at a heading it has", () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(join(root, page), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split("#");
      const path = file === "" ? join(root, page) : resolve(dirname(join(root, page)), file);
      if (!existsSync(path)) {
        broken.push(`${page}: ${target} (no ${relative(root, path)})`);
        continue;
      }
      if (anchor !== undefined && path.endsWith(".md")) {
        const headings = readFileSync(path, "utf8").split("\n").filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, "")));
        if (!headings.includes(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
      }
    }
  }
  expect(broken).toEqual([]);
});

test("the README stays a front page", () => {
  expect(readFileSync(join(root, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(200);
});
