// The filter in a real Fluent Bit (found as bench/fluent-bit.ts says: $FLUENT_BIT, then
// ../shared/fluent-bit/bin/fluent-bit, then PATH), all of it once with build/nsg-flow-ecs.wasm
// (WAMR's interpreter) and once with build/nsg-flow-ecs.aot (AOT):
//  - the example configurations, run exactly as examples/fluent-bit/README.md says;
//  - the documented samples, the records in fixtures/fluent-bit-real/ and 20,000 generated events,
//    in both record shapes (tail with the json parser: the record is the event; tail without a
//    parser: {"log":"<line>"}), with json.escape_unicode on and off: every record comes out, as
//    exactly what the library (FlowTransform.mapRecord) makes of the bytes Fluent Bit handed the
//    filter (seen through the probe filter echo_hex), compared as JSON with numbers as written;
//    bad records as error events; Fluent Bit exits 0 and logs no error;
//  - the Lua alternative (examples/fluent-bit/nsg-flow-ecs.lua) on the documented samples;
//  - an AOT file of another WAMR AOT version is refused at load time with the message the
//    examples/fluent-bit/README.md quotes.
// The million-record soak is tests/fluent-bit-real-soak.test.ts.
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { buildProbe, errorLines, findFluentBit, runFluentBit, writePipeline, ROOT, type Filter } from "../bench/fluent-bit.js";
import { generateCorpus } from "../bench/corpus.js";
import { FlowTransform } from "../host/transform/loader.js";
import { fluentBitJson } from "../host/check/fluent-bit-harness.js";
import { loadDocumentedCases } from "../host/check/documented.js";
import { canon, ecsDiff, type Json } from "../host/check/compare.js";
import { asFluentBitKeepsIt, parseJsonKeepingNumbers, sameJson } from "./fluent-bit-real-json.js";

const found = findFluentBit();
const bin = "bin" in found ? found.bin : "";
if (!bin) process.stderr.write(`\nFluent Bit tests skipped (tests/fluent-bit-real*.test.ts): ${"why" in found ? found.why : ""}\n\n`);
const withFluentBit = bin ? describe : describe.skip;

const build = (f: string) => path.join(ROOT, "build", f);
interface Engine { name: string; filter: string; wasi: string }
const engines: Engine[] = [{ name: ".wasm (interpreted)", filter: "build/nsg-flow-ecs.wasm", wasi: "build/nsg-flow-ecs-wasi.wasm" }];
if (existsSync(build("nsg-flow-ecs.aot"))) {
  engines.push({ name: ".aot", filter: "build/nsg-flow-ecs.aot", wasi: "build/nsg-flow-ecs-wasi.aot" });
} else if (bin) {
  process.stderr.write("\nFluent Bit tests with the .aot skipped: build/nsg-flow-ecs.aot is not built (no flb-wamrc; see npm run build:aot)\n\n");
}

const library = FlowTransform.fromFile();
const documented = loadDocumentedCases();
const fixture = (f: string) => readFileSync(path.join(ROOT, "tests/fixtures/fluent-bit-real", f));
const lines = (b: Buffer) => {
  const out: Buffer[] = [];
  for (let s = 0; s < b.length;) {
    const e = b.indexOf(0x0a, s);
    const end = e < 0 ? b.length : e;
    if (end > s) out.push(b.subarray(s, end));
    s = end + 1;
  }
  return out;
};

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-fluent-bit-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a configuration from the repository root; asserts exit 0 and no error logged. */
function run(config: string, stdinFile?: string): Buffer[] {
  const r = runFluentBit(bin, ["-c", config], { cwd: ROOT, stdinFile });
  expect(errorLines(r.stderr)).toEqual([]);
  expect(r.status).toBe(0);
  return lines(r.stdout);
}

/** A copy of an example configuration with one module path swapped (paths stay relative to
 * the repository root, where it runs). */
function withModule(example: string, from: string, to: string): string {
  const text = readFileSync(path.join(ROOT, "examples/fluent-bit", example), "utf8");
  expect(text).toContain(from);
  const file = path.join(dir, example);
  writeFileSync(file, text.split(from).join(to));
  return file;
}

/** The library's answer for a record, as JSON, as Fluent Bit keeps it once it has parsed it. */
const libraryJson = (raw: Uint8Array | string) => asFluentBitKeepsIt(parseJsonKeepingNumbers(library.mapRecord(raw)));

