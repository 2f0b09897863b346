// Standard input and pipes (FlowPool.transformFd, the CLI's `-`): a pipe read through the pool —
// at full speed, trickling, ending mid-record, non-blocking — gives the one-thread bytes and
// totals, error events in their place; complete records of a trickle come out while the writer
// waits; a regular file as stdin is read from where its offset stands, as the file path reads it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { FlowPool } from "../host/pool/pool.js";
import { transformInput, type StreamOptions, type StreamTotals } from "../host/transform/stream.js";
import { generateCorpus } from "../bench/corpus.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/host/cli.js");
const dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-pipes-"));
const wasm = builtWasm("nsg-flow-ecs-simd.wasm");
const single = new FlowTransform(new WebAssembly.Module(readFileSync(wasm)));

// Workers once 64 KiB came through the pipe, in jobs of 4 KiB: a pipe of a few hundred KB is
// mapped on both threads, cut into many jobs.
const pool = new FlowPool({ wasm, threads: 2, parallelFrom: 64 << 10, jobBytes: 4096 });
afterAll(() => pool.close());

const corpus = generateCorpus(1500, 11);
const bad = ["not json", '["an array"]', '{"time":"yesterday","flow.0":"1,1.1.1.1,2.2.2.2,1,2,T,I,A"}', '{"rule":5}'];
/** The corpus with a bad line every 97 lines: error events that must stay in their place. */
const lines = corpus.ndjson.toString("utf8").trimEnd().split("\n").flatMap((l, i) => (i % 97 === 40 ? [bad[i % bad.length]!, l] : [l]));
const ndjson = Buffer.from(lines.join("\n") + "\n");
const blob = corpus.blob;

async function drain(output: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of output) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

async function oneThread(bytes: Uint8Array, options: StreamOptions = {}): Promise<{ out: string; totals: StreamTotals }> {
  const totals = { records: 0, errors: 0 };
  async function* source() {
    yield bytes;
  }
  const out = await drain(transformInput(source(), single, totals, options));
  return { out: out.toString("utf8"), totals };
}

let fifos = 0;
function mkfifo(): string {
  const path = join(dir, `fifo-${fifos++}`);
  const r = spawnSync("mkfifo", [path]);
  if (r.status !== 0) throw new Error(`mkfifo: ${r.stderr}`);
  return path;
}

// A writer process: writes `file` into the FIFO in pieces of `piece` bytes, `delay` ms apart;
// after `pauseAt` bytes it waits for a line on its stdin before it writes the rest.
const WRITER = `
const fs = require("node:fs");
const [file, fifo, piece, delay, pauseAt] = process.argv.slice(1);
const bytes = fs.readFileSync(file);
const out = fs.openSync(fifo, "w");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  let paused = false;
  for (let at = 0; at < bytes.length;) {
    if (!paused && at >= Number(pauseAt)) {
      paused = true;
      await new Promise((r) => process.stdin.once("data", r));
    }
    const end = Math.min(bytes.length, at + Number(piece), paused ? bytes.length : Math.max(at + 1, Number(pauseAt)));
    fs.writeSync(out, bytes, at, end - at);
    at = end;
    if (Number(delay) > 0) await sleep(Number(delay));
  }
  fs.closeSync(out);
  process.exit(0);
})();`;

function writer(bytes: Uint8Array, piece: number, delay: number, pauseAt = Infinity): { fifo: string; child: ChildProcess } {
  const file = join(dir, `input-${fifos}`);
  writeFileSync(file, bytes);
  const fifo = mkfifo();
  const child = spawn("node", ["-e", WRITER, file, fifo, String(piece), String(delay), String(pauseAt)], { stdio: ["pipe", "ignore", "inherit"] });
  return { fifo, child };
}

