// One batch of an input ("job": a run of whole records, cut where pool/boundaries.ts says) mapped by
// one FlowTransform, in a worker thread or on the main thread: the messages that carry it and
// the code that runs it, the same in both places. A job may come in several messages (a record
// longer than a message); its output comes back per message.
import { FlowTransform, internalError, type TransformResult } from "../transform/loader.js";
import { recordEnds } from "./boundaries.js";

export type Format = "ndjson" | "blob";

/** How a job starts: where its first byte stands in the input, and the blob options. */
export interface JobStart {
  format: Format;
  /** The absolute offset of the job's first byte (blob offsets in error events count from it). */
  offset: number;
  /** The job begins with the blob's head (the document's first byte, offset 0). */
  atHead: boolean;
  incremental: boolean;
  flattenOnly: boolean;
}

export interface JobMessage {
  job: number;
  /** On a job's first message. */
  start?: JobStart;
  data: Uint8Array;
  /** The job's last message. */
  end: boolean;
  /** The job ends the input: a blob's end-of-document rules apply (truncated_blob…). */
  final: boolean;
  /** Map the job record by record (start and data are the whole job), one reply per record:
   * after a worker died on it, so that a record that kills a worker again is found. */
  redo?: boolean;
  /** Output buffers of earlier replies, given back for reuse (written out already). */
  recycle?: ArrayBuffer[];
}

export interface JobReply {
  job: number;
  /** Output bytes, each in an ArrayBuffer of its own (transferable). */
  parts: Uint8Array[];
  records: number;
  errors: number;
  /** Events among `records` that matched an indicator. */
  matched?: number;
  /** Geo lookups among them that met a corrupt database record. */
  geoFaults?: number;
  /** The job's last reply. */
  end: boolean;
  /** In a redo: which record of it this reply is. */
  piece?: number;
  /** At a blob job's end: where to resume a growing blob. */
  blobOffset?: number;
  /** At a blob job's end: the module trapped in it (the job should be redone record by record:
   * a trap stops a blob's splitter, and the rest of the job did not come out). */
  trapped?: boolean;
}

const EMPTY = new Uint8Array(0);
// Encodes into a buffer of its own (Buffer.from may share a pool buffer, which cannot be transferred).
const utf8 = new TextEncoder();

/** Where each output is copied to: a buffer of its own (transferable), of at least `size`. */
export type OutputBuffer = (size: number) => Uint8Array;
const fresh: OutputBuffer = (size) => new Uint8Array(size);

/** Output buffers reused once written out and given back: fresh ones would cost a page fault
 * every 4 KiB. A job's output fits one (blob output comes in slices of about 4 MB). */
export class OutputBuffers {
  private static readonly SIZE = 6 << 20;
  private readonly free: ArrayBuffer[] = [];

  take: OutputBuffer = (size) => {
    const i = this.free.findIndex((b) => b.byteLength >= size);
    const buffer = i >= 0 ? this.free.splice(i, 1)[0]! : new ArrayBuffer(Math.max(size, OutputBuffers.SIZE));
    return new Uint8Array(buffer, 0, size);
  };

  /** (Small buffers, such as an error event's, are not worth keeping.) */
  giveBack(buffer: ArrayBuffer): void {
    if (this.free.length < 8 && buffer.byteLength >= OutputBuffers.SIZE) this.free.push(buffer);
  }
}

/** Runs the jobs given to one FlowTransform, one message at a time, in order. */
export class JobRunner {
  private start?: JobStart;
  private trapsBefore = 0;

  constructor(private readonly transform: FlowTransform, private readonly output: OutputBuffer = fresh) {}

  get traps(): number {
    return this.transform.traps;
  }

  /** Runs one message, handing each reply to `reply` as soon as it is made (in a redo, one per
   * record: should the thread die on a record, those before it are out). */
  handle(m: JobMessage, reply: (r: JobReply) => void): void {
    // Each output is copied once, by take(), into a buffer that can be handed to another
    // thread; the transform's own setting is left as it was for its other users.
    const views = this.transform.outputViews;
    this.transform.outputViews = true;
    try {
      if (m.redo) this.redo(m, reply);
      else reply(this.run(m));
    } finally {
      this.transform.outputViews = views;
    }
  }