withFluentBit("the examples, run as examples/fluent-bit/README.md says", () => {
  const events = readFileSync(path.join(ROOT, "examples/fluent-bit/events.ndjson"), "utf8").trim().split("\n");

  describe.each(engines)("with the $name", (engine) => {
    test.each(["fluent-bit.conf", "fluent-bit.yaml"])("fluent-bit -c examples/fluent-bit/%s prints the 7 ECS events", (example) => {
      const config = engine.filter === "build/nsg-flow-ecs.aot" ? `examples/fluent-bit/${example}`
        : withModule(example, "build/nsg-flow-ecs.aot", engine.filter);
      const out = run(config);
      expect(out).toHaveLength(7);
      out.forEach((line, i) => {
        // The record reaches the filter as Fluent Bit serialises the parsed line.
        expect(sameJson(parseJsonKeepingNumbers(line.toString("utf8")), libraryJson(fluentBitJson(JSON.parse(events[i]!))))).toBe(true);
      });
    });

    test("fluent-bit -c examples/fluent-bit/exec-wasi.conf < events.ndjson prints the 7 ECS events, then stops on SIGTERM", async () => {
      const config = engine.wasi === "build/nsg-flow-ecs-wasi.wasm" ? "examples/fluent-bit/exec-wasi.conf"
        : withModule("exec-wasi.conf", "build/nsg-flow-ecs-wasi.wasm", engine.wasi);
      // `< examples/fluent-bit/events.ndjson`: the file itself is Fluent Bit's stdin.
      const stdin = openSync(path.join(ROOT, "examples/fluent-bit/events.ndjson"), "r");
      const child = spawn(bin, ["-c", config], { cwd: ROOT, stdio: [stdin, "pipe", "pipe"] });
      closeSync(stdin);
      let stdout = "", stderr = "";
      child.stderr!.on("data", (d) => (stderr += d));
      const status = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGTERM"), 20_000);
        child.stdout!.on("data", (d) => {
          stdout += d;
          if (stdout.split("\n").length > 7) {
            clearTimeout(timer);
            child.kill("SIGTERM");
          }
        });
        child.on("exit", (code) => resolve(code));
      });
      expect(errorLines(stderr)).toEqual([]);
      expect(status).toBe(0);
      const out = stdout.trim().split("\n");
      expect(out).toHaveLength(7);
      // The command reads the bytes itself: `message` is the line (for the wrapped one, the inner event).
      out.forEach((line, i) => expect(sameJson(parseJsonKeepingNumbers(line), libraryJson(events[i]!))).toBe(true));
    }, 60_000);
  });

  test("the Lua alternative maps the documented samples as documented (message: the same JSON, in Lua's key order)", () => {
    const input = path.join(dir, "documented.ndjson");
    writeFileSync(input, documented.map((c) => c.input).join("\n") + "\n");
    const config = writePipeline(dir, "lua", {
      input: { file: input, parser: true },
      filters: [{ kind: "lua", script: path.join(ROOT, "examples/fluent-bit/nsg-flow-ecs.lua"), call: "nsg_flow_ecs" }],
      output: "stdout",
    });
    const out = run(config).map((l) => JSON.parse(l.toString("utf8")) as Record<string, Json>);
    expect(out).toHaveLength(documented.length);
    documented.forEach((c, i) => {
      const got = out[i]!;
      expect(canon(JSON.parse(got.message as string))).toEqual(canon(JSON.parse(c.input)));
      expect(ecsDiff({ ...got, message: c.expected.message! }, c.expected)).toEqual([]);
    });
  });
});

// ─── The corpus, both record shapes, both escape modes ───────────────────────────────────────

interface Variant { shape: string; parser: boolean; escapeUnicode: boolean }
const variants: Variant[] = [
  { shape: "tail + json parser (record = the event)", parser: true, escapeUnicode: true },
  { shape: "tail + json parser (record = the event)", parser: true, escapeUnicode: false },
  { shape: 'tail without parser (record = {"log":"<line>"})', parser: false, escapeUnicode: true },
  { shape: 'tail without parser (record = {"log":"<line>"})', parser: false, escapeUnicode: false },
];

