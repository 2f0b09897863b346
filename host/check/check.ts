// `nsg-flow-ecs check [--wasm FILE]`: the documented samples through a module (the built one,
// or the .wasm a user is about to deploy), one pass/fail line per sample and path, with the
// field-level difference on failure. Paths: the batch ABI (what the CLI uses) and, when the
// module has it, the Fluent Bit filter ABI with both record shapes.
import { readFileSync } from "node:fs";
import { ecsDiff, type Json } from "./compare.js";
import { loadDocumentedCases } from "./documented.js";
import { FlowTransform, defaultWasmPath } from "../transform/loader.js";
import { FluentBitFilter, fluentBitJson } from "./fluent-bit-harness.js";

export interface CheckResult {
  passed: number;
  failed: number;
  lines: string[];
}

function verdict(name: string, path: string, problems: string[]): string {
  return problems.length === 0
    ? `ok   ${name} (${path})`
    : `FAIL ${name} (${path})\n  ${problems.join("\n  ")}`;
}

function compare(text: string, expected: Json): string[] {
  try {
    return ecsDiff(JSON.parse(text) as Json, expected);
  } catch (err) {
    return [`output is not JSON: ${(err as Error).message}`];
  }
}

export function runCheck(wasmPath: string = defaultWasmPath()): CheckResult {
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  const transform = new FlowTransform(module);
  const filter = FluentBitFilter.hasFilter(module) ? new FluentBitFilter(module) : null;
  const lines: string[] = [`checking ${wasmPath}`];
  let passed = 0;
  let failed = 0;
  const record = (line: string, ok: boolean) => {
    lines.push(line);
    if (ok) passed++;
    else failed++;
  };

  for (const c of loadDocumentedCases()) {
    const problems = compare(transform.mapRecord(c.input), c.expected);
    record(verdict(c.name, "batch", problems), problems.length === 0);
    if (!filter) continue;

    // Shape 1: a tail input with a json parser; the record is the raw event, and `message`
    // is the record as Fluent Bit serialised it.
    const asRecord = JSON.parse(c.input);
    const call1 = filter.call(asRecord);
    const expected1 = { ...c.expected, message: fluentBitJson(asRecord) };
    const p1 = call1.kept ? ecsDiff(call1.record as Json, expected1) : [`Fluent Bit would drop the record: ${call1.text.slice(0, 200)}`];
    record(verdict(c.name, "fluent-bit filter, parsed record", p1), p1.length === 0);

    // Shape 2: a tail input without parser; the raw event is the string under `log`.
    const call2 = filter.call({ log: c.input });
    const p2 = call2.kept ? ecsDiff(call2.record as Json, c.expected) : [`Fluent Bit would drop the record: ${call2.text.slice(0, 200)}`];
    record(verdict(c.name, "fluent-bit filter, raw line under log", p2), p2.length === 0);
  }
  lines.push(`${passed} passed, ${failed} failed`);
  return { passed, failed, lines };
}