/** The bytes through a FIFO into pool.transformFd. */
async function throughPipe(p: FlowPool, bytes: Uint8Array, piece: number, delay: number, options: StreamOptions = {}) {
  const { fifo, child } = writer(bytes, piece, delay);
  const fh = await open(fifo, "r"); // a blocking descriptor, as a shell's pipe
  try {
    const totals = { records: 0, errors: 0 };
    const out = await drain(p.transformFd(fh.fd, totals, options));
    return { out: out.toString("utf8"), totals };
  } finally {
    await fh.close();
    child.kill();
  }
}

test("a pipe at full speed: the one-thread bytes and totals on both threads, the file path's too, error events in their place", async () => {
  const expected = await oneThread(ndjson);
  const got = await throughPipe(pool, ndjson, 1 << 20, 0);
  expect(pool.workerCount).toBe(1); // started by the pipe (this pool's first input), beside the calling thread
  const file = join(dir, "full-speed.ndjson");
  writeFileSync(file, ndjson);
  const fileTotals = { records: 0, errors: 0 };
  const fromFile = (await drain(pool.transformFile(file, fileTotals))).toString("utf8");
  expect(fromFile === expected.out).toBe(true);
  expect(fileTotals).toEqual(expected.totals);
  expect(got.totals).toEqual(expected.totals);
  expect(got.out === expected.out).toBe(true);
  const out = got.out.trimEnd().split("\n");
  expect(out).toHaveLength(lines.length);
  const errorAt = out.flatMap((l, i) => (l.includes('"kind":"pipeline_error"') ? [i] : []));
  expect(errorAt).toEqual(lines.flatMap((l, i) => (bad.includes(l) ? [i] : [])));
  expect(errorAt.length).toBeGreaterThan(10);
});

test("a blob through a pipe: the one-thread bytes, the next offset reported", async () => {
  let expectedOffset: number | undefined;
  const expected = await oneThread(blob, { onBlobOffset: (o) => (expectedOffset = o) });
  let offset: number | undefined;
  const got = await throughPipe(pool, blob, 100_000, 0, { onBlobOffset: (o) => (offset = o) });
  expect(got.totals).toEqual(expected.totals);
  expect(got.out === expected.out).toBe(true);
  expect(offset).toBe(expectedOffset);
});

test("a pipe that trickles (pieces of a few hundred bytes, cut anywhere): the same bytes", async () => {
  const part = ndjson.subarray(0, ndjson.indexOf(0x0a, 120_000) + 1);
  const expected = await oneThread(part);
  const got = await throughPipe(pool, part, 997, 1);
  expect(got.totals).toEqual(expected.totals);
  expect(got.out === expected.out).toBe(true);
});

test.each([
  ["NDJSON", ndjson.subarray(0, ndjson.indexOf(0x0a, 200_000) + 30)],
  ["a blob", blob.subarray(0, Math.floor(blob.length * 0.6))],
])("a pipe that ends mid-record (%s): the same bytes and the same error event at the end", async (_, cut) => {
  const expected = await oneThread(cut);
  expect(expected.totals.errors).toBeGreaterThan(0);
  expect(expected.out.trimEnd().split("\n").pop()).toMatch(/"type":"(invalid_json|truncated_blob)"/);
  const got = await throughPipe(pool, cut, 65536, 0);
  expect(got.totals).toEqual(expected.totals);
  expect(got.out === expected.out).toBe(true);
});

test("complete records of a trickle come out while the writer waits for more (within FLUSH_AFTER)", async () => {
  // The writer sends 40 records and half of the 41st, then waits until the test has read the
  // events of those 40: a pool that waited for a full batch (or for the end) would never get there.
  let pauseAt = 0;
  for (let i = 0; i < 40; i++) pauseAt = ndjson.indexOf(0x0a, pauseAt) + 1;
  pauseAt += (ndjson.indexOf(0x0a, pauseAt) - pauseAt) >> 1;
  const part = ndjson.subarray(0, ndjson.indexOf(0x0a, 300_000) + 1);
  const expected = await oneThread(part);
  const { fifo, child } = writer(part, 333, 2, pauseAt);
  const fh = await open(fifo, "r");
  const got: Buffer[] = [];
  let released = false;
  try {
    for await (const b of pool.transformFd(fh.fd)) {
      got.push(Buffer.from(b));
      const events = Buffer.concat(got).toString("utf8").split("\n").length - 1;
      if (!released) {
        expect(events).toBeLessThanOrEqual(40);
        if (events === 40) {
          released = true;
          child.stdin!.write("go\n");
        }
      }
    }
  } finally {
    await fh.close();
    child.kill();
  }
  expect(released).toBe(true);
  expect(Buffer.concat(got).toString("utf8") === expected.out).toBe(true);
}, 20_000);

