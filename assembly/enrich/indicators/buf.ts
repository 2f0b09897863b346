// Growable unmanaged byte arrays for the indicator sets. A million indicators as managed
// objects would cost the collector a walk over each of them at every cycle; these are plain
// blocks of linear memory, given back with free() when a set is replaced. A block grows by half
// again, not doubled: a realloc holds old and new at once, and the budget is 64 MiB for a
// million indicators (growing by a quarter was measured worse: more holes left behind).
export class Buf {
  ptr: usize = 0;
  len: i32 = 0; // bytes in use
  cap: i32 = 0;

  /** Room for `extra` more bytes; may move ptr. */
  reserve(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.cap) return;
    let cap = this.cap < 1024 ? 1024 : this.cap + (this.cap >> 1);
    if (cap < need) cap = need;
    this.ptr = this.ptr == 0 ? heap.alloc(<usize>cap) : heap.realloc(this.ptr, <usize>cap);
    this.cap = cap;
  }

  @inline pushU8(v: u8): void { this.reserve(1); store<u8>(this.ptr + <usize>this.len, v); this.len += 1; }
  @inline pushU32(v: u32): void { this.reserve(4); store<u32>(this.ptr + <usize>this.len, v); this.len += 4; }
  @inline pushU64(v: u64): void { this.reserve(8); store<u64>(this.ptr + <usize>this.len, v); this.len += 8; }

  pushBytes(p: usize, n: i32): void {
    this.reserve(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  pushString(s: string): void {
    const n = <i32>String.UTF8.byteLength(s);
    this.reserve(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.ptr + <usize>this.len);
    this.len += n;
  }

  clear(): void { this.len = 0; }

  /** Shrinks the block to what it holds. */
  trim(): void {
    if (this.ptr == 0 || this.cap == this.len) return;
    if (this.len == 0) { this.free(); return; }
    this.ptr = heap.realloc(this.ptr, <usize>this.len);
    this.cap = this.len;
  }

  free(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.len = 0;
    this.cap = 0;
  }
}
