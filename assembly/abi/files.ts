// Files through WASI (wasi_snapshot_preview1), for the settings and data files of the Fluent Bit
// filter and the WASI command: the runtime's preopened directories (Fluent Bit's
// `Accessible_Paths`, wasmtime's `--dir`), a file's identity (mtime and size, what a reload
// compares), a file read whole into a heap block or in pieces, the clock, and stderr (Fluent
// Bit's log). A module that never calls these imports them all the same, so every host that
// instantiates it supplies them (the Node host: host/transform/wasi-imports.ts, which says no).

@external("wasi_snapshot_preview1", "fd_read")
export declare function fd_read(fd: u32, iovs: usize, iovsLen: u32, nread: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
export declare function fd_write(fd: u32, iovs: usize, iovsLen: u32, nwritten: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u16;
@external("wasi_snapshot_preview1", "fd_prestat_get")
declare function fd_prestat_get(fd: u32, buf: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_dir_name")
declare function fd_prestat_dir_name(fd: u32, path: usize, pathLen: u32): u16;
@external("wasi_snapshot_preview1", "fd_filestat_get")
declare function fd_filestat_get(fd: u32, buf: usize): u16;
@external("wasi_snapshot_preview1", "path_filestat_get")
declare function path_filestat_get(fd: u32, flags: u32, path: usize, pathLen: u32, buf: usize): u16;
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(fd: u32, dirflags: u32, path: usize, pathLen: u32, oflags: u16, rightsBase: u64, rightsInheriting: u64, fdflags: u16, opened: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(id: u32, precision: u64, time: usize): u16;

const STDERR: u32 = 2;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_FILESTAT_GET: u64 = 1 << 21;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const FILETYPE_DIRECTORY: u8 = 3;
const ERRNO_NOENT: u16 = 44;
const ERRNO_ISDIR: u16 = 31;

// Scratch for the calls' out-parameters: filestat (64 bytes), iovec, counts.
const stat: usize = memory.data(64, 8);
const iov: usize = memory.data(8, 4);
const word: usize = memory.data(8, 8);

/** What went wrong, as `ENOENT` or `errno 70`. */
export function errnoName(e: u16): string {
  switch (e) {
    case 2: return "EACCES";
    case 8: return "EBADF";
    case 20: return "EEXIST";
    case 28: return "EINVAL";
    case 29: return "EIO";
    case 31: return "EISDIR";
    case 32: return "ELOOP";
    case 37: return "ENAMETOOLONG";
    case 44: return "ENOENT";
    case 48: return "ENOMEM";
    case 52: return "ENOSYS";
    case 54: return "ENOTDIR";
    case 58: return "ENOTSUP";
    case 63: return "EPERM";
    case 76: return "ENOTCAPABLE";
  }
  return "errno " + e.toString();
}

// ---- Preopened directories ---------------------------------------------------------------------

/** A directory the runtime opened for the module, by its descriptor and the name it was given. */
export class Preopen {
  constructor(public fd: u32, public name: string) {}
}

let preopenList: Array<Preopen> | null = null;

/** The preopened directories, in descriptor order (from 3; WASI numbers them without gaps and
 * answers EBADF after the last). Asked once: a runtime opens them before the module runs. */
export function preopens(): Array<Preopen> {
  if (preopenList !== null) return changetype<Array<Preopen>>(preopenList);
  const list = new Array<Preopen>();
  for (let fd: u32 = 3; fd < 1024; fd++) {
    if (fd_prestat_get(fd, stat) != 0) break;
    if (load<u8>(stat) != 0) continue; // not a directory
    const n = load<u32>(stat, 4);
    const buf = heap.alloc(<usize>n + 1);
    if (fd_prestat_dir_name(fd, buf, n) == 0) {
      // Some runtimes count a trailing NUL in the length.
      let len = n;
      while (len > 0 && load<u8>(buf + <usize>len - 1) == 0) len--;
      list.push(new Preopen(fd, String.UTF8.decodeUnsafe(buf, <usize>len)));
    }
    heap.free(buf);
  }
  preopenList = list;
  return list;
}

/** A path as a preopened directory and the path inside it. */
export class Located {
  constructor(public dir: u32, public path: string) {}
}

/** Where `path` is: under the preopen whose name is its longest leading directory, else (a
 * relative path) under the preopen named `.`; null when no preopen holds it. */
export function locate(path: string): Located | null {
  const list = preopens();
  let best: Preopen | null = null;
  let rest = "";
  for (let i = 0; i < list.length; i++) {
    let name = list[i].name;
    while (name.length > 1 && name.endsWith("/")) name = name.substring(0, name.length - 1);
    if (name == "." || name == "./" || name == "") {
      if (best === null && !path.startsWith("/")) {
        best = list[i];
        rest = path.startsWith("./") ? path.substring(2) : path;
      }
      continue;
    }
    const prefix = name == "/" ? "/" : name + "/";
    if (path.startsWith(prefix) && path.length > prefix.length) {
      if (best === null || best.name == "." || best.name == "./" || best.name == "" || name.length > best.name.length) {
        best = list[i];
        rest = path.substring(prefix.length);
      }
    }
  }
  if (best === null) return null;
  return new Located(best.fd, rest);
}

// ---- Identity and contents -------------------------------------------------------------------

/** A file's identity as a reload compares it: modification time (ns) and size. */
export class FileStamp {
  mtime: u64 = 0;
  size: u64 = 0;
  /** 0, or the errno of the failed look (ENOENT: no such file). */
  errno: u16 = 0;

  same(o: FileStamp): bool {
    return this.errno == o.errno && this.mtime == o.mtime && this.size == o.size;
  }
}

/** The identity of `path` under the directory `dir`, without opening it. */
export function stampOf(dir: u32, path: string): FileStamp {
  const s = new FileStamp();
  const p = String.UTF8.encode(path);
  const e = path_filestat_get(dir, LOOKUP_SYMLINK_FOLLOW, changetype<usize>(p), <u32>p.byteLength, stat);
  if (e != 0) {
    s.errno = e;
    return s;
  }
  if (load<u8>(stat, 16) == FILETYPE_DIRECTORY) {
    s.errno = ERRNO_ISDIR;
    return s;
  }
  s.size = load<u64>(stat, 32);
  s.mtime = load<u64>(stat, 48);
  return s;
}

/** Whether `path` under `dir` exists (and is not a directory). */
export function fileExists(dir: u32, path: string): bool {
  return stampOf(dir, path).errno == 0;
}

/** A file being read: its descriptor and its identity when it was opened. */
export class OpenFile {
  fd: u32 = 0;
  stamp: FileStamp = new FileStamp();
}

/** Why the last open or read failed: `cannot open tor.txt: ENOENT`. */
export let fileError: string = "";

export function openFile(dir: u32, path: string, shown: string): OpenFile | null {
  const p = String.UTF8.encode(path);
  const e = path_open(dir, LOOKUP_SYMLINK_FOLLOW, changetype<usize>(p), <u32>p.byteLength, 0,
    RIGHT_FD_READ | RIGHT_FD_FILESTAT_GET, 0, 0, word);
  if (e != 0) {
    fileError = "cannot open " + shown + ": " + errnoName(e);
    return null;
  }
  const f = new OpenFile();
  f.fd = load<u32>(word);
  const s = fd_filestat_get(f.fd, stat);
  if (s != 0) {
    fd_close(f.fd);
    fileError = "cannot read " + shown + ": " + errnoName(s);
    return null;
  }
  if (load<u8>(stat, 16) == FILETYPE_DIRECTORY) {
    fd_close(f.fd);
    fileError = "cannot read " + shown + ": EISDIR";
    return null;
  }
  f.stamp.size = load<u64>(stat, 32);
  f.stamp.mtime = load<u64>(stat, 48);
  return f;
}

/** Reads up to `room` bytes into `at`: the count, 0 at the end, -1 on an error (fileError). */
export function readSome(f: OpenFile, at: usize, room: i32, shown: string): i32 {
  store<u32>(iov, <u32>at);
  store<u32>(iov, <u32>room, 4);
  const e = fd_read(f.fd, iov, 1, word);
  if (e != 0) {
    fileError = "cannot read " + shown + ": " + errnoName(e);
    return -1;
  }
  return <i32>load<u32>(word);
}

export function closeFile(f: OpenFile): void {
  fd_close(f.fd);
}

/** A whole file in a heap block (the caller owns it), with the identity it had when opened. */
export class WholeFile {
  ptr: usize = 0;
  len: u32 = 0;
  stamp: FileStamp = new FileStamp();
}

/** Files larger than this are refused: 1 GiB, far above any feed or MMDB, below wasm32's 4. */
const MAX_FILE: u64 = 1 << 30;

/** Reads `path` under `dir` whole; null with fileError. `shown` is the name errors give. */
export function readWhole(dir: u32, path: string, shown: string): WholeFile | null {
  const f = openFile(dir, path, shown);
  if (f === null) return null;
  if (f.stamp.size > MAX_FILE) {
    closeFile(f);
    fileError = "cannot read " + shown + ": larger than 1 GiB";
    return null;
  }
  // The size is a hint (the file may grow while it is read): read until the end, growing.
  let cap = <usize>f.stamp.size + 1;
  let ptr = heap.alloc(cap);
  let len: usize = 0;
  while (true) {
    if (len == cap) {
      if (<u64>cap * 2 > MAX_FILE) {
        heap.free(ptr);
        closeFile(f);
        fileError = "cannot read " + shown + ": larger than 1 GiB";
        return null;
      }
      cap *= 2;
      ptr = heap.realloc(ptr, cap);
    }
    const n = readSome(f, ptr + len, <i32>(cap - len), shown);
    if (n < 0) {
      heap.free(ptr);
      closeFile(f);
      return null;
    }
    if (n == 0) break;
    len += <usize>n;
  }
  closeFile(f);
  const w = new WholeFile();
  w.ptr = ptr;
  w.len = <u32>len;
  w.stamp = f.stamp;
  return w;
}

// ---- Clock and log -------------------------------------------------------------------------------

/** Monotonic nanoseconds (0 when the runtime gives no clock). */
@inline export function monotonicNs(): u64 {
  if (clock_time_get(CLOCK_MONOTONIC, 1000000, word) != 0) return 0;
  return load<u64>(word);
}

/** Epoch milliseconds (0 when the runtime gives no clock). */
export function epochMs(): i64 {
  if (clock_time_get(CLOCK_REALTIME, 1000000, word) != 0) return 0;
  return <i64>(load<u64>(word) / 1000000);
}

/** Writes bytes to a descriptor, all of them (false on an error). */
export function writeAll(fd: u32, ptr: usize, len: i32): bool {
  while (len > 0) {
    store<u32>(iov, <u32>ptr);
    store<u32>(iov, <u32>len, 4);
    if (fd_write(fd, iov, 1, word) != 0) return false;
    const n = <i32>load<u32>(word);
    if (n <= 0) return false;
    ptr += <usize>n;
    len -= n;
  }
  return true;
}

/** One line on stderr (Fluent Bit's log, the command's diagnostics). */
export function logLine(text: string): void {
  const b = String.UTF8.encode(text + "\n");
  writeAll(STDERR, changetype<usize>(b), b.byteLength);
}

export const NOENT = ERRNO_NOENT;
