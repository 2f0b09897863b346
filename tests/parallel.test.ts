// The worker pool (host/pool/pool.ts): whatever the input, its chunking and the cutting into jobs,
// the output is the one-thread output byte for byte — in order, one line per record — on NDJSON
// and on blobs (whole, or read from an offset); a record that traps or kills a worker becomes one
// error event and the rest still comes out; small inputs stay on one thread; the CLI's --threads.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { compileFixture } from "./compile-fixture.js";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { FlowPool } from "../host/pool/pool.js";
import { recordEnds } from "../host/pool/boundaries.js";
import { transformInput, type StreamOptions, type StreamTotals } from "../host/transform/stream.js";
import { generateCorpus } from "../bench/corpus.js";
import { blob, nsgRecordJson, nsgTuple, vnetRecordJson, vnetTuple } from "./blob-builder.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/host/cli.js");
const dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-parallel-"));
const wasm = builtWasm("nsg-flow-ecs-simd.wasm");
const single = new FlowTransform(new WebAssembly.Module(readFileSync(wasm)));

// Jobs of a few KiB, so that small inputs are cut into many, records longer than a job's buffer
// included; workers from the first byte.
const pool = new FlowPool({ wasm, threads: 2, parallelFrom: 0, jobBytes: 4096 });
beforeAll(() => pool.warm());
afterAll(() => pool.close());

/** The bytes in chunks of the given sizes (cycled). */
async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function drain(output: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of output) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

interface Result {
  out: string;
  totals: StreamTotals;
  offset?: number;
}

async function oneThread(bytes: Uint8Array, options: StreamOptions = {}): Promise<Result> {
  const totals = { records: 0, errors: 0 };
  let offset: number | undefined;
  const out = await drain(transformInput(chunked(bytes, [1 << 20]), single, totals, { ...options, onBlobOffset: (o) => (offset = o) }));
  return { out: out.toString("utf8"), totals, offset };
}

async function pooled(p: FlowPool, bytes: Uint8Array, sizes: number[], options: StreamOptions = {}): Promise<Result> {
  const totals = { records: 0, errors: 0 };
  let offset: number | undefined;
  const out = await drain(p.transformInput(chunked(bytes, sizes), totals, { ...options, onBlobOffset: (o) => (offset = o) }));
  return { out: out.toString("utf8"), totals, offset };
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 });

// ─── NDJSON ─────────────────────────────────────────────────────────────────────────────────

const corpus = generateCorpus(3000, 7);
const oddLines = [
  "", "   ", "not json", '["not","an","object"]', '{"time":"2024-03-18T13:21:42Z","flow.0":"1,1.1.1.1,2.2.2.2,1,2,T,I,A"}\r',
  `{"rule":"${"x".repeat(70_000)}"}`, `{"message":"${"y".repeat(200_000)}"}`, "{\"truncated\":", "\u00e9\u00e8 not ascii",
];
/** The corpus with odd lines spliced in every few hundred lines, and no final newline. */
const ndjson = Buffer.from(corpus.ndjson.toString("utf8").split("\n")
  .flatMap((line, i) => (i % 300 === 150 ? [oddLines[Math.floor(i / 300) % oddLines.length]!, line] : [line])).join("\n").trimEnd());

test("NDJSON: the same bytes as one thread, one line per record, in order, whatever the chunking", async () => {
  const expected = await oneThread(ndjson);
  const records = ndjson.toString("utf8").split("\n").filter((l) => l.replace(/[ \t\r]/g, "") !== "").length;
  expect(expected.totals.records).toBe(records);
  expect(expected.out.split("\n").length - 1).toBe(records);
  expect(expected.totals.errors).toBeGreaterThan(0);
  await fc.assert(fc.asyncProperty(chunkSizes, async (sizes) => {
    const got = await pooled(pool, ndjson, sizes);
    expect(got.totals).toEqual(expected.totals);
    expect(got.out === expected.out).toBe(true);
  }), { numRuns: 8 });
});

// ─── Blobs ──────────────────────────────────────────────────────────────────────────────────