withFluentBit("documented samples, odd and bad records and 20,000 generated events through the filter", () => {
  const bad = [
    ...lines(fixture("bad-records.ndjson")),
    Buffer.from(`{"time":"2024-03-18T13:21:42Z","rule":"${"x".repeat(70_000)}"}`), // too large
    Buffer.from('{"time":"2024-03-18T13:21:42Z","deep":' + "[".repeat(80) + "]".repeat(80) + "}"), // too deep
  ];
  const generated = lines(generateCorpus(20_000, 0x5eed8).ndjson).map((l, i) =>
    // Some of them wrapped under `log`, as a collector that wraps would send them.
    i % 97 === 5 ? Buffer.from(JSON.stringify({ log: l.toString("utf8") })) : l);
  const records = [...documented.map((c) => Buffer.from(c.input)), ...lines(fixture("edge-records.ndjson")), ...bad, ...generated];
  const badFrom = documented.length + lines(fixture("edge-records.ndjson")).length;
  const generatedFrom = badFrom + bad.length;
  let input = "";
  let probe = "";

  beforeAll(() => {
    input = path.join(dir, "records.ndjson");
    writeFileSync(input, Buffer.concat(records.flatMap((r) => [r, Buffer.from("\n")])));
    probe = buildProbe(path.join(dir, "probe"), { aot: false }).wasm; // the echo runs interpreted: its AOT file would go unused
  }, 60_000);

  describe.each(variants)("$shape, json.escape_unicode $escapeUnicode", (v) => {
    /** What Fluent Bit handed the filter, record by record: the echo filter's hex. */
    let handed: Buffer[] = [];

    beforeAll(() => {
      const config = writePipeline(dir, "echo", {
        input: { file: input, parser: v.parser }, escapeUnicode: v.escapeUnicode,
        filters: [{ kind: "wasm", path: probe, fn: "echo_hex" }], output: "stdout",
      });
      handed = run(config).map((l) => Buffer.from((JSON.parse(l.toString("utf8")) as { hex: string }).hex, "hex"));
    }, 120_000);

    test("Fluent Bit hands the filter every record, serialised as the in-process harness assumes", () => {
      expect(handed).toHaveLength(records.length);
      // The generated events are plain JSON objects: Fluent Bit's JSON is JSON.stringify's, with
      // non-ASCII as \uXXXX when escape_unicode is on (host/check/fluent-bit-harness.ts, fluentBitJson).
      for (let i = generatedFrom; i < records.length; i++) {
        const record = v.parser ? JSON.parse(records[i]!.toString("utf8")) : { log: records[i]!.toString("utf8") };
        expect(handed[i]!.toString("utf8")).toBe(fluentBitJson(record, v.escapeUnicode));
      }
    });

    test.each(engines)("with the $name: every record comes out as the library maps it; bad records as error events", (engine) => {
      const filters: Filter[] = [{ kind: "wasm", path: path.join(ROOT, engine.filter), fn: "nsg_flow_ecs" }];
      const config = writePipeline(dir, "filter", { input: { file: input, parser: v.parser }, escapeUnicode: v.escapeUnicode, filters, output: "stdout" });
      const out = run(config);
      expect(out).toHaveLength(records.length);
      let errors = 0;
      const differences: string[] = [];
      out.forEach((line, i) => {
        const text = line.toString("utf8");
        const want = library.mapRecord(handed[i]!);
        // The same text is the same JSON; anything else is compared as JSON.
        if (text !== want && !sameJson(parseJsonKeepingNumbers(text), asFluentBitKeepsIt(parseJsonKeepingNumbers(want))) && differences.length < 3) {
          differences.push(`record ${i}:\n  got  ${text}\n  want ${want}`);
        }
        const isError = text.includes('"event":{"kind":"pipeline_error"}}');
        if (isError) errors++;
        if (i >= badFrom && i < generatedFrom) expect([i, isError]).toEqual([i, true]);
      });
      expect(differences).toEqual([]);
      expect(errors).toBeGreaterThanOrEqual(bad.length);
      if (!v.parser) {
        // Unwrapped from `log`, a documented sample's raw event is `message` byte for byte: the
        // documented output exactly.
        documented.forEach((c, i) => expect(ecsDiff(JSON.parse(out[i]!.toString("utf8")), c.expected)).toEqual([]));
      }
    }, 120_000);
  });
});

// ─── WAMR's app heap ───────────────────────────────────────────────────────────────────────

