// Reading what is new in one PT1H.json blob: the committed bytes after the checkpoint, from one
// version of the blob, through the core's incremental blob reader, out to the output.
//
// Network Watcher commits the document `{"records":[` … `]}` again with each new block inserted
// just before its tail block `]}`, so the bytes before the tail never change while the blob
// lives. The tail itself is held back from the reader: a commit that ends in the middle of a
// record then reads as "not written yet" instead of as a broken record, and the next read
// resumes at the byte after the last complete record. Only once the blob's hour is over (and
// its grace period) does an unfinished record become an error event.
import type { ContainerClient } from "@azure/storage-blob";
import type { BlobMapper } from "./mapper.js";
import { BlobChanged, readRange, type BlobRange, type SourceBlob } from "./azure.js";
import { FINGERPRINT_BYTES, type Checkpoint } from "./checkpoints.js";
import { OutputError, type Output } from "./output.js";

export interface ReadCounts {
  records: number;
  errors: number;
  bytes: number;
  /** Events that matched an indicator (counted when the field is given). */
  matched?: number;
  /** Geo lookups that met a corrupt database record (counted when the field is given). */
  geoFaults?: number;
}

export interface ReadContext {
  mapper: BlobMapper;
  output: Output;
  flatten: boolean;
  counts: ReadCounts;
  stopping(): boolean;
  /** Aborted on SIGINT/SIGTERM: a read waiting on the network stops at once. */
  signal: AbortSignal;
  /** A checkpoint whose events are all written: saved when due, or now when `final`. */
  checkpoint(checkpoint: Checkpoint, final: boolean): Promise<void>;
  /** Called with the read's checkpoint in the same synchronous run as each write of its
   * output: what a save taken at any moment (by this read or another) records for it. */
  progress(checkpoint: Checkpoint): void;
  log(line: string): void;
}

export type ReadOutcome = "read" | "stopped" | "gone";

/** The end of the document: `]`, `}`, whitespace around them. */
const DOCUMENT_END = /\]\s*\}\s*$/;
/** Enough to hold the document's end with any whitespace a formatter would put around it. */
const HOLD_BACK = 64;
/** Downloaded bytes are handed to the mapper in runs of about this many, not per network chunk
 * (tens of KB): each run is a round trip to a mapping thread. */
const FEED_BYTES = 1 << 20;

function differentCreation(checkpoint: Checkpoint | undefined, createdOn: Date | undefined): boolean {
  return checkpoint?.created !== undefined && createdOn !== undefined && checkpoint.created !== createdOn.toISOString();
}

/** Reads the blob's new records. `closing`: its hour and grace period are over, so this read
 * is its last (an unfinished record at its end becomes an error event, and it is closed). */
export async function readBlob(container: ContainerClient, blob: SourceBlob, checkpoint: Checkpoint | undefined,
  closing: boolean, ctx: ReadContext): Promise<ReadOutcome> {
  // Whether the blob is the one the checkpoint describes is judged from the read itself, never
  // from the listing: a listing can be older than a checkpoint another collector just saved.
  const outcome = await new BlobRead(container, blob, checkpoint, closing, ctx).run();
  if (outcome !== "replaced") return outcome;
  ctx.log(`${blob.container}/${blob.name} was re-created: reading it again from the start`);
  const again = await new BlobRead(container, blob, undefined, closing, ctx).run();
  return again === "replaced" ? "read" : again;
}

class BlobRead {
  private readonly from: number;
  /** Absolute position of the next byte handed to the mapper. */
  private position: number;
  /** The bytes just before `position` (up to FINGERPRINT_BYTES of them). */
  private before: Buffer;
  /** The fingerprint of the mapper's current offset. */
  private tail: string;
  private range?: BlobRange;

  constructor(private readonly container: ContainerClient, private readonly blob: SourceBlob,
    private readonly previous: Checkpoint | undefined, private readonly closing: boolean,
    private readonly ctx: ReadContext) {
    this.from = previous?.offset ?? 0;
    this.position = this.from;
    this.tail = previous?.tail ?? "";
    this.before = Buffer.from(this.tail, "hex");
  }

