// Large inputs mapped on every core. The calling thread reads the input into shared buffers,
// cuts it into jobs of whole records (pool/boundaries.ts: after a newline, or after a blob record),
// and hands each job to one of threads − 1 worker threads, each running its own FlowTransform
// (pool/worker.ts, pool/jobs.ts), or maps it itself when they are all busy: as many threads map as there
// are cores, never more. The outputs go out in input order. At most MAX_INFLIGHT messages per
// worker and a few jobs in all wait at any time, so memory stays bounded whatever the input
// size. Input buffers (shared with the workers, never copied) and output buffers (moved, never
// copied) are reused.
//
// Small inputs stay on the calling thread: workers are started only once an input is known
// (size hint, file size) or seen to be at least `parallelFrom` bytes.
//
// Failures: a trap is handled inside each FlowTransform (it re-instantiates its module; an
// NDJSON batch is redone record by record there). A blob job that trapped, and the jobs of a
// worker that died, are redone record by record (on a new worker if it died), so that a record
// that fails again becomes one error event and everything else comes out once, in order.
import { existsSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { FlowTransform, defaultWasmPath, looksLikeBlob, type MapOptions } from "../transform/loader.js";
import { BlobBoundaries, recordEnds } from "./boundaries.js";
import { JobRunner, OutputBuffers, recordFailed, type Format, type JobMessage, type JobReply, type JobStart } from "./jobs.js";
import { passThrough, sniffFormat, transformInput, type StreamOptions, type StreamTotals } from "../transform/stream.js";
import { WORKER_STDIO, fdChunks, fdInput, forwardWorkerStdio, type FdInput } from "../transform/fd.js";
import type { WorkerConfig } from "./worker.js";

/** NDJSON inputs smaller than this stay on one thread, blobs under half of it (a blob's bytes
 * hold about three times the mapping work of NDJSON's). Measured break-even on 2 cores, where a
 * worker takes 50-80 ms to start: about 40 MB of NDJSON, 20 MB of a blob (docs/performance.md). */
export const PARALLEL_FROM = 32 << 20;
/** Input bytes per job: an NDJSON job's output is ~2.7× its input, a blob job's up to ~20×. */
const JOB_BYTES: Record<Format, number> = { ndjson: 1 << 20, blob: 256 << 10 };
/** A job's bytes are kept for a redo up to this size; a longer one (a record over it) is not
 * redone: should its worker die, it becomes one error event. */
const RETAIN_MAX = 16 << 20;
/** Messages a worker holds not yet answered: one being mapped, one waiting. */
const MAX_INFLIGHT = 2;
/** Input buffers kept for reuse. */
const KEEP_BUFFERS = 16;
/** Complete records of an input that trickles wait at most this long (ms) for their batch to fill. */
export const FLUSH_AFTER = 100;

export interface PoolOptions {
  /** The module: a path, loaded by each thread (default: the built one, SIMD where available). */
  wasm?: string;
  /** Passed as-is (structured-cloned) to each thread's FlowTransform.fromFile(wasm, options). */
  transformOptions?: MapOptions;
  /** Threads that map (default: the number of cores). 1: everything on the calling thread. */
  threads?: number;
  /** NDJSON inputs smaller than this many bytes (blobs: half as many) are mapped on the calling
   * thread only (default PARALLEL_FROM). */
  parallelFrom?: number;
  /** The calling thread's FlowTransform (default: loaded from `wasm` with `transformOptions`). */
  transform?: FlowTransform;
  /** Each output chunk is valid only until the next one is asked for (its buffer is then
   * reused, or it is a view of the calling thread's module): for a caller that writes each chunk
   * out at once, as the CLI does. Sets the transform's outputViews too. */
  outputViews?: boolean;
  /** With outputViews: each output chunk stays valid until this many more were asked for
   * (default 0), for a caller that writes one chunk while the pool maps the next. */
  keepOutputs?: number;
  /** Input bytes per job (default 1 MiB of NDJSON, 256 KiB of a blob). */
  jobBytes?: number;
}

export interface ParallelStreamOptions extends StreamOptions {
  /** The input's size in bytes when known: workers then start at once if it is large. */
  sizeHint?: number;
}

class Lane {
  ready = false;
  dead = false;
  /** The job of each message sent and not yet answered, oldest (the one being mapped) first. */
  readonly sent: Job[] = [];
  /** A job whose later messages are still to come: no other job may start on this lane. */
  open?: Job;
  readonly jobs = new Set<Job>();
  /** Output buffers written out, to give back with the next message. */
  recycle: ArrayBuffer[] = [];
  constructor(readonly worker: Worker) {}
}

/** The calling thread, as a lane: runs its jobs synchronously. */
const MAIN = "main";

interface Part {
  bytes: Buffer;
  /** Who filled its buffer (given back once written out, with outputViews). */
  from?: Lane | typeof MAIN;
}

class Job {
  lane: Lane | typeof MAIN = MAIN;
  /** The job's bytes so far, kept for a redo while the job is no longer than RETAIN_MAX. */
  retained: Uint8Array[] = [];
  retainedBytes = 0;
  redoable = true;
  sentEnd = false;
  final = false;
  parts: Part[] = [];
  records = 0;
  errors = 0;
  matched = 0;
  geoFaults = 0;
  done = false;
  blobOffset?: number;
  /** A redo in progress: the job's bytes, where each record ends, how many came back. */
  redo?: { data: Uint8Array; ends: number[]; settled: number };
  /** Its thread failed while it was still coming in: its last bytes start a redo. */
  orphaned = false;
  constructor(readonly id: number, readonly start: JobStart) {}
}

interface Run {
  format: Format;
  queue: Job[];
  current?: Job;
  offset: number;
  options: ParallelStreamOptions;
  totals: StreamTotals;
}

/** Fills the free part of a buffer from the input; 0 at its end. An input that may keep the
 * caller waiting (a pipe, a stream) gives up when `interrupt` settles first and returns IDLE,
 * the bytes on their way kept for the next call. */
interface Fill {
  (space: Uint8Array, interrupt?: Promise<unknown>): Promise<number>;
  /** Whether a call may wait for the input (else `interrupt` is never looked at). */
  waits: boolean;
}
const IDLE = -1;

/** A Fill over chunks that come when they come (`next()`: the next one, undefined at the end),
 * each copied into the buffers the threads share. A chunk is not asked for before the last one
 * is used up, so `next()` may reuse its buffer. */
function chunkFill(next: () => Promise<Uint8Array | undefined>): Fill {
  let pending: Uint8Array = new Uint8Array(0);
  let coming: Promise<Uint8Array | undefined> | undefined;
  let ended = false;
  const fill = async (space: Uint8Array, interrupt?: Promise<unknown>): Promise<number> => {
    while (pending.length === 0) {
      if (ended) return 0;
      coming ??= next();
      const chunk = interrupt ? await Promise.race([coming, interrupt.then(() => IDLE)]) : await coming;
      if (typeof chunk === "number") return IDLE;
      coming = undefined;
      if (chunk === undefined) ended = true;
      else pending = chunk;
    }
    const n = Math.min(space.length, pending.length);
    space.set(pending.subarray(0, n));
    pending = pending.subarray(n);
    return n;
  };
  return Object.assign(fill, { waits: true });
}

/** Resolves after `ms` unless cancelled (a pending timer would keep the process up). */
function timer(ms: number): { done: Promise<void>; cancel: () => void } {
  let handle: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => (handle = setTimeout(resolve, Math.max(0, ms))));
  return { done, cancel: () => clearTimeout(handle) };
}