withFluentBit("a record larger than Wasm_Heap_Size (WAMR's app heap, where it copies each record)", () => {
  test.each(engines)("with the $name: an error event in its place that names the setting, and the records around it mapped", (engine) => {
    const records = [
      documented[0]!.input,
      JSON.stringify({ time: "2024-03-18T13:21:42Z", rule: "x".repeat(100_000) }), // over the 63 KiB heap
      JSON.stringify({ time: "2024-03-18T13:21:42Z", rule: "y".repeat(40_000) }), // fits
      documented[1]!.input,
    ];
    const input = path.join(dir, "heap.ndjson");
    writeFileSync(input, records.join("\n") + "\n");
    const text = readFileSync(writePipeline(dir, "heap", {
      input: { file: input, parser: true }, filters: [{ kind: "wasm", path: path.join(ROOT, engine.filter), fn: "nsg_flow_ecs" }], output: "stdout",
    }), "utf8");
    // Fluent Bit's default (8192, one page for WAMR: 63 KiB of heap).
    expect(text).toContain("Wasm_Heap_Size  512K");
    const config = path.join(dir, "heap-8k.conf");
    writeFileSync(config, text.replace("Wasm_Heap_Size  512K", "Wasm_Heap_Size  8K"));
    const r = runFluentBit(bin, ["-c", config], { cwd: ROOT });
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.status).toBe(0);
    const out = lines(r.stdout).map((l) => l.toString("utf8")).filter((l) => l.startsWith("{"));
    expect(out).toHaveLength(records.length);
    const mapped = (i: number) => library.mapRecord(Buffer.from(fluentBitJson(JSON.parse(records[i]!))));
    expect(sameJson(parseJsonKeepingNumbers(out[0]!), asFluentBitKeepsIt(parseJsonKeepingNumbers(mapped(0))))).toBe(true);
    expect(JSON.parse(out[1]!)).toEqual({
      message: "",
      error: { type: "too_large", message: `record is ${Buffer.byteLength(fluentBitJson(JSON.parse(records[1]!)))} bytes, more than the filter's Wasm_Heap_Size holds (raise it above the largest record); message is empty` },
      event: { kind: "pipeline_error" },
    });
    for (const i of [2, 3]) expect(sameJson(parseJsonKeepingNumbers(out[i]!), asFluentBitKeepsIt(parseJsonKeepingNumbers(mapped(i))))).toBe(true);
    // WAMR says so on stdout (its log goes there), into the stream Fluent Bit's stdout output
    // writes: the one line that is not an event.
    const other = lines(r.stdout).map((l) => l.toString("utf8")).filter((l) => !l.startsWith("{"));
    expect(other).toHaveLength(1);
    expect(other[0]).toMatch(/warning: allocate \d+ bytes memory failed$/);
  }, 60_000);
});

// ─── AOT files and WAMR versions ─────────────────────────────────────────────────────────────

withFluentBit("AOT files", () => {
  const aot = build("nsg-flow-ecs.aot");
  const maybe = existsSync(aot) ? test : test.skip;

  maybe("a file of another AOT format version is refused at load time with the message examples/fluent-bit/README.md quotes", () => {
    const other = path.join(dir, "other-version.aot");
    copyFileSync(aot, other);
    const bytes = readFileSync(other);
    // Header: magic "\0aot", then the AOT format version (u32, little-endian): 5 for WAMR 2.4.1.
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from("\0aot", "latin1"));
    expect(bytes.readUInt32LE(4)).toBe(5);
    bytes.writeUInt32LE(3, 4); // what WAMR 1.x (Fluent Bit 2.0 to 4.0) writes
    writeFileSync(other, bytes);
    const input = path.join(dir, "one.ndjson");
    writeFileSync(input, documented[0]!.input + "\n");
    const config = writePipeline(dir, "old-aot", { input: { file: input, parser: true }, filters: [{ kind: "wasm", path: other, fn: "nsg_flow_ecs" }], output: "stdout" });
    const r = runFluentBit(bin, ["-c", config], { cwd: ROOT });
    const readme = readFileSync(path.join(ROOT, "examples/fluent-bit/README.md"), "utf8");
    const quoted = /```text\n(\[error\] Load wasm module failed\. error: [^\n]+)\n/.exec(readme)?.[1];
    expect(quoted).toBeDefined();
    const logged = errorLines(r.stderr).map((l) => l.replace(/^\[[^\]]+\] /, ""));
    expect(logged).toContain(quoted);
    expect(r.status).not.toBe(0);
  });

  maybe("the aarch64 files are AArch64 AOT files of the same format version", () => {
    for (const f of ["nsg-flow-ecs-aarch64.aot", "nsg-flow-ecs-wasi-aarch64.aot"]) {
      const bytes = readFileSync(build(f));
      expect(bytes.subarray(0, 4)).toEqual(Buffer.from("\0aot", "latin1"));
      expect(bytes.readUInt32LE(4)).toBe(readFileSync(aot).readUInt32LE(4));
      // The target-info section (id 0) comes first and holds the ELF machine: 183 is EM_AARCH64,
      // 62 (the x86-64 file's) EM_X86_64.
      expect(bytes.readUInt32LE(8)).toBe(0);
      expect(bytes.readUInt16LE(22)).toBe(183);
    }
    expect(readFileSync(aot).readUInt16LE(22)).toBe(62);
  });
});
