// The library: load the WASM core once, transform batches or whole streams of flow events.
//
//   import { FlowTransform, transformStream } from "nsg-flow-ecs";
//   const t = FlowTransform.fromFile();            // the built module (SIMD where available)
//   const line = t.mapRecord(rawEventJson);         // one raw event → one ECS (or error) line
//   for await (const chunk of transformStream(fs.createReadStream("events.ndjson"))) out.write(chunk);
import { FlowTransform } from "./loader.js";

export { FlowTransform, ModuleError, builtWasm, defaultWasmPath, type TransformResult } from "./loader.js";
export { FluentBitFilter, fluentBitJson, type FilterCall } from "./fluent-bit-harness.js";
export { runCheck, type CheckResult } from "./check.js";
export { referenceMap } from "./reference.js";

export interface StreamTotals {
  records: number;
  errors: number;
}

/** NDJSON chunks in (any boundaries), ECS NDJSON chunks out, in order; `totals` is updated as
 * the stream goes. The output chunks are copies: safe to keep or write asynchronously. */
export async function* transformStream(
  source: AsyncIterable<Uint8Array>,
  transform: FlowTransform = FlowTransform.fromFile(),
  totals: StreamTotals = { records: 0, errors: 0 },
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const r = transform.push(chunk);
    totals.records += r.records;
    totals.errors += r.errors;
    if (r.output.length > 0) yield r.output;
  }
  const r = transform.end();
  totals.records += r.records;
  totals.errors += r.errors;
  if (r.output.length > 0) yield r.output;
}
