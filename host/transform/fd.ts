// Standard input and output as file descriptors, read and written in large slices. Node's
// process.stdin reads 64 KiB at a time (from a file as well), and touching process.stdin or
// process.stdout on a pipe switches the descriptor to non-blocking mode for the event loop, after
// which a write goes no further than what the pipe's buffer (64 KiB) holds at that moment. So
// neither is used here: a regular file is read where its offset stands, with large reads on the
// calling thread (the page cache answers at once); a pipe, socket or terminal by libuv's thread
// pool (a blocking read there leaves the event loop free, and a read returns as soon as any
// bytes are there, so a trickle still goes on at once); a write is one call, the kernel waiting
// for the reader. A descriptor some other process made non-blocking (EAGAIN) is handed to
// Node's streams instead.
import { fstatSync, read, readSync, write, writeSync } from "node:fs";
import { Socket } from "node:net";
import type { Writable } from "node:stream";
import { ReadStream, isatty } from "node:tty";

/** An input read in large slices. */
export interface FdInput {
  /** "file": a regular file (reads never wait); "stream": a pipe, socket or terminal. */
  readonly kind: "file" | "stream";
  /** A regular file's size: an upper bound on what is left (its offset may be past 0). */
  readonly size?: number;
  /** Reads into `space`; resolves to the number of bytes, 0 at the end. Calls must not overlap. */
  read(space: Uint8Array): Promise<number>;
}

/** The input on `fd` (0: standard input), from where its offset stands. */
export function fdInput(fd: number): FdInput {
  const stat = fstatSync(fd);
  if (stat.isFile()) {
    return { kind: "file", size: stat.size, read: async (space) => readSync(fd, space, 0, space.length, null) };
  }
  let stream: AsyncIterator<Uint8Array> | undefined;
  let pending: Uint8Array = new Uint8Array(0);
  return {
    kind: "stream",
    read: async (space) => {
      if (!stream) {
        try {
          return await readAsync(fd, space);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
          // Nothing was read yet from this descriptor by a stream: no byte is skipped or reordered.
          const s = isatty(fd) ? new ReadStream(fd) : new Socket({ fd, readable: true, writable: false });
          stream = s[Symbol.asyncIterator]();
        }
      }
      while (pending.length === 0) {
        const next = await stream.next();
        if (next.done) return 0;
        pending = next.value;
      }
      const n = Math.min(space.length, pending.length);
      space.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}

function readAsync(fd: number, space: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => read(fd, space, 0, space.length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

/** The input's chunks, one read each of up to `size` bytes: each in a buffer of its own when
 * `keep` (the caller may hold several), else all in one buffer, valid until the next is asked for. */
export async function* fdChunks(input: FdInput, keep: boolean, size = 1 << 20): AsyncGenerator<Uint8Array> {
  let buf = Buffer.allocUnsafeSlow(size);
  for (;;) {
    const n = await input.read(buf);
    if (n === 0) return;
    yield buf.subarray(0, n);
    if (keep) buf = Buffer.allocUnsafeSlow(size);
  }
}

/** Writes to a descriptor (1: standard output) in one call per slice while it blocks (files,
 * terminals, pipes as shells and Node's child_process make them): the kernel waits for a slow
 * reader, and a pipe takes the slice 64 KiB at a time without a round trip through the event
 * loop for each. A descriptor that is non-blocking (EAGAIN: made so by another process, or by
 * `fallback()` itself, which is Node's stream over it) is written through that stream, copied,
 * with back-pressure. A failure (EPIPE: the reader is gone) rejects the write. */
export class FdWriter {
  private stream?: Writable;
  private failure?: Error;

  constructor(private readonly fd: number, private readonly fallback: () => Writable) {}

  /** `bytes` is used before the promise resolves (it may be a view of a buffer reused next).
   * `offThread`: written by libuv's thread pool, the calling thread going on meanwhile (a
   * caller that maps the next slice while this one goes out), else on the calling thread. */
  async write(bytes: Uint8Array, offThread = false): Promise<void> {
    if (this.failure) throw this.failure;
    let done = 0;
    if (!this.stream || this.stream.writableLength === 0) {
      try {
        if (offThread && !this.stream) {
          done = await writeFdOffThread(this.fd, bytes);
          if (done === bytes.length) return;
        } else {
          while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
          return;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      }
      if (!this.stream) {
        const stream = this.fallback();
        stream.on("error", (err) => (this.failure ??= err));
        this.stream = stream;
      }
    }
    const stream = this.stream!;
    if (stream.write(Buffer.from(bytes.subarray(done)))) return;
    await new Promise<void>((resolve, reject) => {
      const settle = () => {
        stream.off("drain", settle);
        stream.off("error", settle);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      stream.on("drain", settle);
      stream.on("error", settle);
    });
  }
}

/** Writes `bytes` to `fd` on libuv's thread pool, one call per slice while the descriptor blocks:
 * the event loop goes on while a slow reader holds the write back. Resolves to the number of
 * bytes written: all of them, or fewer when the descriptor is non-blocking and full (EAGAIN).
 * Rejects with the system's error (EPIPE: the reader is gone). */
export async function writeFdOffThread(fd: number, bytes: Uint8Array): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += await new Promise<number>((resolve, reject) =>
        write(fd, bytes, done, bytes.length - done, null, (err, n) => (err ? reject(err) : resolve(n))));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") return done;
      throw err;
    }
  }
  return done;
}

/** Options for a Worker whose stdio must not touch process.stdout: Node pipes a worker's stdio
 * with stream.pipe(), which looks at process.stdout, and creating it turns a pipe on fd 1
 * non-blocking. Pass the worker to forwardWorkerStdio() once created. */
export const WORKER_STDIO = { stdout: true, stderr: true } as const;

/** Whatever the worker prints goes to stderr, never into the events on stdout. */
export function forwardWorkerStdio(worker: { stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream }): void {
  for (const out of [worker.stdout, worker.stderr]) out.on("data", (d: Buffer) => process.stderr.write(d));
}
