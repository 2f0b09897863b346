// build/nsg-flow-ecs-wasi.wasm under node:wasi, as `wasmtime run` or Fluent Bit's exec_wasi
// would run it: stdin in, ECS NDJSON out, a summary on stderr, the CLI's exit status.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { geoSummary, indicatorSummary } from "../host/transform/summary.js";
import { writeMmdb, u64 } from "./geo/mmdb-writer.js";
import fc from "fast-check";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { ecsDiff, type Json } from "../host/check/compare.js";
import { loadDocumentedCases } from "../host/check/documented.js";

const wasmPath = builtWasm("nsg-flow-ecs-wasi.wasm");
const module = new WebAssembly.Module(readFileSync(wasmPath));
const runner = fileURLToPath(new URL("./wasi-runner.mjs", import.meta.url));
const cases = loadDocumentedCases();

const stdinDir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-wasi-stdin-"));
let stdinCount = 0;

/** Runs the command with `input` on stdin, in a process of its own (tests/wasi-runner.mjs says
 * why); a run whose host process died of a signal is run again, up to twice. Stdin is a file, not
 * a pipe: a command that exits 2 before reading would otherwise fail the write with EPIPE. */
export function runWasi(input: string | Buffer, args: string[] = [], preopens: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const file = path.join(stdinDir, `${stdinCount++}.in`);
  writeFileSync(file, input);
  for (let attempt = 0; ; attempt++) {
    const env = { ...process.env, WASI_PREOPENS: JSON.stringify(preopens) };
    const fd = openSync(file, "r");
    let r;
    try {
      r = spawnSync(process.execPath, ["--no-warnings", runner, wasmPath, ...args], { stdio: [fd, "pipe", "pipe"], encoding: "utf8", maxBuffer: 1 << 28, env });
    } finally {
      closeSync(fd);
    }
    if (r.error) throw r.error;
    if (r.signal === null) return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    if (attempt === 2) throw new Error(`node:wasi died of ${r.signal} three times running the command: ${r.stderr.slice(-2000)}`);
    process.stdout.write(`wasi test: the host process died of ${r.signal} (node:wasi); running the command again\n`);
  }
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Json);

test("maps NDJSON on stdin: the documented cases, in order, exit 0", () => {
  const r = runWasi(cases.map((c) => c.input).join("\n") + "\n");
  expect(r.code).toBe(0);
  const out = lines(r.stdout);
  expect(out).toHaveLength(cases.length);
  out.forEach((o, i) => expect(ecsDiff(o, cases[i].expected)).toEqual([]));
  expect(r.stderr).toBe(`nsg-flow-ecs: ${cases.length} records, 0 errors\n`);
});

test("held-out events (the example files) give byte for byte what the library gives", () => {
  for (const file of ["../examples/fluent-bit/events.ndjson", "../examples/bad-events.ndjson"]) {
    const input = readFileSync(new URL(file, import.meta.url));
    const r = runWasi(input);
    const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs.wasm"));
    const expected = Buffer.concat([t.push(input).output, t.end().output]).toString("utf8");
    expect(r.stdout).toBe(expected);
    expect(r.stdout.length).toBeGreaterThan(0);
  }
});

test("bad records become error events in place and the exit status is 1", () => {
  const r = runWasi([cases[0].input, "{broken", cases[1].input, "[]"].join("\n"));
  expect(r.code).toBe(1);
  const out = lines(r.stdout) as Record<string, any>[];
  expect(out.map((o) => o.error?.type ?? "ok")).toEqual(["ok", "invalid_json", "ok", "not_an_object"]);
  expect(r.stderr).toBe("nsg-flow-ecs: 4 records, 2 errors\n");
});

test("input larger than one read, with a line across the read boundary", () => {
  const n = 6000;
  const input = Array.from({ length: n }, (_, i) => cases[i % cases.length].input).join("\n") + "\n";
  expect(input.length).toBeGreaterThan(2 << 20);
  const r = runWasi(input);
  expect(r.code).toBe(0);
  const out = lines(r.stdout);
  expect(out).toHaveLength(n);
  out.forEach((o, i) => expect(ecsDiff(o, cases[i % cases.length].expected)).toEqual([]));
});

test("empty stdin: no output, exit 0", () => {
  const r = runWasi("");
  expect(r).toEqual({ code: 0, stdout: "", stderr: "nsg-flow-ecs: 0 records, 0 errors\n" });
});

test("a PT1H.json blob on stdin (told from its first bytes): what the library gives, byte for byte", () => {
  for (const file of ["../examples/blobs/nsg-v2-PT1H.json", "../examples/blobs/vnet-PT1H.json"]) {
    const input = readFileSync(new URL(file, import.meta.url));
    const r = runWasi(input);
    const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs.wasm"));
    t.startBlob();
    const expected = Buffer.concat([t.pushBlob(input).output, t.endBlob().output]).toString("utf8");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(lines(r.stdout).length).toBeGreaterThanOrEqual(8);
  }
  const truncated = runWasi(readFileSync(new URL("../examples/blobs/vnet-PT1H.json", import.meta.url)).subarray(0, 900));
  expect(truncated.code).toBe(1);
  expect((lines(truncated.stdout).at(-1) as Record<string, any>).error.type).toBe("truncated_blob");
});

