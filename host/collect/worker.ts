// A mapping thread of `collect` (WorkerBlobMapper in collect/mapper.ts): one FlowTransform,
// one blob read at a time, each chunk answered with its output. Anything thrown here other than
// a trap (which the transform handles) ends the thread, and the collector reports it.
import { parentPort, workerData } from "node:worker_threads";
import { FlowTransform } from "../transform/loader.js";
import { OutputBuffers, addResult } from "../pool/jobs.js";
import type { MapperReply, MapperRequest, MapperWorkerConfig } from "./mapper.js";

const config = workerData as MapperWorkerConfig;
const transform = FlowTransform.fromFile(config.wasm, config.transformOptions);
transform.outputViews = true; // each slice is copied into a buffer of its own below
const buffers = new OutputBuffers();
const port = parentPort!;
port.on("message", (request: MapperRequest) => {
  if ("start" in request) {
    transform.startBlob(request.start);
    return;
  }
  for (const b of request.recycle) buffers.giveBack(b);
  const reply: MapperReply = { parts: [], records: 0, errors: 0, blobOffset: 0 };
  for (const slice of transform.blobSlices(request.chunk, request.last)) addResult(reply, slice, buffers.take);
  reply.blobOffset = transform.blobOffset;
  port.postMessage(reply, reply.parts.map((p) => p.buffer as ArrayBuffer));
});
