// Runs the WASI command under node:wasi in a process of its own: `node wasi-runner.mjs MODULE
// [ARGS...]`, stdin/stdout/stderr passed through, the command's exit status as this process's.
// Why a process per run: node:wasi on Node 20 crashes its process now and then (SIGSEGV in V8's
// heap), more often the more WASI instances one process has made: a loop of 300 runs of this
// module crashed in most attempts, while 300 plain instances of the same module never did, and
// a single run never did in 20. tests/wasi.test.ts runs each command here, and runs it again when
// the host (not the module) crashed.
// Preopened directories, as wasmtime's `--dir HOST::GUEST`: $WASI_PREOPENS, a JSON object guest
// name → host directory (none by default).
import { WASI } from "node:wasi";
import { readFileSync } from "node:fs";

const [wasm, ...args] = process.argv.slice(2);
const preopens = process.env.WASI_PREOPENS ? JSON.parse(process.env.WASI_PREOPENS) : {};
const wasi = new WASI({ version: "preview1", args: ["nsg-flow-ecs", ...args], preopens, stdin: 0, stdout: 1, stderr: 2, returnOnExit: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm)), wasi.getImportObject());
process.exitCode = wasi.start(instance);
