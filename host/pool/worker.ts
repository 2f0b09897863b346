// A worker thread of FlowPool (pool/pool.ts): one FlowTransform, loaded as the main thread asked,
// running the jobs it is sent in order and answering each message. Traps are the
// FlowTransform's business (it re-instantiates the module); anything else thrown here ends the
// thread, and the pool redoes its jobs record by record on a new one.
import { parentPort, workerData } from "node:worker_threads";
import { FlowTransform, type MapOptions } from "../transform/loader.js";
import { JobRunner, OutputBuffers, type JobMessage } from "./jobs.js";

export interface WorkerConfig {
  wasm: string;
  /** Forwarded as-is to FlowTransform.fromFile. */
  transformOptions?: MapOptions;
  /** The calling thread's compiled module: V8 shares its code with this thread, which then
   * does not compile the file again. */
  module?: WebAssembly.Module;
}

const buffers = new OutputBuffers();
const config = workerData as WorkerConfig;
const transform = config.module ? new FlowTransform(config.module, config.transformOptions) : FlowTransform.fromFile(config.wasm, config.transformOptions);
const runner = new JobRunner(transform, buffers.take);
const port = parentPort!;
port.on("message", (m: JobMessage) => {
  for (const b of m.recycle ?? []) buffers.giveBack(b);
  runner.handle(m, (reply) => port.postMessage(reply, reply.parts.map((p) => p.buffer as ArrayBuffer)));
});
port.postMessage({ ready: true });