  private run(m: JobMessage): JobReply {
    const t = this.transform;
    if (m.start) {
      this.start = m.start;
      this.trapsBefore = t.traps;
      if (m.start.format === "blob") t.startBlob(blobOptions(m.start, m.start.offset));
    }
    const start = this.start!;
    const reply: JobReply = { job: m.job, parts: [], records: 0, errors: 0, end: m.end };
    if (start.format === "ndjson") {
      this.take(reply, t.push(m.data));
      if (m.end) this.take(reply, t.end());
    } else {
      // A job that is not the input's last ends just after a record: nothing is left to finish.
      for (const r of t.blobSlices(m.data)) this.take(reply, r);
      if (m.final) for (const r of t.blobSlices(EMPTY, true)) this.take(reply, r);
      if (m.end) {
        reply.blobOffset = t.blobOffset;
        reply.trapped = t.traps > this.trapsBefore;
      }
    }
    return reply;
  }

  /** The job again, each record on its own. */
  private redo(m: JobMessage, emit: (r: JobReply) => void): void {
    const t = this.transform;
    const start = m.start!;
    const ends = recordEnds(start.format, m.data, start.atHead);
    let from = 0;
    let blobOffset = start.offset;
    ends.forEach((end, piece) => {
      const bytes = m.data.subarray(from, end);
      const reply: JobReply = { job: m.job, parts: [], records: 0, errors: 0, end: false, piece };
      if (start.format === "ndjson") {
        this.take(reply, t.push(bytes));
        this.take(reply, t.end());
      } else {
        const before = t.traps;
        t.startBlob(blobOptions(start, start.offset + from));
        for (const r of t.blobSlices(bytes)) this.take(reply, r);
        if (m.final && piece === ends.length - 1) for (const r of t.blobSlices(EMPTY, true)) this.take(reply, r);
        blobOffset = t.blobOffset;
        if (t.traps > before) {
          reply.parts = [utf8.encode(recordFailed("blob", bytes, start.offset + from, start.atHead && from === 0, "the WASM core trapped on"))];
          reply.records = 1;
          reply.errors = 1;
          reply.matched = 0;
          reply.geoFaults = 0;
        }
      }
      emit(reply);
      from = end;
    });
    emit({ job: m.job, parts: [], records: 0, errors: 0, end: true, blobOffset });
  }

  private take(reply: JobReply, r: TransformResult): void {
    addResult(reply, r, this.output);
  }
}

/** Adds one result of a transform to a reply: its counts, and its output copied into a buffer
 * from `output` (transferable to another thread). */
export function addResult(reply: { parts: Uint8Array[]; records: number; errors: number; matched?: number; geoFaults?: number },
  r: TransformResult, output: OutputBuffer): void {
  reply.records += r.records;
  reply.errors += r.errors;
  if (r.matched) reply.matched = (reply.matched ?? 0) + r.matched;
  if (r.geoFaults) reply.geoFaults = (reply.geoFaults ?? 0) + r.geoFaults;
  if (r.output.length === 0) return;
  const copy = output(r.output.length);
  copy.set(r.output);
  reply.parts.push(copy);
}

function blobOptions(start: JobStart, offset: number) {
  return { fromOffset: offset, incremental: start.incremental, flattenOnly: start.flattenOnly };
}


const MAX_MESSAGE = 65536;

/** The error event that stands for one record (an NDJSON line, or a blob record) that could not
 * be mapped: the core trapped on it, or a worker died on it twice. `bytes` is the record's
 * piece of a job (for a blob, with the separators or head before it), at `offset`. */
export function recordFailed(format: Format, bytes: Uint8Array, offset: number, atHead: boolean, what: string): string {
  if (format === "ndjson") {
    let line = bytes;
    if (line[line.length - 1] === 0x0a) line = line.subarray(0, line.length - 1);
    return internalError(line.subarray(0, MAX_MESSAGE)) + "\n";
  }
  // A `{` before the record's own can only be the document's (a `{` between records starts one).
  const brace = bytes.indexOf(0x7b, atHead ? bytes.indexOf(0x5b) + 1 : 0);
  const at = brace < 0 ? 0 : brace;
  return JSON.stringify({
    message: Buffer.from(bytes.subarray(at, at + MAX_MESSAGE)).toString("utf8"),
    error: { type: "internal_error", message: `${what} the record at byte ${offset + at}; please report it` },
    event: { kind: "pipeline_error" },
  }) + "\n";
}
