// A million records through a real Fluent Bit and the filter, once interpreted (.wasm) and once
// AOT (.aot): stdin (a pipe, fed as fast as Fluent Bit takes it) → filter → counter. Every record
// comes out (the counter sees a million), Fluent Bit exits 0 and logs no error, and its resident
// memory stays flat: its RSS every 100,000 records is printed, and the settled start and the end
// compared. The records are all different (a sequence number in each) and about 1 in 20 is bad
// (it becomes an error event). Skipped, with tests/fluent-bit-real.test.ts saying why, where no
// Fluent Bit is found.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { countedRecords, errorLines, findFluentBit, writePipeline, ROOT } from "../bench/fluent-bit.js";
import { generateCorpus } from "../bench/corpus.js";
import { loadDocumentedCases } from "../host/check/documented.js";

const RECORDS = 1_000_000;
const found = findFluentBit();
const bin = "bin" in found ? found.bin : "";
const engines = [{ name: ".wasm (interpreted)", file: "build/nsg-flow-ecs.wasm" }];
if (existsSync(path.join(ROOT, "build/nsg-flow-ecs.aot"))) engines.push({ name: ".aot", file: "build/nsg-flow-ecs.aot" });

/** Record texts to cycle through: JSON objects only (stdin without a parser takes JSON). */
function pool(): string[] {
  const good = generateCorpus(5000, 0x50a4).ndjson.toString("utf8").trim().split("\n");
  const bad = readFileSync(path.join(ROOT, "tests/fixtures/fluent-bit-real/bad-records.ndjson"), "utf8").trim().split("\n")
    .filter((l) => {
      try {
        return typeof JSON.parse(l) === "object" && !Array.isArray(JSON.parse(l)) && l !== "{}";
      } catch {
        return false;
      }
    });
  const out: string[] = [...loadDocumentedCases().map((c) => c.input.replace(/\n/g, " "))];
  good.forEach((l, i) => {
    out.push(l);
    if (i % 20 === 0) out.push(bad[(i / 20) % bad.length]!);
  });
  return out;
}

function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

(bin ? describe : describe.skip)("soak: 1,000,000 records through a real Fluent Bit", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-soak-"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each(engines)("with the $name: none lost, memory flat", async (engine) => {
    const records = pool();
    const config = writePipeline(dir, "soak", {
      input: { stdin: true, parser: false },
      filters: [{ kind: "wasm", path: path.join(ROOT, engine.file), fn: "nsg_flow_ecs" }],
      output: "counter",
      // Flushed often: what waits for the output (the .aot fills chunks fast) stays small, so
      // that RSS shows what stays, not what is in flight.
      flush: 0.05,
    });
    // One glibc malloc arena: with one per thread (the default) Fluent Bit's RSS wanders by
    // 10-20 MB as freed chunks sit in different arenas, which would hide a slow leak; with one it
    // moves by a few MB. What is allocated does not change.
    const child = spawn(bin, ["-c", config], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, MALLOC_ARENA_MAX: "1" } });
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => stdout.push(d));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    // Fed in slices, as fast as Fluent Bit takes them; RSS read every 100,000 records.
    const samples: { records: number; rssKb: number }[] = [];
    const SLICE = 2000;
    for (let sent = 0; sent < RECORDS; sent += SLICE) {
      let text = "";
      for (let i = sent; i < sent + SLICE; i++) {
        const r = records[i % records.length]!;
        text += `{"seq":${i},${r.slice(1)}\n`;
      }
      if (!child.stdin!.write(text)) await new Promise((resolve) => child.stdin!.once("drain", resolve));
      if ((sent + SLICE) % (RECORDS / 10) === 0) samples.push({ records: sent + SLICE, rssKb: rssKb(child.pid!) });
    }
    child.stdin!.end();
    const status = await exited;

    // Chunks in flight still make RSS move by a few MB between samples. Compared: the lowest of
    // the samples at 100,000 - 300,000 records and the lowest of the last three; a leak of 12
    // bytes a record would show.
    const start = Math.min(...samples.slice(0, 3).map((s) => s.rssKb));
    const end = Math.min(...samples.slice(-3).map((s) => s.rssKb));
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    process.stderr.write(`soak ${engine.name}: Fluent Bit RSS ${mb(samples[0]!.rssKb)} MB after 100,000 records, ` +
      `${mb(samples[samples.length - 1]!.rssKb)} MB after 1,000,000; lowest of three at the start ${mb(start)} MB, at the end ${mb(end)} MB ` +
      `(every 100,000 records: ${samples.map((s) => (s.rssKb / 1024).toFixed(0)).join(" ")} MB)\n`);
    expect(errorLines(stderr)).toEqual([]);
    expect(status).toBe(0);
    expect(countedRecords(Buffer.concat(stdout))).toBe(RECORDS);
    expect(end - start).toBeLessThan(12 * 1024);
  }, 300_000);
});