/** The compiled worker, found from this file both as TypeScript source (host/) and compiled. */
function workerFile(): URL {
  for (const rel of ["./worker.js", "../../dist/host/pool/worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error("host/worker.js is not built: run `npm run build`");
}

export class FlowPool {
  readonly threads: number;
  readonly parallelFrom: number;
  /** Worker threads that died and were replaced (and module instances of the calling thread
   * replaced after a failure that was not a trap). */
  restarts = 0;
  /** Why workers could not be used, if they could not (inputs then map on the calling thread). */
  workerError?: Error;
  private readonly wasm: string;
  private readonly transformOptions?: MapOptions;
  private readonly outputViews: boolean;
  private readonly keepOutputs: number;
  /** Output chunks handed out and maybe still being written (keepOutputs). */
  private held: Part[] = [];
  private readonly jobBytes?: number;
  private mainTransform?: FlowTransform;
  private readonly givenTransform: boolean;
  private mainRunner?: JobRunner;
  private readonly mainBuffers = new OutputBuffers();
  private mainOpen?: Job;
  private lanes: Lane[] = [];
  private started = false;
  private closed = false;
  private nextJob = 0;
  private buffers: SharedArrayBuffer[] = [];
  private wake!: () => void;
  private tick!: Promise<void>;

  constructor(options: PoolOptions = {}) {
    this.threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
    this.parallelFrom = options.parallelFrom ?? PARALLEL_FROM;
    this.wasm = options.wasm ?? defaultWasmPath();
    this.transformOptions = options.transformOptions;
    this.outputViews = options.outputViews ?? false;
    this.keepOutputs = options.keepOutputs ?? 0;
    this.mainTransform = options.transform;
    this.givenTransform = options.transform !== undefined;
    if (this.mainTransform && this.outputViews) this.mainTransform.outputViews = true;
    this.jobBytes = options.jobBytes;
    this.rearm();
  }

  /** Worker threads running (started once a large input came, or by warm()). */
  get workerCount(): number {
    return this.lanes.length;
  }

  /** The calling thread's FlowTransform (loaded when first needed). */
  get transform(): FlowTransform {
    if (!this.mainTransform) {
      this.mainTransform = FlowTransform.fromFile(this.wasm, this.transformOptions);
      if (this.outputViews) this.mainTransform.outputViews = true;
    }
    return this.mainTransform;
  }

  /** Like transformInput (transform/stream.ts): NDJSON or a blob in, ECS NDJSON out in input order,
   * `totals` updated as the output goes out; large inputs mapped on every thread. */
  async *transformInput(
    source: AsyncIterable<Uint8Array>,
    totals: StreamTotals = { records: 0, errors: 0 },
    options: ParallelStreamOptions = {},
  ): AsyncGenerator<Buffer> {
    if (this.closed) throw new Error("the pool is closed");
    if (this.threads === 1) {
      yield* this.oneThread(source, totals, options);
      return;
    }
    const { format, rest } = await sniffFormat(source, options);
    if (format === "ndjson" && options.flattenOnly) {
      yield* passThrough(rest);
      return;
    }
    const iterator = rest[Symbol.asyncIterator]();
    const fill = chunkFill(async () => {
      const next = await iterator.next();
      return next.done ? undefined : next.value;
    });
    yield* this.parallel(fill, format, totals, options);
  }

  /** The same for a file, read straight into the buffers the threads share. A blob is read
   * from options.fromOffset when given. */
  async *transformFile(
    path: string,
    totals: StreamTotals = { records: 0, errors: 0 },
    options: StreamOptions = {},
  ): AsyncGenerator<Buffer> {
    if (this.closed) throw new Error("the pool is closed");
    const file = await open(path);
    try {
      let position = options.fromOffset ?? 0;
      const size = (await file.stat()).size;
      yield* this.fromInput({
        kind: "file",
        size: size - position,
        read: async (space) => {
          const n = readSync(file.fd, space, 0, space.length, position);
          position += n;
          return n;
        },
      }, totals, options);
    } finally {
      await file.close();
    }
  }

  /** The same for what a file descriptor holds (0: standard input), from where it stands: a
   * regular file as transformFile does (workers at once when it is large); a pipe, socket or
   * terminal in large reads, on one thread until PARALLEL_FROM bytes came, then on every thread
   * (its size is not known before its end). Complete records that have waited FLUSH_AFTER ms go
   * out without waiting for a full batch: a pipe that trickles still gets its events at once.
   * With options.fromOffset, the input is taken to start at that offset of a blob. */
  async *transformFd(
    fd: number,
    totals: StreamTotals = { records: 0, errors: 0 },
    options: StreamOptions = {},
  ): AsyncGenerator<Buffer> {
    if (this.closed) throw new Error("the pool is closed");
    yield* this.fromInput(fdInput(fd), totals, options);
  }

  private async *fromInput(input: FdInput, totals: StreamTotals, options: StreamOptions): AsyncGenerator<Buffer> {
    // The format, from the first bytes (which are kept, and mapped first).
    let format = options.format ?? "auto";
    if (format === "auto" && (options.fromOffset ?? 0) > 0) format = "blob";
    const head = new Uint8Array(format === "auto" ? 65536 : 0);
    let headLength = 0;
    while (format === "auto" && headLength < head.length) {
      const n = await input.read(head.subarray(headLength));
      if (n === 0) break;
      headLength += n;
      const verdict = looksLikeBlob(head.subarray(0, headLength));
      if (verdict !== undefined) format = verdict ? "blob" : "ndjson";
    }
    const headBytes = head.subarray(0, headLength);
    // Still undecided after 64 KiB (whitespace), or nothing to parallelize: as a stream, which
    // reads on until it knows.
    if (this.threads === 1 || format === "auto" || (format === "ndjson" && options.flattenOnly)) {
      const chunks = async function* () {
        if (headLength > 0) yield headBytes;
        // (transformInput holds on to chunks only while it looks for the format)
        yield* fdChunks(input, format === "auto");
      };
      yield* this.oneThread(chunks(), totals, { ...options, format: format === "auto" ? undefined : format });
      return;
    }
    let fromHead = 0;
    const fromRest: Fill = input.kind === "file"
      ? Object.assign((space: Uint8Array) => input.read(space), { waits: false })
      : (() => {
          // Staged: a read may still be on its way when the batch it would have joined goes out.
          const staging = new Uint8Array(1 << 20);
          return chunkFill(async () => {
            const n = await input.read(staging);
            return n === 0 ? undefined : staging.subarray(0, n);
          });
        })();
    const fill: Fill = Object.assign(async (space: Uint8Array, interrupt?: Promise<unknown>) => {
      if (fromHead < headLength) {
        const n = Math.min(space.length, headLength - fromHead);
        space.set(headBytes.subarray(fromHead, fromHead + n));
        fromHead += n;
        return n;
      }
      return fromRest(space, interrupt);
    }, { waits: fromRest.waits });
    yield* this.parallel(fill, format, totals, { ...options, sizeHint: input.size });
  }

  private async *oneThread(source: AsyncIterable<Uint8Array>, totals: StreamTotals, options: StreamOptions): AsyncGenerator<Buffer> {
    const output = transformInput(source, this.transform, totals, options);
    if (!this.outputViews || this.keepOutputs === 0) return yield* output;
    // Views of the module, overwritten by its next call: copies, to stay valid while kept.
    for await (const chunk of output) {
      const copy = Buffer.allocUnsafeSlow(chunk.length);
      copy.set(chunk);
      yield copy;
    }
  }

  private async *parallel(fill: Fill, format: Format, totals: StreamTotals, options: ParallelStreamOptions): AsyncGenerator<Buffer> {
    const run: Run = { format, queue: [], offset: options.fromOffset ?? 0, options, totals };
    const boundaries = format === "blob" ? new BlobBoundaries(run.offset === 0) : undefined;
    const jobBytes = this.jobBytes ?? JOB_BYTES[format];
    let buf = this.buffer(jobBytes);
    let filled = 0;
    let lastCut = -1; // in buf: just after the last record end
    let seen = 0;
    const parallelFrom = format === "blob" ? this.parallelFrom / 2 : this.parallelFrom;
    if ((options.sizeHint ?? 0) >= parallelFrom) this.startWorkers();
    let dueAt = 0; // when the complete records in buf go out even if the batch is not full
    for (;;) {
      // A job of about jobBytes; past that, on to the buffer's end looking for a record end.
      const space = buf.subarray(filled, filled < jobBytes ? jobBytes : buf.length);
      let n: number;
      if (fill.waits && (lastCut > 0 || run.queue.length > 0)) {
        // Waiting for the input must not hold back complete records, nor outputs ready.
        const due = lastCut > 0 ? timer(dueAt - performance.now()) : undefined;
        const interrupt = run.queue.length === 0 ? due!.done : due ? Promise.race([due.done, this.tick]) : this.tick;
        n = await fill(space, interrupt);
        due?.cancel();
      } else {
        n = await fill(space);
      }
      if (n === 0) break;
      if (n === IDLE) {
        if (lastCut > 0 && performance.now() >= dueAt) {
          const next = this.buffer(jobBytes);
          next.set(buf.subarray(lastCut, filled));
          yield* this.send(run, buf.subarray(0, lastCut), true, false);
          filled -= lastCut;
          lastCut = -1;
          buf = next;
        }
        yield* this.ready(run);
        continue;
      }
      const added = buf.subarray(filled, filled + n);
      const cut = boundaries ? boundaries.scan(added) : added.lastIndexOf(0x0a) + 1;
      if (cut > 0) {
        if (lastCut <= 0) dueAt = performance.now() + FLUSH_AFTER;
        lastCut = filled + cut;
      }
      filled += n;
      seen += n;
      if (seen >= parallelFrom) this.startWorkers();
      if (filled < jobBytes) continue;
      if (lastCut > 0) {
        const next = this.buffer(jobBytes);
        next.set(buf.subarray(lastCut, filled));
        yield* this.send(run, buf.subarray(0, lastCut), true, false);
        filled -= lastCut;
        lastCut = -1;
        buf = next;
      } else if (filled === buf.length) {
        // One record longer than the buffer: it goes out in parts, to the same lane.
        yield* this.send(run, buf, false, false);
        buf = this.buffer(jobBytes);
        filled = 0;
      }
      yield* this.ready(run);
    }
    yield* this.send(run, buf.subarray(0, filled), true, true);
    while (run.queue.length > 0) yield* this.waitForProgress(run);
  }

  /** An input buffer the threads share: a reused one when one is free. */
  private buffer(jobBytes: number): Uint8Array {
    const size = 2 * jobBytes;
    const i = this.buffers.findIndex((b) => b.byteLength === size);
    return new Uint8Array(i >= 0 ? this.buffers.splice(i, 1)[0]! : new SharedArrayBuffer(size));
  }

  private release(job: Job): void {
    for (const data of job.retained) {
      if (data.buffer instanceof SharedArrayBuffer && this.buffers.length < KEEP_BUFFERS) this.buffers.push(data.buffer);
    }
    job.retained = [];
  }

  /** Sends bytes of the input: a new job's first, or the current job's next. */
  private async *send(run: Run, data: Uint8Array, end: boolean, final: boolean): AsyncGenerator<Buffer> {
    let job = run.current;
    const first = job === undefined;
    if (!job) {
      let lane: Lane | typeof MAIN | undefined;
      for (let looked = false; ; looked = true) {
        while (run.queue.length >= this.threads * MAX_INFLIGHT + 2 || (lane = this.pickLane()) === undefined) {
          yield* this.waitForProgress(run);
        }
        // Before mapping a job here, let the workers' answers in (they come as events): one of
        // them may be free for it, and must not wait while this thread maps.
        if (lane !== MAIN || looked || this.lanes.length === 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      job = new Job(this.nextJob++, {
        format: run.format, offset: run.offset, atHead: run.format === "blob" && run.offset === 0,
        incremental: run.options.incremental ?? (run.options.fromOffset ?? 0) > 0, flattenOnly: run.options.flattenOnly ?? false,
      });
      job.lane = lane!;
      run.queue.push(job);
      run.current = job;
    } else {
      const lane = job.lane;
      while (lane !== MAIN && !lane.dead && lane.sent.length >= MAX_INFLIGHT) yield* this.waitForProgress(run);
    }
    run.offset += data.length;
    if (end) run.current = undefined;
    job.sentEnd = end;
    job.final = final;
    if (job.redoable && job.retainedBytes + data.length <= RETAIN_MAX) {
      job.retained.push(data);
      job.retainedBytes += data.length;
    } else {
      job.redoable = false;
      job.retained = [];
    }
    const message: JobMessage = { job: job.id, data, end, final };
    if (first) message.start = job.start;
    this.dispatch(job, message);
  }

  /** A lane for a new job: the least busy ready worker, else the calling thread. It maps too:
   * with threads − 1 workers, as many threads map as there are cores, and never more. */
  private pickLane(): Lane | typeof MAIN | undefined {
    let best: Lane | undefined;
    for (const lane of this.lanes) {
      if (lane.ready && !lane.open && lane.sent.length < MAX_INFLIGHT && (!best || lane.sent.length < best.sent.length)) best = lane;
    }
    if (best) return best;
    return this.mainOpen ? undefined : MAIN;
  }

  private dispatch(job: Job, message: JobMessage): void {
    const lane = job.lane;
    if (job.orphaned) {
      // Its thread failed while the job was still coming in: redo it whole once it is all here.
      if (message.end) this.afterDeath(job, true);
      return;
    }
    if (lane === MAIN) {
      this.mainOpen = message.end ? undefined : job;
      this.runOnMain(job, message);
      return;
    }
    lane.open = message.end ? undefined : job;
    lane.jobs.add(job);
    this.post(lane, job, message);
  }

  /** A message on the calling thread. A stack overflow in the module (a RangeError, not a trap)
   * is what kills a worker thread: here too the instance is replaced and the job redone record
   * by record. */
  private runOnMain(job: Job, message: JobMessage): void {
    try {
      this.runner().handle(message, (reply) => this.onReply(job, reply, MAIN));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      this.mainTransform = undefined; // a fresh one when next needed
      this.mainRunner = undefined;
      this.mainOpen = undefined;
      this.restarts++;
      this.afterDeath(job, true);
    }
  }

  private runner(): JobRunner {
    // Copies out of the module, into buffers reused once written out when the caller allows.
    return (this.mainRunner ??= new JobRunner(this.transform, this.outputViews ? this.mainBuffers.take : undefined));
  }

  private post(lane: Lane, job: Job, message: JobMessage): void {
    if (lane.sent.push(job) === 1 && lane.ready) lane.worker.ref();
    const recycle = lane.recycle;
    if (recycle.length > 0) {
      message.recycle = recycle;
      lane.recycle = [];
    }
    lane.worker.postMessage(message, recycle);
  }

  private onReply(job: Job, reply: JobReply, from: Lane | typeof MAIN): void {
    // One reply per message, but a redo's message has one per record before its last.
    if (from !== MAIN && reply.piece === undefined) {
      from.sent.shift();
      if (from.sent.length === 0 && from.ready) from.worker.unref();
    }
    if (job.done) return;
    for (const p of reply.parts) job.parts.push({ bytes: Buffer.from(p.buffer, p.byteOffset, p.byteLength), from });
    job.records += reply.records;
    job.errors += reply.errors;
    job.matched += reply.matched ?? 0;
    job.geoFaults += reply.geoFaults ?? 0;
    if (job.redo && reply.piece !== undefined) job.redo.settled++;
    if (reply.end) {
      if (reply.trapped && job.redoable && !job.redo) {
        this.startRedo(job, 0);
      } else {
        job.done = true;
        job.blobOffset = reply.blobOffset;
        job.redo = undefined;
        this.release(job);
        if (from !== MAIN) from.jobs.delete(job);
      }
    }
    this.wake();
  }

  /** Maps the job again record by record, from its record `from` (those before are settled). */
  private startRedo(job: Job, from: number): void {
    if (!job.redo) {
      const data = concat(job.retained);
      job.redo = { data, ends: recordEnds(job.start.format, data, job.start.atHead), settled: 0 };
      job.parts = [];
      job.records = 0;
      job.errors = 0;
      job.matched = 0;
      job.geoFaults = 0;
    }
    const { data, ends } = job.redo;
    const at = from === 0 ? 0 : ends[from - 1]!;
    const start: JobStart = { ...job.start, offset: job.start.offset + at, atHead: job.start.atHead && from === 0 };
    const message: JobMessage = { job: job.id, start, data: data.subarray(at), end: true, final: job.final, redo: true };
    // The job leaves its lane (should that one die later, the job is not its own any more).
    if (job.lane !== MAIN) job.lane.jobs.delete(job);
    const lane = this.laneForRedo();
    job.lane = lane;
    if (lane === MAIN) {
      this.runOnMain(job, message);
    } else {
      lane.jobs.add(job);
      this.post(lane, job, message);
    }
  }

  /** A worker for a redo (a new one replaces each that dies); the calling thread when workers
   * cannot be started at all. */
  private laneForRedo(): Lane | typeof MAIN {
    const live = this.lanes.filter((l) => !l.open);
    if (this.workerError || live.length === 0) return MAIN;
    return live.reduce((a, b) => (b.sent.length < a.sent.length ? b : a));
  }

  /** A job whose worker died: redo it record by record, or, when it died in such a redo, the
   * record it was on becomes an error event and the redo goes on after it. `blame`: whether the
   * worker died mapping this job (else no record of it is to blame). */
  private afterDeath(job: Job, blame: boolean): void {
    if (job.done) return;
    if (!job.sentEnd) {
      job.orphaned = true; // dispatch() calls again when the last bytes come
      return;
    }
    if (job.redo && blame) {
      const { data, ends, settled } = job.redo;
      const from = settled === 0 ? 0 : ends[settled - 1]!;
      job.parts.push({ bytes: Buffer.from(recordFailed(job.start.format, data.subarray(from, ends[settled]),
        job.start.offset + from, job.start.atHead && settled === 0, "a worker thread died twice on")) });
      job.records++;
      job.errors++;
      job.redo.settled++;
    }
    if (job.redoable && (!job.redo || job.redo.settled < job.redo.ends.length)) {
      this.startRedo(job, job.redo?.settled ?? 0);
    } else if (job.redoable) {
      job.done = true;
      job.blobOffset = job.start.offset + job.redo!.data.length;
    } else {
      // Too long to have been kept: the rest of the job is lost, and says so.
      job.parts.push({ bytes: Buffer.from(JSON.stringify({
        message: "",
        error: { type: "internal_error", message: `a worker thread died mapping the input from byte ${job.start.offset}; ` +
          `the rest of that record (over ${RETAIN_MAX} bytes) was not mapped; please report it` },
        event: { kind: "pipeline_error" },
      }) + "\n") });
      job.records++;
      job.errors++;
      job.done = true;
      job.blobOffset = job.start.offset;
    }
    this.wake();
  }

  /** Outputs ready to go, in order: those of the done jobs at the head of the queue, and of a
   * job too long to be redone as they come. */
  private *ready(run: Run): Generator<Buffer> {
    while (run.queue.length > 0) {
      const head = run.queue[0]!;
      if (!head.done && head.redoable) return;
      const parts = head.parts;
      head.parts = [];
      run.totals.records += head.records;
      run.totals.errors += head.errors;
      if (run.totals.matched !== undefined) run.totals.matched += head.matched;
      if (run.totals.geoFaults !== undefined) run.totals.geoFaults += head.geoFaults;
      head.records = 0;
      head.errors = 0;
      head.matched = 0;
      head.geoFaults = 0;
      for (const part of parts) {
        yield part.bytes;
        if (!this.outputViews || !part.from) continue;
        // Written out: its buffer goes back to the thread that filled it.
        this.held.push(part);
        while (this.held.length > this.keepOutputs) {
          const written = this.held.shift()!;
          const buffer = written.bytes.buffer as ArrayBuffer;
          if (written.from === MAIN) this.mainBuffers.giveBack(buffer);
          else if (!written.from!.dead && buffer.byteLength >= 1 << 20) written.from!.recycle.push(buffer);
        }
      }
      if (!head.done) return;
      run.queue.shift();
      if (head.final && run.format === "blob") run.options.onBlobOffset?.(head.blobOffset ?? head.start.offset);
    }
  }

  /** Hands out what is ready, then waits for a worker to answer (unless one did meanwhile). */
  private async *waitForProgress(run: Run): AsyncGenerator<Buffer> {
    const tick = this.tick;
    const before = run.queue.length;
    yield* this.ready(run);
    if (run.queue.length === before) await tick;
  }

  /** Starts the worker threads and waits until they are ready (or could not start: see
   * workerError). */
  async warm(): Promise<void> {
    this.startWorkers();
    while (!this.workerError && this.lanes.some((l) => !l.ready)) await this.tick;
  }

  private startWorkers(): void {
    if (this.started || this.closed || this.threads === 1) return;
    this.started = true;
    for (let i = 1; i < this.threads; i++) this.spawn();
  }

  private spawn(): void {
    // The calling thread's module, compiled already, when it was loaded from `wasm` (not given):
    // a worker then starts 30-40 ms of CPU sooner (measured under load).
    const config: WorkerConfig = { wasm: this.wasm, transformOptions: this.transformOptions, module: this.givenTransform ? undefined : this.transform.compiled };
    // Referenced while it starts and while it has work: an idle pool lets the process end.
    // Its stdio not piped by Node, which would make a pipe on fd 1 non-blocking (transform/fd.ts).
    const worker = new Worker(workerFile(), { workerData: config, ...WORKER_STDIO });
    forwardWorkerStdio(worker);
    const lane = new Lane(worker);
    this.lanes.push(lane);
    let error: Error | undefined;
    worker.on("message", (m: JobReply | { ready: true }) => {
      if ("ready" in m) {
        lane.ready = true;
        if (lane.sent.length === 0) worker.unref();
        this.wake();
        return;
      }
      for (const job of lane.jobs) {
        if (job.id === m.job) return this.onReply(job, m, lane);
      }
    });
    worker.on("error", (err) => (error = err));
    worker.on("exit", () => {
      lane.dead = true;
      this.lanes = this.lanes.filter((l) => l !== lane);
      if (this.closed) return;
      if (!lane.ready) {
        // It never started: no worker will (the module or its options do not load there).
        this.workerError ??= error ?? new Error("a worker thread exited before it started");
        for (const l of this.lanes) if (!l.ready) void l.worker.terminate();
      } else {
        this.restarts++;
        this.spawn();
      }
      // Only the job it was mapping can hold a record to blame; the others had not started.
      const mapping = lane.ready ? lane.sent[0] : undefined;
      const orphans = [...lane.jobs];
      lane.jobs.clear();
      for (const job of orphans) this.afterDeath(job, job === mapping);
      this.wake();
    });
  }

  private rearm(): void {
    this.tick = new Promise((resolve) => {
      this.wake = () => {
        this.rearm();
        resolve();
      };
    });
  }

  /** Stops the worker threads; resolves once they are gone. They stop holding the process at
   * once, so a caller about to exit need not wait (a thread still starting takes a few tens of
   * milliseconds to stop). An idle pool does not keep the process alive either. */
  close(): Promise<void> {
    this.closed = true;
    const lanes = this.lanes;
    this.lanes = [];
    for (const l of lanes) l.worker.unref();
    return Promise.all(lanes.map((l) => l.worker.terminate())).then(() => undefined);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(new SharedArrayBuffer(parts.reduce((s, p) => s + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
