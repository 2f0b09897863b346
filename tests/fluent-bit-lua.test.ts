// The two Lua peers of the filter in a real Fluent Bit (found as bench/fluent-bit.ts says), on the
// benchmark corpus's valid events (the flattened events `npm run bench` rows (7) feed them): each
// writes the same ECS events as the module does in the same pipeline, compared as documented
// (host/check/compare.ts: every field, lists in any order) except `message`, which Lua encodes
// again from the decoded record (its keys in Lua's table order): that is compared as the same JSON
// object. The strict peer's error events are checked on the documented samples and bad records in
// tests/fluent-bit-real.test.ts; the minimal one writes none by design.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { errorLines, findFluentBit, flattenedEvents, runFluentBit, writePipeline, LUA_MINIMAL, LUA_STRICT, ROOT, type Filter } from "../bench/fluent-bit.js";
import { canon, ecsDiff, type Json } from "../host/check/compare.js";

const found = findFluentBit();
const bin = "bin" in found ? found.bin : "";
if (!bin) process.stderr.write(`\nFluent Bit tests skipped (tests/fluent-bit-lua.test.ts): ${"why" in found ? found.why : ""}\n\n`);
const withFluentBit = bin ? describe : describe.skip;

const RECORDS = 20_000;

withFluentBit(`the Lua peers on the benchmark corpus's ${RECORDS} valid events`, () => {
  let dir = "";
  let input = "";
  let module: Record<string, Json>[] = [];

  /** The pipeline's output records, one parsed object each; asserts exit 0 and no error logged. */
  const outputOf = (name: string, filter: Filter): Record<string, Json>[] => {
    const config = writePipeline(dir, name, { input: { file: input, parser: true }, filters: [filter], output: "stdout" });
    const r = runFluentBit(bin, ["-c", config], { cwd: ROOT });
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.status).toBe(0);
    return r.stdout.toString("utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l) as Record<string, Json>);
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-lua-"));
    input = path.join(dir, "events.ndjson");
    writeFileSync(input, flattenedEvents(RECORDS));
    module = outputOf("module", { kind: "wasm", path: path.join(ROOT, "build/nsg-flow-ecs.wasm"), fn: "nsg_flow_ecs" });
    expect(module).toHaveLength(RECORDS);
    // All of them map: the comparison is of ECS events, not of error events.
    expect(module.filter((e) => (e.event as Record<string, Json> | undefined)?.kind === "pipeline_error")).toEqual([]);
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    { name: "minimal", script: LUA_MINIMAL },
    { name: "strict", script: LUA_STRICT },
  ])("the $name Lua filter writes the module's ECS events", ({ name, script }) => {
    const lua = outputOf(`lua-${name}`, { kind: "lua", script, call: "nsg_flow_ecs" });
    expect(lua).toHaveLength(RECORDS);
    const differences: string[] = [];
    lua.forEach((got, i) => {
      const want = module[i]!;
      const problems = ecsDiff({ ...got, message: want.message! }, want);
      if (JSON.stringify(canon(JSON.parse(got.message as string))) !== JSON.stringify(canon(JSON.parse(want.message as string)))) {
        problems.push(".message: not the same JSON object as the raw event");
      }
      if (problems.length > 0 && differences.length < 5) differences.push(`record ${i}: ${problems.join("; ")}\n  raw event ${want.message}`);
    });
    expect(differences).toEqual([]);
  }, 120_000);
});
