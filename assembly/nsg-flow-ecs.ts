// build/nsg-flow-ecs.wasm: the Fluent Bit filter, plus the batch ABI so that the same file a
// user deploys can be checked and driven by the Node host (`nsg-flow-ecs check --wasm`).
export * from "./abi/batch";
export * from "./abi/fluent-bit";
// Compiled in for `--use abort=…` (asconfig.json).
import "./abi/abort";
