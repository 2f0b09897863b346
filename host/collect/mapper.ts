// Who maps a blob read for `collect`: the main thread's own FlowTransform, or one in a worker
// thread (collect/worker.ts), behind one interface, so that several blobs can be read at once
// with their mapping on every core.
//
// The output of a chunk is handed to `emit`, and `done` is called after it, in one synchronous
// run with no await between them: a checkpoint taken at any await point therefore counts
// exactly the events written (the collector relies on that to keep the output file and the
// checkpoints consistent while other blobs are read at the same time).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { FlowTransform, type BlobOptions, type MapOptions } from "../transform/loader.js";
import { WORKER_STDIO, forwardWorkerStdio } from "../transform/fd.js";

export interface MappedCounts {
  records: number;
  errors: number;
  /** Events that matched an indicator. */
  matched?: number;
  /** Geo lookups that met a corrupt database record. */
  geoFaults?: number;
}

export interface BlobMapper {
  startBlob(options: BlobOptions): void;
  /** Maps one chunk of the blob started last: `emit` gets each piece of output (a view, to be
   * written before returning), then `done` the counts, with blobOffset already updated. */
  map(chunk: Uint8Array, last: boolean, emit: (output: Uint8Array) => void, done: (counts: MappedCounts) => void): Promise<void>;
  /** Where to resume the blob: the byte after its last complete record mapped so far. */
  readonly blobOffset: number;
  close(): Promise<void>;
}

/** The main thread's transform (what `--threads 1` uses for everything). */
export class LocalBlobMapper implements BlobMapper {
  constructor(private readonly transform: FlowTransform) {
    transform.outputViews = true; // each slice is written before the next is asked for
  }

  startBlob(options: BlobOptions): void {
    this.transform.startBlob(options);
  }

  async map(chunk: Uint8Array, last: boolean, emit: (output: Uint8Array) => void, done: (counts: MappedCounts) => void): Promise<void> {
    const counts = { records: 0, errors: 0, matched: 0, geoFaults: 0 };
    for (const slice of this.transform.blobSlices(chunk, last)) {
      counts.records += slice.records;
      counts.errors += slice.errors;
      counts.matched += slice.matched ?? 0;
      counts.geoFaults += slice.geoFaults ?? 0;
      if (slice.output.length > 0) emit(slice.output);
    }
    done(counts);
  }

  get blobOffset(): number {
    return this.transform.blobOffset;
  }

  async close(): Promise<void> {}
}

/** What the worker is sent: a blob's start, or one chunk of it, with the output buffers of
 * earlier replies, written out, to reuse (fresh ones would cost a page fault every 4 KiB). */
export type MapperRequest = { start: BlobOptions } | { chunk: Uint8Array; last: boolean; recycle: ArrayBuffer[] };
/** What it answers for a chunk: its output, in buffers of their own (transferred). */
export interface MapperReply extends MappedCounts {
  parts: Uint8Array[];
  blobOffset: number;
}

export interface MapperWorkerConfig {
  wasm: string;
  transformOptions: MapOptions;
}

/** A FlowTransform in a worker thread. A worker that dies (which a trap does not do: the
 * transform re-instantiates its module) fails the read in progress like a storage failure
 * would not: the collector stops with the error, and a restart reads from the checkpoint. */
export class WorkerBlobMapper implements BlobMapper {
  private readonly worker: Worker;
  private offset = 0;
  private waiting?: { resolve: (reply: MapperReply) => void; reject: (err: Error) => void };
  private failure?: Error;
  /** Buffers of the last reply's parts, written out by now: they go back with the next chunk. */
  private written: ArrayBuffer[] = [];

  constructor(config: MapperWorkerConfig) {
    // Its stdio forwarded by hand: Node's own piping touches process.stdout, which turns a pipe
    // on fd 1 non-blocking and sends the collector's stdout writes the slow way (transform/fd.ts).
    this.worker = new Worker(workerFile(), { workerData: config, ...WORKER_STDIO });
    forwardWorkerStdio(this.worker);
    this.worker.on("message", (reply: MapperReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(reply);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(err);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`a mapping thread stopped (exit code ${code})`)));
  }

  startBlob(options: BlobOptions): void {
    this.offset = options.fromOffset ?? 0;
    this.post({ start: options });
  }

  async map(chunk: Uint8Array, last: boolean, emit: (output: Uint8Array) => void, done: (counts: MappedCounts) => void): Promise<void> {
    const reply = await new Promise<MapperReply>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiting = { resolve, reject };
      // A copy: the caller's chunk may be a view of a buffer it goes on using.
      this.post({ chunk: Uint8Array.from(chunk), last, recycle: this.written });
    });
    this.offset = reply.blobOffset;
    for (const part of reply.parts) emit(part);
    done(reply);
    // emit() writes or copies each part before it returns (the BlobMapper contract).
    this.written = reply.parts.map((p) => p.buffer as ArrayBuffer);
  }

  get blobOffset(): number {
    return this.offset;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }

  private post(request: MapperRequest): void {
    this.worker.postMessage(request, "chunk" in request ? [request.chunk.buffer as ArrayBuffer, ...request.recycle] : []);
  }
}

/** The compiled worker, found from this file both as TypeScript source (host/) and compiled. */
function workerFile(): URL {
  for (const rel of ["./worker.js", "../../dist/host/collect/worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error("host/collector-worker.js is not built: run `npm run build`");
}
