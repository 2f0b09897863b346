// A worker thread of FlowPool (parallel.ts): one FlowTransform, loaded as the main thread asked,
// running the jobs it is sent in order and answering each message. Traps are the
// FlowTransform's business (it re-instantiates the module); anything else thrown here ends the
// thread, and the pool redoes its jobs record by record on a new one.
import { parentPort, workerData } from "node:worker_threads";
import { FlowTransform, type MapOptions } from "./loader.js";
import { JobRunner, type JobMessage } from "./jobs.js";

export interface WorkerConfig {
  wasm: string;
  /** Forwarded as-is to FlowTransform.fromFile. */
  transformOptions?: MapOptions;
}

/** Output buffers are reused once the main thread has written them out and given them back:
 * fresh ones would cost a page fault every 4 KiB. A job's output fits one (blob output comes
 * in slices of about 4 MB). */
const OUTPUT_BUFFER = 6 << 20;
const KEEP_BUFFERS = 8;
const free: ArrayBuffer[] = [];

function outputBuffer(size: number): Uint8Array {
  const i = free.findIndex((b) => b.byteLength >= size);
  const buffer = i >= 0 ? free.splice(i, 1)[0]! : new ArrayBuffer(Math.max(size, OUTPUT_BUFFER));
  return new Uint8Array(buffer, 0, size);
}

const config = workerData as WorkerConfig;
const runner = new JobRunner(FlowTransform.fromFile(config.wasm, config.transformOptions), outputBuffer);
const port = parentPort!;
port.on("message", (m: JobMessage) => {
  for (const b of m.recycle ?? []) if (free.length < KEEP_BUFFERS) free.push(b);
  runner.handle(m, (reply) => port.postMessage(reply, reply.parts.map((p) => p.buffer as ArrayBuffer)));
});
port.postMessage({ ready: true });
