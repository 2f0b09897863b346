// The examples are what the READMEs tell a user to run: the files they name exist, the module
// has the function they call, and the outputs they show are what the module gives.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FluentBitFilter, fluentBitJson } from "../host/check/fluent-bit-harness.js";
import { builtWasm } from "../host/transform/loader.js";
import { ecsDiff, type Json } from "../host/check/compare.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const fb = (f: string) => readFileSync(join(root, "examples/fluent-bit", f), "utf8");
const module = new WebAssembly.Module(readFileSync(builtWasm("nsg-flow-ecs.wasm")));

/** `key value` (classic) or `key: value` (YAML) settings, case-insensitive keys, comments skipped. */
function settings(text: string, key: string): string[] {
  const re = new RegExp(`^\\s*(?:-\\s*)?${key}\\s*:?\\s+(\\S+)\\s*$`, "gim");
  return [...text.replace(/^\s*#.*$/gm, "").matchAll(re)].map((m) => m[1].replace(/^['"]|['"]$/g, ""));
}

test.each(["fluent-bit.conf", "fluent-bit.yaml"])("%s: the filter config names files that exist and a function the module exports", (file) => {
  const text = fb(file);
  // The AOT file (built where flb-wamrc is found), compiled from the portable module.
  expect(settings(text, "wasm_path")).toEqual(["build/nsg-flow-ecs.aot"]);
  expect(settings(text, "function_name")).toEqual(["nsg_flow_ecs"]);
  expect(settings(text, "event_format")).toEqual(["json"]);
  for (const p of [...settings(text, "path"), ...settings(text, "parsers_file"), "build/nsg-flow-ecs.wasm"]) {
    expect(existsSync(join(root, p))).toBe(true);
  }
  expect(FluentBitFilter.hasFilter(module, "nsg_flow_ecs")).toBe(true);
});

test("threat-intel.conf: the filter reads the settings file in its Accessible_Paths, whose feeds exist there", () => {
  const text = fb("threat-intel.conf");
  expect(settings(text, "wasm_path")).toEqual(["build/nsg-flow-ecs.aot"]);
  const [dir] = settings(text, "accessible_paths");
  const doc = JSON.parse(readFileSync(join(root, dir!, "nsg-flow-ecs.json"), "utf8")) as { indicators: Record<string, string> };
  for (const feed of Object.values(doc.indicators)) expect(existsSync(join(root, dir!, feed))).toBe(true);
  // Run in a real Fluent Bit by tests/fluent-bit-real-settings.test.ts.
});

test("exec-wasi.conf names the WASI command that the build makes", () => {
  const paths = settings(fb("exec-wasi.conf"), "wasi_path");
  expect(paths).toEqual(["build/nsg-flow-ecs-wasi.wasm"]);
  expect(existsSync(join(root, paths[0]))).toBe(true);
});

test("the Fluent Bit README's hand-written output line is what the filter returns for line 1", () => {
  const readme = fb("README.md");
  const section = readme.slice(readme.indexOf("For input line 1:"));
  const blocks = [...section.matchAll(/```json\n(.*)\n```/g)].map((m) => m[1]);
  const input = JSON.parse(blocks[0]);
  expect(blocks[0]).toBe(fb("events.ndjson").split("\n")[0]);
  const call = new FluentBitFilter(module).call(input);
  expect(call.kept).toBe(true);
  expect(ecsDiff(call.record as Json, { ...JSON.parse(blocks[1]), message: fluentBitJson(input) })).toEqual([]);
  expect(JSON.parse(blocks[1]).message).toBe(fluentBitJson(input));
});

test("the Fluent Bit README's table of the 7 outputs holds", () => {
  const rows = [...fb("README.md").matchAll(/^\| \d .*? \| (NSG|VNet) \| `([^`]+)` \| `(\[[^\]]+\])` \|/gm)];
  expect(rows).toHaveLength(7);
  const filter = new FluentBitFilter(module);
  const lines = fb("events.ndjson").trim().split("\n");
  rows.forEach((row, i) => {
    const out = filter.call(JSON.parse(lines[i])).record as Record<string, any>;
    expect(out["@timestamp"]).toBe(row[2]);
    expect(out.event.type).toEqual(JSON.parse(row[3]));
    expect(row[1] === "VNet").toBe(out.observer !== undefined);
  });
});

test("the embedding example runs and prints what the library computes", async () => {
  const r = spawnSync("node", [join(root, "examples/embedding.mjs")], { encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout).toBe("reject 94.102.49.190 -> 10.5.16.4:443\n15 events (0 errors), 9 denied\n");
});
