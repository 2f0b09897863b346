// The library: load the WASM core once, transform batches or whole streams of flow events.
//
//   import { FlowTransform, transformInput } from "nsg-flow-ecs";
//   const t = FlowTransform.fromFile();            // the built module (SIMD where available)
//   const line = t.mapRecord(rawEventJson);         // one raw event → one ECS (or error) line
//   for await (const chunk of transformInput(fs.createReadStream("PT1H.json"))) out.write(chunk);
export {
  FlowTransform, ModuleError, builtWasm, defaultWasmPath, looksLikeBlob, type TransformResult, type BlobOptions,
  type MapOptions, type Profile,
} from "./loader.js";
export { transformStream, transformBlob, transformInput, type StreamTotals, type StreamOptions } from "./stream.js";
export { FluentBitFilter, fluentBitJson, type FilterCall } from "./fluent-bit-harness.js";
export { runCheck, type CheckResult } from "./check.js";
export { referenceMap } from "./reference.js";
