// Where `collect` writes its events: a file it owns (`--out FILE`, written at a tracked length
// and fsynced before any checkpoint counts on it, so a restart can cut it back to that length),
// or stdout (at-least-once: what reached the pipe is gone from our hands).
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync, constants } from "node:fs";
import { dirname } from "node:path";
import { FdWriter, writeFdOffThread } from "../transform/fd.js";

/** The output cannot be written (disk full, reader gone): the collector stops. */
export class OutputError extends Error {}

export interface Output {
  /** The file's length, which the checkpoints record; undefined for stdout. */
  readonly length: number | undefined;
  /** Set once a write failed: from then on nothing may be checkpointed. */
  readonly failure: OutputError | undefined;
  /** Writes the bytes (a view that the next call may overwrite: used before returning, or copied). */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes everything written so far durable. */
  sync(): Promise<void>;
  close(): void;
}

export class FileOutput implements Output {
  private dirty = false;
  failure: OutputError | undefined;

  private constructor(readonly path: string, private readonly fd: number, public length: number) {}

  static open(path: string): FileOutput {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      const out = new FileOutput(path, fd, fstatSync(fd).size);
      // The file's existence must be as durable as the checkpoints that will count on it.
      const dirFd = openSync(dirname(path), "r");
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
      return out;
    } catch (err) {
      throw new OutputError(`cannot open ${path}: ${(err as Error).message}`);
    }
  }

  /** Where the last complete line ends: a line cut by a crash is no event, and the next one
   * must not be glued to it. */
  lastLineEnd(): number {
    const block = Buffer.alloc(1 << 16);
    for (let end = this.length; end > 0; ) {
      const start = Math.max(0, end - block.length);
      const n = readSync(this.fd, block, 0, end - start, start);
      const nl = block.subarray(0, n).lastIndexOf(0x0a);
      if (nl >= 0) return start + nl + 1;
      end = start;
    }
    return 0;
  }

  /** Cuts the file (what was written after the last checkpoint, or a partial line). */
  truncate(length: number): void {
    ftruncateSync(this.fd, length);
    fsyncSync(this.fd);
    this.length = length;
  }

  async write(bytes: Uint8Array): Promise<void> {
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.length + done);
      this.length += bytes.length;
      this.dirty = true;
    } catch (err) {
      this.failure = new OutputError(`cannot write ${this.path}: ${(err as Error).message}`);
      throw this.failure;
    }
  }

  async sync(): Promise<void> {
    if (!this.dirty) return;
    try {
      fsyncSync(this.fd);
    } catch (err) {
      throw new OutputError(`cannot write ${this.path}: ${(err as Error).message}`);
    }
    this.dirty = false;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** stdout, written off the event loop: each slice is copied into a buffer of this output's (the
 * caller's bytes are a view it reuses) and written whole by libuv's thread pool, one write at a
 * time, in order, so that downloads, lease renewals and signals go on while the reader (a
 * shipper applying back-pressure) holds a write back; the promise of a write settles once the
 * reader took it. process.stdout is not touched while the descriptor blocks (on a pipe it would
 * make it non-blocking); one that is non-blocking already (EAGAIN) is written through it. */
export class StdoutOutput implements Output {
  readonly length = undefined;
  failure: OutputError | undefined;
  private last: Promise<void> = Promise.resolve();
  private readonly free: Uint8Array[] = [];
  private stream?: FdWriter;

  async write(bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const copy = this.buffer(bytes.length);
    copy.set(bytes);
    const written = this.last.then(async () => {
      if (this.failure) throw this.failure;
      let done = 0;
      if (!this.stream) {
        try {
          done = await writeFdOffThread(1, copy);
        } catch (err) {
          throw this.fail(err as NodeJS.ErrnoException);
        }
        if (done === copy.length) {
          if (this.free.length < 4) this.free.push(copy);
          return;
        }
        this.stream = new FdWriter(1, () => {
          // For the map command a closed stdout (`| head`) is a normal way to stop; for a
          // collector it means the events stop reaching anyone: a failure to report.
          process.stdout.removeAllListeners("error");
          return process.stdout;
        });
      }
      await this.streamWrite(copy.subarray(done));
    });
    this.last = written.catch(() => undefined);
    return written;
  }

  private async streamWrite(bytes: Uint8Array): Promise<void> {
    try {
      await this.stream!.write(bytes);
    } catch (err) {
      throw this.fail(err as NodeJS.ErrnoException);
    }
  }

  private fail(err: NodeJS.ErrnoException): OutputError {
    this.failure ??= err.code === "EPIPE"
      ? new OutputError("stdout was closed by its reader")
      : new OutputError(`cannot write stdout: ${err.message}`);
    return this.failure;
  }

  /** A buffer of `size` bytes, reused once its last write is done. */
  private buffer(size: number): Uint8Array {
    const i = this.free.findIndex((b) => b.buffer.byteLength >= size);
    const buffer = i < 0 ? new ArrayBuffer(Math.max(size, 1 << 20)) : this.free.splice(i, 1)[0]!.buffer;
    return new Uint8Array(buffer, 0, size);
  }

  async sync(): Promise<void> {
    await this.last;
    if (this.failure) throw this.failure;
  }

  close(): void {}
}