test("imports only what it needs from WASI", () => {
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`).sort();
  // Files (indicator sets, databases, the settings document) through the preopened directories.
  expect(imports).toEqual(["args_get", "args_sizes_get", "clock_time_get", "fd_close", "fd_filestat_get", "fd_prestat_dir_name", "fd_prestat_get",
    "fd_read", "fd_write", "path_filestat_get", "path_open", "proc_exit"].map((n) => `wasi_snapshot_preview1.${n}`));
});

test("--profile ecs (and a Community ID seed): what the library gives, byte for byte, for NDJSON and a blob", () => {
  const ndjson = readFileSync(new URL("../examples/flattened-events.ndjson", import.meta.url));
  const r = runWasi(ndjson, ["--profile", "ecs"]);
  const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs.wasm"), { profile: "ecs" });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(Buffer.concat([t.push(ndjson).output, t.end().output]).toString("utf8"));
  expect((lines(r.stdout)[0] as Record<string, any>).ecs).toEqual({ version: "8.17.0" });
  const blobBytes = readFileSync(new URL("../examples/blobs/vnet-PT1H.json", import.meta.url));
  const b = runWasi(blobBytes, ["--community-id-seed", "9", "--profile", "ecs"]);
  const seeded = FlowTransform.fromFile(builtWasm("nsg-flow-ecs.wasm"), { profile: "ecs", communityIdSeed: 9 });
  seeded.startBlob();
  expect(b.stdout).toBe(Buffer.concat([seeded.pushBlob(blobBytes).output, seeded.endBlob().output]).toString("utf8"));
  expect(runWasi(ndjson, ["--profile", "sekoia"]).stdout).toBe(runWasi(ndjson).stdout);
});

test("bad arguments: exit 2, the usage on stderr, nothing mapped", () => {
  for (const args of [["--profile"], ["--profile", "elastic"], ["--frobnicate"], ["--community-id-seed", "65536", "--profile", "ecs"], ["--community-id-seed", "1"],
    ["--indicators", "tor"], ["--indicators", "=x.txt"], ["--indicators", "a=x.txt", "--indicators", "a=y.txt"]]) {
    const r = runWasi(cases[0].input, args);
    expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
    expect(r.stderr).toContain("usage: nsg-flow-ecs-wasi");
  }
});

describe("files through the preopened directories: --indicators, --settings, --geo", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const events = readFileSync(new URL("../examples/fluent-bit/events.ndjson", import.meta.url));
  const tor = path.join(root, "examples/indicators/tor-exit-addresses.txt");
  const cti = path.join(root, "examples/indicators/cti-bundle.json");
  const library = (options: ConstructorParameters<typeof FlowTransform>[1]) => {
    const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs.wasm"), options);
    return { out: Buffer.concat([t.push(events).output, t.end().output]).toString("utf8"), reports: t.indicatorReports };
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-wasi-"));

  test("--indicators NAME=FILE (relative, under --dir .; absolute, under another): the library's output and the CLI's lines", () => {
    const lib = library({ indicators: [{ name: "tor", path: tor }, { name: "cti", path: cti }] });
    expect(lib.out).toContain("threat");
    const r = runWasi(events, ["--indicators", "tor=examples/indicators/tor-exit-addresses.txt", "--indicators", "cti=/feeds/cti-bundle.json"],
      { ".": root, "/feeds": path.join(root, "examples/indicators") });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(lib.out);
    expect(r.stderr).toBe(lib.reports.map((r) => indicatorSummary(r)).join("") + "nsg-flow-ecs: 7 records, 0 errors\n");
  });

  test("--settings FILE: the Fluent Bit filter's document, paths relative to its folder; the arguments win over it", () => {
    const d = mkdtempSync(path.join(dir, "settings-"));
    writeFileSync(path.join(d, "tor.txt"), readFileSync(tor));
    writeFileSync(path.join(d, "nsg-flow-ecs.json"), JSON.stringify({ profile: "ecs", communityIdSeed: 7, indicators: { tor: "tor.txt" } }));
    const r = runWasi(events, ["--settings", "/etc/nsg/nsg-flow-ecs.json"], { "/etc/nsg": d });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(library({ profile: "ecs", communityIdSeed: 7, indicators: [{ name: "tor", path: tor }] }).out);
    const sekoia = runWasi(events, ["--settings", "/etc/nsg/nsg-flow-ecs.json", "--profile", "sekoia"], { "/etc/nsg": d });
    expect(sekoia.stdout).toBe(library({ indicators: [{ name: "tor", path: tor }] }).out);
  });

  test("a file that cannot be read, yields nothing, or a bad settings document: exit 2 with the reason, nothing mapped", () => {
    const d = mkdtempSync(path.join(dir, "bad-"));
    writeFileSync(path.join(d, "empty.txt"), "# nothing\n");
    writeFileSync(path.join(d, "colour.json"), JSON.stringify({ colour: "blue" }));
    writeFileSync(path.join(d, "broken.json"), "{\"indicators\":");
    writeFileSync(path.join(d, "cut.mmdb"), Buffer.from("not a database"));
    const cases: [string[], string][] = [
      [["--indicators", "tor=/d/missing.txt"], "nsg-flow-ecs: indicators tor: cannot open /d/missing.txt: ENOENT\n"],
      [["--indicators", "tor=/elsewhere/tor.txt"], "nsg-flow-ecs: indicators tor: cannot open /elsewhere/tor.txt: not under a preopened directory (--dir)\n"],
      [["--indicators", "none=/d/empty.txt"], "nsg-flow-ecs: indicators none: /d/empty.txt: no usable indicator\n"],
      [["--settings", "/d/colour.json"], "nsg-flow-ecs: /d/colour.json: unknown key \"colour\"\n"],
      [["--settings", "/d/broken.json"], "nsg-flow-ecs: /d/broken.json: not valid JSON at byte 14\n"],
      [["--geo", "/d/missing.mmdb"], "nsg-flow-ecs: geo: cannot open /d/missing.mmdb: ENOENT\n"],
      [["--geo", "/d/cut.mmdb"], ""],
    ];
    for (const [args, said] of cases) {
      const r = runWasi(events, args, { "/d": d });
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      if (said) expect(r.stderr).toBe(said);
      else expect(r.stderr).toMatch(/^nsg-flow-ecs: geo \/d\/cut\.mmdb: .+\n$/);
    }
  });

  test("generated settings documents (right keys with any values, unknown keys, broken text): exit 0 or 2 with a reason, never a trap", () => {
    const d = mkdtempSync(path.join(dir, "generated-"));
    writeFileSync(path.join(d, "tor.txt"), "94.102.49.190\n");
    const key = fc.constantFrom("profile", "communityIdSeed", "eventId", "indicators", "geo", "reloadSeconds", "colour");
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom("ecs", "sekoia", 7, 65536, true, { tor: "tor.txt" }, { tor: 1 }, ["tor.txt"], []));
    const doc = fc.oneof(
      fc.dictionary(key, value, { maxKeys: 4 }).map((o) => JSON.stringify(o)),
      fc.tuple(fc.dictionary(key, value, { maxKeys: 3 }).map((o) => JSON.stringify(o)), fc.nat(), fc.string({ maxLength: 3 }))
        .map(([t, at, junk]) => t.slice(0, at % (t.length + 1)) + junk),
    );
    fc.assert(fc.property(doc, (text) => {
      writeFileSync(path.join(d, "s.json"), text);
      const r = runWasi(cases[0].input, ["--settings", "/d/s.json"], { "/d": d });
      expect({ text, code: [0, 2].includes(r.code), said: /^nsg-flow-ecs: /.test(r.stderr) }).toEqual({ text, code: true, said: true });
      if (r.code === 0) expect(lines(r.stdout)).toHaveLength(1);
      else expect(r.stdout).toBe("");
    }), { numRuns: 40, seed: 18 });
  });

  test("--geo FILE: databases written by tests/geo/mmdb-writer.ts, the library's output and the CLI's lines", () => {
    const d = mkdtempSync(path.join(dir, "geo-"));
    writeFileSync(path.join(d, "city.mmdb"), writeMmdb([["94.102.49.0/24", { country: { iso_code: "NL", names: { en: "Netherlands" } } }]], { databaseType: "Test-City", ipVersion: 6, recordSize: 28 }));
    writeFileSync(path.join(d, "asn.mmdb"), writeMmdb([["94.102.49.0/24", { autonomous_system_number: 202425 }]], { databaseType: "Test-ASN", ipVersion: 4, recordSize: 24 }));
    const t = FlowTransform.fromFile(builtWasm("nsg-flow-ecs.wasm"), { geo: [path.join(d, "city.mmdb"), path.join(d, "asn.mmdb")] });
    const expected = Buffer.concat([t.push(events).output, t.end().output]).toString("utf8");
    expect(expected).toContain('"country_iso_code":"NL"');
    const r = runWasi(events, ["--geo", "/d/city.mmdb", "--geo", "/d/asn.mmdb"], { "/d": d });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(r.stderr).toBe(t.geoDatabases.map((db) => geoSummary(db)).join("") + "nsg-flow-ecs: 7 records, 0 errors\n");
 
    // A build date no calendar holds (a corrupt file may say anything): said as "?", no trap.
    writeFileSync(path.join(d, "odd.mmdb"), writeMmdb([["94.102.49.0/24", { autonomous_system_number: 1 }]], { ipVersion: 4, recordSize: 24, databaseType: "Odd", metadata: { build_epoch: u64(2n ** 62n) } }));
    const odd = runWasi(events, ["--geo", "/d/odd.mmdb"], { "/d": d });
    expect(odd.code).toBe(0);
    expect(odd.stderr).toMatch(/^nsg-flow-ecs: geo odd\.mmdb: Odd, built \?, IPv4, [\d,]+ nodes\n/);
  });
});
