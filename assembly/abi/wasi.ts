// The WASI command: NDJSON or a PT1H.json blob on stdin (told from the first bytes), ECS NDJSON
// on stdout, a summary on stderr, exit status as the CLI's (0 all mapped, 1 some error events).
// Only wasi_snapshot_preview1 fd_read, fd_write and proc_exit are used, so it runs under
// wasmtime, node:wasi and Fluent Bit's exec_wasi.
import { lit, Lit } from "../bytes";
import { outBuf, outPos, outReset, putLit, putU64, reserve, linesOut, errorLinesOut } from "../output";
import { feedLines, MODE_MAP } from "../ndjson";
import { blobStart, blobFeed, blobResume, blobPending, looksLikeBlob } from "../blob";

@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovsLen: u32, nread: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: u32, nwritten: usize): u16;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const CHUNK = 1 << 20;

const chunk: usize = heap.alloc(CHUNK);
const iov: usize = heap.alloc(16);
const count: usize = heap.alloc(8);

/** Reads up to `room` bytes into chunk + at; 0 at end of input, -1 on a read error. */
function readStdin(at: i32, room: i32): i32 {
  store<u32>(iov, <u32>(chunk + <usize>at));
  store<u32>(iov + 4, <u32>room);
  if (fd_read(STDIN, iov, 1, count) != 0) return -1;
  return <i32>load<u32>(count);
}

function writeAll(fd: u32, ptr: usize, len: i32): bool {
  while (len > 0) {
    store<u32>(iov, <u32>ptr);
    store<u32>(iov + 4, <u32>len);
    if (fd_write(fd, iov, 1, count) != 0) return false;
    const n = <i32>load<u32>(count);
    ptr += <usize>n;
    len -= n;
  }
  return true;
}

function flushOutput(): bool {
  const ok = writeAll(STDOUT, outBuf, outPos);
  outReset();
  return ok;
}

const SUMMARY_1 = lit("nsg-flow-ecs: ");
const SUMMARY_2 = lit(" records, ");
const SUMMARY_3 = lit(" errors\n");
const READ_ERROR = lit("nsg-flow-ecs: cannot read stdin\n");
const WRITE_ERROR = lit("nsg-flow-ecs: cannot write stdout\n");

function say(l: Lit): void {
  writeAll(STDERR, l.ptr, l.len);
}

export function _start(): void {
  outReset();
  let failed = false;
  // Which format: read until the first bytes tell (a pipe may deliver a few bytes at a time).
  let have = 0;
  let verdict = -1;
  let eof = false;
  while (verdict < 0 && have < CHUNK) {
    const n = readStdin(have, CHUNK - have);
    if (n < 0) { say(READ_ERROR); failed = true; eof = true; break; }
    if (n == 0) { eof = true; break; }
    have += n;
    verdict = looksLikeBlob(chunk, have);
  }
  const isBlob = verdict == 1;
  if (isBlob) blobStart(0, false, MODE_MAP);
  let n = have;
  while (true) {
    const last = eof || n == 0;
    if (isBlob) {
      blobFeed(chunk, n, last);
      if (!flushOutput()) { say(WRITE_ERROR); proc_exit(1); }
      while (blobPending()) {
        blobResume();
        if (!flushOutput()) { say(WRITE_ERROR); proc_exit(1); }
      }
    } else {
      feedLines(chunk, n, last, MODE_MAP);
      if (!flushOutput()) { say(WRITE_ERROR); proc_exit(1); }
    }
    if (last) break;
    n = readStdin(0, CHUNK);
    if (n < 0) { say(READ_ERROR); failed = true; eof = true; n = 0; }
  }
  reserve(64);
  putLit(SUMMARY_1); putU64(<u64>linesOut); putLit(SUMMARY_2); putU64(<u64>errorLinesOut); putLit(SUMMARY_3);
  writeAll(STDERR, outBuf, outPos);
  outReset();
  if (failed || errorLinesOut > 0) proc_exit(1);
}
