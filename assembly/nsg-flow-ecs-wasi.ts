// build/nsg-flow-ecs-wasi.wasm: the WASI command (`wasmtime run`, node:wasi, exec_wasi).
export { _start } from "./abi/wasi";
// Compiled in for `--use abort=…` (asconfig.json).
import "./abi/abort";