const nsgRecord = (n: number, extra: Partial<{ rule: string; mac: string }> = {}) => nsgRecordJson({
  time: `2024-03-18T13:${String(n % 60).padStart(2, "0")}:42.6259228Z`, macAddress: "000D124564789",
  resourceId: "/SUBSCRIPTIONS/X/NSG", version: 2,
  rules: [{ rule: extra.rule ?? "DefaultRule_AllowVnetInBound", flows: [{ mac: extra.mac ?? "000D124564789", flowTuples: Array.from({ length: 1 + (n % 7) }, (_, i) => nsgTuple(n * 10 + i, true, i === 3)) }] }],
});
const vnetRecord = (n: number) => vnetRecordJson({
  time: "2022-09-14T09:00:52.5625085Z", flowLogGUID: "66aa66aa-6a6a-6a6a-6a6a-666666aaaaaa", macAddress: "112233445566",
  flowLogResourceID: "/SUBSCRIPTIONS/X/FLOWLOGS/F", targetResourceID: "/subscriptions/x/vnet",
  acls: [{ aclID: "00000000-1234-abcd-ef00-c1c2c3c4c5c6", flowGroups: [{ rule: "DefaultRule_AllowInternetOutBound", flowTuples: Array.from({ length: 1 + (n % 4) }, (_, i) => vnetTuple(n + i)) }] }],
});
/** Records whose strings hold braces, quotes and backslashes (the boundary finder must skip them),
 * a record that is not JSON, one with no tuples, one with a tuple that is not a string. */