  /** "replaced": the blob is not the one the checkpoint describes (a different creation time,
   * shorter than the offset, or other bytes before it). */
  async run(): Promise<ReadOutcome | "replaced"> {
    const expected = this.before;
    try {
      this.range = await readRange(this.container, this.blob.name, this.from - expected.length, undefined, undefined,
        this.ctx.signal);
    } catch (err) {
      if (this.ctx.stopping()) return "stopped";
      if (!(err instanceof BlobChanged)) throw err;
      return err.status === 404 ? "gone" : "replaced";
    }
    const range = this.range;
    if (differentCreation(this.previous, range.createdOn)) {
      range.cancel();
      return "replaced";
    }
    const { mapper, flatten, signal } = this.ctx;
    mapper.startBlob({ fromOffset: this.from, incremental: true, flattenOnly: flatten });
    // Received and not yet fed: the last HOLD_BACK bytes always stay here.
    let held: Buffer[] = [];
    let heldBytes = 0;
    let toVerify = expected.length;
    const stop = () => range.cancel();
    signal.addEventListener("abort", stop);
    try {
      for await (let chunk of range.body) {
        this.ctx.counts.bytes += chunk.length;
        if (toVerify > 0) {
          // The bytes before the offset must be those the checkpoint saw: else the blob was replaced.
          const n = Math.min(toVerify, chunk.length);
          const at = expected.length - toVerify;
          if (!chunk.subarray(0, n).equals(expected.subarray(at, at + n))) {
            range.cancel();
            return "replaced";
          }
          toVerify -= n;
          chunk = chunk.subarray(n);
        }
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes >= FEED_BYTES + HOLD_BACK) {
          const all = Buffer.concat(held, heldBytes);
          await this.feed(all.subarray(0, heldBytes - HOLD_BACK));
          held = [all.subarray(heldBytes - HOLD_BACK)];
          heldBytes = HOLD_BACK;
        }
        if (this.ctx.stopping()) break;
        await this.ctx.checkpoint(this.current(this.previous?.etag, false), false);
      }
      // Stopped (the download cut short ends like a finished one): keep what was written.
      if (this.ctx.stopping()) {
        range.cancel();
        await this.ctx.checkpoint(this.current(this.previous?.etag, false), true);
        return "stopped";
      }
      const rest = Buffer.concat(held, heldBytes);
      const tailAt = Math.max(0, rest.length - HOLD_BACK);
      const end = DOCUMENT_END.exec(rest.toString("latin1", tailAt));
      await this.feed(end ? rest.subarray(0, tailAt + end.index) : rest);
      await this.feed(new Uint8Array(0), true);
    } catch (err) {
      // What was fed is written: keep that much (a network error is retried from there). After
      // an output error nothing is known to be written: the restart cuts the file back.
      if (!(err instanceof OutputError)) {
        await this.ctx.checkpoint(this.current(this.previous?.etag, false), true).catch(() => undefined);
        if (this.ctx.stopping()) return "stopped";
      }
      throw err;
    } finally {
      signal.removeEventListener("abort", stop);
    }
    // "Read to its end" names the version the listing saw, not the one the response says it
    // sent: the bytes read hold at least that version's (the listing came first, and a blob
    // only grows before its tail), so a pass that lists it again skips it rightly; a change made
    // while the read ran gets another read. The response's ETag is not trusted for this: Azurite
    // can send a commit's new ETag with the bytes of the version before it (it computes a small
    // download's MD5 between taking the block list and writing the headers), and a checkpoint
    // with that ETag hid the commit's record from every later pass.
    const done = this.current(this.blob.etag, false);
    await this.ctx.checkpoint(done, true);
    if (this.closing && await this.closeUnfinished(range.etag)) await this.ctx.checkpoint({ ...done, closed: true }, true);
    return "read";
  }

  private current(etag: string | undefined, closed: boolean): Checkpoint {
    return {
      offset: this.ctx.mapper.blobOffset,
      created: this.range?.createdOn?.toISOString(),
      etag,
      tail: this.tail,
      closed,
    };
  }

  /** Hands bytes to the mapper and writes what comes out; keeps the fingerprint of the
   * mapper's offset (which, when it moves, moves into these bytes). */
  private async feed(bytes: Uint8Array, last = false): Promise<void> {
    const { mapper } = this.ctx;
    const offsetBefore = mapper.blobOffset;
    await this.write(bytes, last, () => {
      if (bytes.length === 0) return;
      const offset = mapper.blobOffset;
      if (offset !== offsetBefore) this.tail = this.bytesBefore(bytes, offset).toString("hex");
      this.before = this.bytesBefore(bytes, this.position + bytes.length);
      this.position += bytes.length;
    });
  }

  /** The (up to) FINGERPRINT_BYTES bytes before the absolute position `end`, which lies in
   * `bytes` (starting at this.position) or just after the bytes kept in this.before. */
  private bytesBefore(bytes: Uint8Array, end: number): Buffer {
    const inBytes = end - this.position;
    if (inBytes >= FINGERPRINT_BYTES) return Buffer.from(bytes.subarray(inBytes - FINGERPRINT_BYTES, inBytes));
    const kept = Math.min(this.before.length, FINGERPRINT_BYTES - inBytes);
    return Buffer.concat([this.before.subarray(this.before.length - kept), bytes.subarray(0, inBytes)]);
  }

  /** The hour is over: whatever follows the last complete record (a record Network Watcher
   * never finished) is mapped as the end of a document, which makes it an error event. The
   * checkpoint stays before it, so that a late completion would still be read. */
  private async closeUnfinished(etag: string): Promise<boolean> {
    const offset = this.ctx.mapper.blobOffset;
    if (offset >= this.position) return true;
    let rest: BlobRange;
    try {
      rest = await readRange(this.container, this.blob.name, offset, this.position - offset, etag);
    } catch (err) {
      // Changed since: the next pass reads it again, and closes it then.
      if (err instanceof BlobChanged) return false;
      throw err;
    }
    const { mapper, flatten } = this.ctx;
    mapper.startBlob({ fromOffset: offset, incremental: false, flattenOnly: flatten });
    // The checkpoint stays before the unfinished record until its error event is written, and
    // says "closed" from then on (else a crash in between would write that error event twice).
    const before = this.current(etag, false);
    before.offset = offset;
    for await (const chunk of rest.body) await this.write(chunk, false, undefined, () => before);
    await this.write(new Uint8Array(0), true, undefined, () => ({ ...before, closed: true }));
    return true;
  }

  /** Maps bytes and writes their output; in the same synchronous run, `after` moves this read's
   * position and the checkpoint that counts the output is handed to progress(). */
  private async write(bytes: Uint8Array, last: boolean, after?: () => void, checkpoint?: () => Checkpoint): Promise<void> {
    const { mapper, output, counts } = this.ctx;
    const writes: Promise<void>[] = [];
    await mapper.map(bytes, last, (piece) => {
      const written = output.write(piece);
      written.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      writes.push(written);
    }, (mapped) => {
      counts.records += mapped.records;
      counts.errors += mapped.errors;
      if (counts.matched !== undefined) counts.matched += mapped.matched ?? 0;
      if (counts.geoFaults !== undefined) counts.geoFaults += mapped.geoFaults ?? 0;
      after?.();
      this.ctx.progress(checkpoint ? checkpoint() : this.current(this.previous?.etag, false));
    });
    await Promise.all(writes);
  }
}
