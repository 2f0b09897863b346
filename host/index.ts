// The library: load the WASM core once, transform batches or whole streams of flow events.
//
//   import { FlowTransform, transformInput } from "nsg-flow-ecs";
//   const t = FlowTransform.fromFile();            // the built module (SIMD where available)
//   const line = t.mapRecord(rawEventJson);         // one raw event → one ECS (or error) line
//   for await (const chunk of transformInput(fs.createReadStream("PT1H.json"))) out.write(chunk);
//   const pool = new FlowPool();                   // the same on every core, for large inputs
//   for await (const chunk of pool.transformFile("PT1H.json")) out.write(chunk);
//   for await (const chunk of pool.transformFd(0)) out.write(chunk);   // stdin, in large reads
export {
  FlowTransform, ModuleError, IndicatorError, GeoError, builtWasm, defaultWasmPath, looksLikeBlob, type TransformResult, type BlobOptions,
  type MapOptions, type Profile, type IndicatorSource, type IndicatorReport, type GeoDatabaseInfo, type GeoStats,
} from "./transform/loader.js";
export { transformStream, transformBlob, transformInput, type StreamTotals, type StreamOptions } from "./transform/stream.js";
export { FlowPool, PARALLEL_FROM, type PoolOptions, type ParallelStreamOptions } from "./pool/pool.js";
export { FluentBitFilter, fluentBitJson, type FilterCall } from "./check/fluent-bit-harness.js";
export { moduleImports } from "./transform/wasi-imports.js";
export { runCheck, type CheckResult } from "./check/check.js";
export { referenceMap } from "./reference/map.js";