test("a non-blocking descriptor (EAGAIN) is read through Node's stream instead: the same bytes", async () => {
  const fifo = mkfifo();
  const file = join(dir, "nonblocking.ndjson");
  writeFileSync(file, ndjson);
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const w = openSync(fifo, constants.O_WRONLY);
  const expected = await oneThread(ndjson);
  // The first read finds the pipe empty (EAGAIN); the writer starts a moment later.
  setTimeout(() => {
    spawn("cat", [file], { stdio: ["ignore", w, "inherit"] }).on("spawn", () => closeSync(w));
  }, 100);
  const totals = { records: 0, errors: 0 };
  const out = await drain(pool.transformFd(fd, totals));
  expect(totals).toEqual(expected.totals);
  expect(out.toString("utf8") === expected.out).toBe(true);
});

// ─── The CLI ────────────────────────────────────────────────────────────────────────────────

test("CLI: a regular file as stdin is read from where its offset stands, as the file path reads it", () => {
  const file = join(dir, "events.ndjson");
  writeFileSync(file, ndjson);
  const skip = ndjson.indexOf(0x0a, 50_000) + 1;
  writeFileSync(join(dir, "tail.ndjson"), ndjson.subarray(skip));
  const expected = spawnSync("node", [cli, join(dir, "tail.ndjson")], { encoding: "utf8", maxBuffer: 1 << 28 });
  const fd = openSync(file, "r");
  readSync(fd, Buffer.alloc(skip), 0, skip, null); // the shell's `(head -c N; nsg-flow-ecs) < FILE`
  const r = spawnSync("node", [cli], { stdio: [fd, "pipe", "pipe"], encoding: "utf8", maxBuffer: 1 << 28 });
  closeSync(fd);
  expect(expected.status).toBe(1); // the bad lines
  expect(r.status).toBe(1);
  expect(r.stdout === expected.stdout).toBe(true);
  expect(r.stderr.replace(/\d+ records\/s.*/, "")).toBe(expected.stderr.replace(/\d+ records\/s.*/, ""));
});

test("CLI: stdin through a shell pipe into a pipe gives the file's output byte for byte", () => {
  const file = join(dir, "events2.ndjson");
  writeFileSync(file, ndjson);
  const expected = spawnSync("node", [cli, "--quiet", file], { encoding: "utf8", maxBuffer: 1 << 28 }).stdout;
  for (const cmd of [`cat '${file}' | node '${cli}' --quiet | cat`, `node '${cli}' --quiet < '${file}' | cat`]) {
    const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8", maxBuffer: 1 << 28 });
    expect(r.status).toBe(0);
    expect(r.stdout === expected).toBe(true);
  }
});

// ─── collect's stdout ───────────────────────────────────────────────────────────────────────

// Writes `slices` slices of `size` bytes through StdoutOutput, each from the same buffer,
// refilled as soon as write() returns (as the mappers reuse theirs), a few writes in flight.
const COLLECT_WRITER = `
import { StdoutOutput } from ${JSON.stringify(join(root, "dist/host/collect/output.js"))};
const [slices, size, nonBlocking] = process.argv.slice(1).map(Number);
if (nonBlocking) void process.stdout.writableLength; // Node's stream over a pipe makes it non-blocking
const out = new StdoutOutput();
const buf = Buffer.alloc(size);
const pending = [];
try {
  for (let i = 0; i < slices; i++) {
    buf.fill(\`<slice \${i}>\`);
    pending.push(out.write(buf));
    if (pending.length === 3) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await out.sync();
  process.stderr.write("done\\n");
} catch (err) {
  process.stderr.write(\`failed: \${err.message}\\n\`);
  process.exitCode = 3;
}`;

