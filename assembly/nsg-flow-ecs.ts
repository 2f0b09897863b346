// build/nsg-flow-ecs.wasm: the Fluent Bit filter, plus the batch ABI so that the same file a
// user deploys can be checked and driven by the Node host (`nsg-flow-ecs check --wasm`).
// First, before anything allocates: keep WAMR's app heap out of the allocator (abi/app-heap.ts).
import "./abi/app-heap";
export * from "./abi/batch";
export * from "./abi/fluent-bit";
// Compiled in for `--use abort=…` (asconfig.json).
import "./abi/abort";

/** Marks the module a WASI reactor: it imports WASI functions (the filter's settings file,
 * abi/files.ts), and WAMR prints a warning on Fluent Bit's stdout — into the output stream —
 * for a module with WASI imports that is neither a command (`_start`) nor a reactor. There is
 * nothing to initialise: AssemblyScript's start function has run by then. */
export function _initialize(): void {}
