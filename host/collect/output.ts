// Where `collect` writes its events: a file it owns (`--out FILE`, written at a tracked length
// and fsynced before any checkpoint counts on it, so a restart can cut it back to that length),
// or stdout (at-least-once: what reached the pipe is gone from our hands).
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync, constants } from "node:fs";
import { dirname } from "node:path";

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

export class StdoutOutput implements Output {
  readonly length = undefined;
  failure: OutputError | undefined;

  constructor() {
    // For the map command a closed stdout (`| head`) is a normal way to stop, and cli.ts exits
    // 0 on it; for a collector it means the events stop reaching anyone: a failure to report.
    process.stdout.removeAllListeners("error");
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      this.failure = err.code === "EPIPE"
        ? new OutputError("stdout was closed by its reader")
        : new OutputError(`cannot write stdout: ${err.message}`);
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const out = process.stdout;
    let done = 0;
    try {
      // Straight to the descriptor while that blocks (files, terminals, pipes on Linux)...
      if (out.writableLength === 0) {
        while (done < bytes.length) done += writeSync(1, bytes, done, bytes.length - done);
        return;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE") throw new OutputError("stdout was closed by its reader");
      if (code !== "EAGAIN") throw new OutputError(`cannot write stdout: ${(err as Error).message}`);
    }
    // ...else through the stream, as a copy (the bytes are a view), until it drains or fails.
    if (out.write(Buffer.from(bytes.subarray(done)))) return;
    await new Promise<void>((resolve, reject) => {
      const settle = () => {
        out.off("drain", settle);
        out.off("error", settle);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      out.on("drain", settle);
      out.on("error", settle);
    });
  }

  async sync(): Promise<void> {
    if (this.failure) throw this.failure;
  }

  close(): void {}
}