test.each([["blocking", 0], ["non-blocking", 1]])("collect's stdout (%s): a slow reader gets every slice whole, in order", async (_, nonBlocking) => {
  const slices = 40;
  const size = 300_000;
  const child = spawn("node", ["--input-type=module", "-e", COLLECT_WRITER, String(slices), String(size), String(nonBlocking)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const chunks: Buffer[] = [];
  let reads = 0;
  child.stdout!.on("data", (d: Buffer) => {
    chunks.push(d);
    if (++reads % 7 === 0) {
      child.stdout!.pause();
      setTimeout(() => child.stdout!.resume(), 3);
    }
  });
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect([code, stderr]).toEqual([0, "done\n"]);
  const expected = Buffer.concat(Array.from({ length: slices }, (_, i) => Buffer.alloc(size, `<slice ${i}>`)));
  expect(Buffer.concat(chunks).equals(expected)).toBe(true);
});

test("collect's stdout: a reader that goes away is a failure, named", async () => {
  const child = spawn("node", ["--input-type=module", "-e", COLLECT_WRITER, "200", "300000", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.once("data", () => child.stdout!.destroy());
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect([code, stderr]).toEqual([3, "failed: stdout was closed by its reader\n"]);
});

test("starting worker threads leaves a blocking stdout blocking (Node's own stdio piping would make it non-blocking)", async () => {
  // 4 MB in one writeSync into a pipe nobody reads for a while: on a blocking descriptor it
  // waits for the reader; on a non-blocking one it fails with EAGAIN.
  const script = `
import { writeSync } from "node:fs";
import { FlowPool } from ${JSON.stringify(join(root, "dist/host/pool/pool.js"))};
const pool = new FlowPool({ threads: 2 });
await pool.warm();
if (pool.workerCount !== 1) throw new Error("no worker started: " + pool.workerError?.stack);
const bytes = Buffer.alloc(4 << 20, 0x61);
let done = 0;
while (done < bytes.length) done += writeSync(1, bytes, done);
await pool.close();`;
  const file = join(dir, "blocking.mjs"); // a file, not --eval: the worker threads take the same flags
  writeFileSync(file, script);
  const child = spawn("node", [file], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.pause();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  let bytes = 0;
  child.stdout!.on("data", (d: Buffer) => (bytes += d.length));
  child.stdout!.resume();
  const code = await new Promise((resolve) => {
    child.on("close", resolve);
    setTimeout(() => resolve(`still running; stderr ${stderr}, ${bytes} bytes`), 20_000);
  });
  expect([code, stderr, bytes]).toEqual([0, "", 4 << 20]);
});

test.each([[2], [1]])("keepOutputs: 1 (%i threads): a chunk stays as it was until the one after the next is asked for", async (threads) => {
  const p = new FlowPool({ wasm, threads, parallelFrom: 0, jobBytes: 4096, outputViews: true, keepOutputs: 1 });
  const file = join(dir, "kept.ndjson");
  writeFileSync(file, ndjson);
  const expected = await oneThread(ndjson);
  const copies: Buffer[] = [];
  let previous: { bytes: Buffer; copy: Buffer } | undefined;
  for await (const b of p.transformFile(file)) {
    // The chunk before this one may still be being written: it must not have changed.
    if (previous) expect(previous.bytes.equals(previous.copy)).toBe(true);
    previous = { bytes: b, copy: Buffer.from(b) };
    copies.push(previous.copy);
  }
  expect(copies.length).toBeGreaterThan(threads === 2 ? 20 : 0);
  expect(Buffer.concat(copies).toString("utf8") === expected.out).toBe(true);
  await p.close();
});
