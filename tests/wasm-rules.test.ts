// The WASM core, both builds, against the shared rule suite (tests/mapping-rules.ts): one record
// per call through the batch ABI, exactly as the reference is called.
import { readFileSync } from "node:fs";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { mappingRules } from "./mapping-rules.js";

for (const file of ["nsg-flow-ecs.wasm", "nsg-flow-ecs-simd.wasm"]) {
  describe(`${file}: the mapping rules`, () => {
    const transform = new FlowTransform(new WebAssembly.Module(readFileSync(builtWasm(file))));
    mappingRules((raw) => transform.mapRecord(raw));
  });
}