const oddRecords = [
  nsgRecord(1, { rule: 'rule with } and { and "quotes" and \\ backslash \\' }),
  nsgRecord(2, { mac: "}}}\\\"{{{" }),
  { ...(nsgRecord(3) as object), properties: { Version: 2, flows: [] } },
  { ...(nsgRecord(4) as object), properties: { Version: 2, flows: [{ rule: "r", flows: [{ mac: "m", flowTuples: [5] }] }] } },
];
const records = Array.from({ length: 400 }, (_, i) => (i % 5 === 4 ? vnetRecord(i) : i % 50 === 25 ? oddRecords[Math.floor(i / 50) % oddRecords.length]! : nsgRecord(i)));
const compact = blob(records);
const blobs: [string, string][] = [
  ["compact", compact],
  ["pretty", blob(records.slice(0, 150), true)],
  ["the corpus's", corpus.blob.toString("utf8")],
  ["junk between records and after", compact.replace(/,\{"time"/g, (m, at: number) => (at % 7 === 0 ? ", junk {\"time\"" : m)) + " trailing"],
  ["a record that is not JSON", compact.replace('"category":"NetworkSecurityGroupFlowEvent"', '"category":NetworkSecurityGroupFlowEvent')],
  ["truncated in a record", compact.slice(0, Math.floor(compact.length * 0.7))],
  ["truncated before ]}", compact.slice(0, compact.length - 2)],
  ["not a blob", '{"records":{"not":"an array"}}' + compact],
];

test.each(blobs)("blob (%s): the same bytes as one thread, whatever the chunking", async (_, text) => {
  const bytes = Buffer.from(text);
  const expected = await oneThread(bytes, { format: "blob" });
  expect(expected.totals.records).toBeGreaterThan(0);
  await fc.assert(fc.asyncProperty(chunkSizes, async (sizes) => {
    const got = await pooled(pool, bytes, sizes, { format: "blob" });
    expect(got.totals).toEqual(expected.totals);
    expect(got.out === expected.out).toBe(true);
    expect(got.offset).toBe(expected.offset);
  }), { numRuns: 6 });
});

test("blob flattened only (--flatten): the same raw events as one thread", async () => {
  const bytes = Buffer.from(compact);
  const expected = await oneThread(bytes, { flattenOnly: true });
  expect(expected.totals.records).toBeGreaterThan(400);
  const got = await pooled(pool, bytes, [1500], { flattenOnly: true });
  expect(got.out === expected.out).toBe(true);
  expect(got.totals).toEqual(expected.totals);
});

test("a growing blob read from offsets: the same events and next offsets as one thread", async () => {
  const bytes = Buffer.from(compact);
  const ends = recordEnds("blob", bytes, true);
  for (const cutAt of [ends[40]!, ends[41]! - 30, bytes.length - 2, bytes.length]) {
    const growing = bytes.subarray(0, cutAt);
    for (const from of [0, ends[3]!, ends[200]!]) {
      if (from >= growing.length) continue;
      const options = { fromOffset: from, incremental: true };
      const expected = await oneThread(growing.subarray(from), options);
      const got = await pooled(pool, growing.subarray(from), [777, 5000], options);
      expect({ from, cutAt, out: got.out, totals: got.totals, offset: got.offset })
        .toEqual({ from, cutAt, out: expected.out, totals: expected.totals, offset: expected.offset });
    }
  }
});

test("files: transformFile reads straight into shared buffers and gives the same bytes", async () => {
  const nd = join(dir, "events.ndjson");
  const pt = join(dir, "PT1H.json");
  writeFileSync(nd, ndjson);
  writeFileSync(pt, compact);
  for (const [file, options] of [[nd, {}], [pt, {}], [pt, { fromOffset: recordEnds("blob", Buffer.from(compact), true)[100]!, incremental: true }]] as const) {
    const bytes = readFileSync(file).subarray((options as StreamOptions).fromOffset ?? 0);
    const expected = await oneThread(bytes, options);
    const totals = { records: 0, errors: 0 };
    const out = await drain(pool.transformFile(file, totals, options));
    expect(out.toString("utf8") === expected.out).toBe(true);
    expect(totals).toEqual(expected.totals);
  }
});

test.each([[{ eventId: true }], [{ profile: "ecs" as const, communityIdSeed: 7 }]])("options reach every thread (%j): the same bytes as one thread", async (options) => {
  const p = new FlowPool({ wasm, threads: 2, parallelFrom: 0, jobBytes: 8192, transformOptions: options });
  await p.warm();
  const withOptions = new FlowTransform(new WebAssembly.Module(readFileSync(wasm)), options);
  for (const [bytes, streamOptions] of [[ndjson, {}], [Buffer.from(compact), { format: "blob" }]] as const) {
    const totals = { records: 0, errors: 0 };
    const expected = await drain(transformInput(chunked(bytes, [1 << 20]), withOptions, totals, streamOptions));
    const got = await pooled(p, bytes, [3000], streamOptions);
    expect(expected.toString("utf8")).toMatch(/"event":\{[^}]*"id":"[0-9a-f]{40}"/);
    expect(got.out === expected.toString("utf8")).toBe(true);
    expect(got.totals).toEqual(totals);
  }
  await p.close();
});

test("small inputs stay on one thread: no worker starts below parallelFrom", async () => {
  const p = new FlowPool({ wasm, threads: 2, parallelFrom: 1 << 20 });
  const small = corpus.ndjson.subarray(0, corpus.ndjson.indexOf(0x0a, 500_000) + 1);
  const got = await pooled(p, small, [65536]);
  expect(got.out === (await oneThread(small)).out).toBe(true);
  expect(p.workerCount).toBe(0);
  const big = await pooled(p, corpus.ndjson.subarray(0, 1 << 21), [65536]);
  expect(big.totals.records).toBeGreaterThan(0);
  expect(p.workerCount).toBe(1); // and the calling thread
  await p.close();
});

// ─── Failures ───────────────────────────────────────────────────────────────────────────────

describe("a module that traps, and one that kills its thread", () => {
  let faulty: FlowPool;
  beforeAll(async () => {
    const path = join(dir, "fault.wasm");
    compileFixture("fault-module.ts", "echo-module.asconfig.json", path);
    faulty = new FlowPool({ wasm: path, threads: 2, parallelFrom: 0, jobBytes: 256 });
    await faulty.warm();
  });
  afterAll(() => faulty.close());

  const internal = (line: string) => line.startsWith("{\"message\"") && JSON.parse(line).error?.type === "internal_error";

  test("NDJSON: the failing records become error events in their place; nothing else is lost or repeated", async () => {
    const lines = Array.from({ length: 400 }, (_, i) => (i % 97 === 13 ? `rec ${i} TRAP` : i % 131 === 60 ? `rec ${i} BOOM` : `rec ${i}`));
    const got = await pooled(faulty, Buffer.from(lines.join("\n") + "\n"), [100, 333]);
    const out = got.out.trimEnd().split("\n");
    expect(out).toHaveLength(lines.length);
    out.forEach((line, i) => {
      if (/TRAP|BOOM/.test(lines[i]!)) {
        expect(internal(line)).toBe(true);
        expect(JSON.parse(line).message).toBe(lines[i]);
      } else {
        expect(line).toBe(lines[i]);
      }
    });
    expect(got.totals).toEqual({ records: 400, errors: 7 });
    expect(faulty.restarts).toBeGreaterThanOrEqual(6); // each BOOM kills its thread twice (the batch, then the record)
    expect(faulty.workerCount).toBe(1);
  });

  test("blob: a record that traps or kills is one error event; the other records all come out once, in order", async () => {
    // Many failing records, so that redone batches and dying threads overlap.
    const fails = (i: number) => (i % 7 === 3 ? "TRAP" : i % 11 === 5 ? "BOOM" : "");
    const recs = Array.from({ length: 200 }, (_, i) => `{"n":${i},"s":"${fails(i) || "ok } {"}"}`);
    const text = `{"records":[${recs.join(",")}]}`;
    const got = await pooled(faulty, Buffer.from(text), [50, 1000], { format: "blob" });
    const out = got.out.trimEnd().split("\n");
    const failed = out.filter(internal).map((l) => JSON.parse(l));
    const failing = recs.filter((_, i) => fails(i) !== "");
    expect(failed.map((f) => f.message)).toEqual(failing);
    expect(failed[0].error.message).toContain(`the record at byte ${text.indexOf(recs[3]!)}`);
    // The module echoes what it is given: the rest, joined, is the blob without those records
    // (and the comma before each, which went with it).
    const echoed = out.filter((l) => !internal(l)).join("");
    expect(echoed).toBe(failing.reduce((t, r) => t.replace("," + r, ""), text));
  });
});

// ─── The CLI ────────────────────────────────────────────────────────────────────────────────

function run(args: string[], input?: string | Buffer) {
  const r = spawnSync("node", [cli, ...args], { cwd: root, input, maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

test("--threads: a number from 1 up; every count gives the same output, for files and stdin", () => {
  for (const bad of [["--threads"], ["--threads", "0"], ["--threads", "x"], ["--threads=-1"], ["--threads", "2.5"]]) {
    const r = run([...bad, "examples/flattened-events.ndjson"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--threads");
  }
  // 40 MB, over the 32 MiB below which one thread maps everything.
  const big = join(dir, "big.ndjson");
  const text = corpus.ndjson.toString("utf8");
  writeFileSync(big, text.repeat(Math.ceil(40e6 / text.length)));
  const one = run(["--threads", "1", big]);
  expect(one.code).toBe(0);
  for (const args of [["--threads=2", big], ["--threads", "3", big], [big]]) {
    const r = run(args);
    expect(r.code).toBe(0);
    expect(r.stdout === one.stdout).toBe(true);
    expect(r.stderr.replace(/\d+ records\/s.*/, "")).toBe(one.stderr.replace(/\d+ records\/s.*/, ""));
  }
  expect(run(["--threads", "2"], readFileSync(big)).stdout === one.stdout).toBe(true);
});

test("a 200 MB NDJSON file maps on every thread under 200 MB peak RSS", () => {
  const path = join(dir, "large.ndjson");
  const fd = openSync(path, "w");
  let size = 0;
  while (size < 200e6) size += writeSync(fd, corpus.ndjson);
  closeSync(fd);
  const devNull = openSync("/dev/null", "w");
  const child = spawnSync("node", ["--require", join(root, "tests/fixtures/report-peak-rss.cjs"), cli, "--threads", "2", path], {
    cwd: root, stdio: ["ignore", devNull, "pipe"], encoding: "utf8",
  });
  closeSync(devNull);
  expect(child.status).toBe(0);
  expect(child.stderr).toContain(`nsg-flow-ecs: ${(size / corpus.ndjson.length) * 3000} records, 0 errors`);
  const rss = Number(/peak-rss-kb (\d+)/.exec(child.stderr)![1]);
  expect(rss).toBeLessThan(200 * 1024);
}, 120_000);
