// WAMR's app heap, kept out of AssemblyScript's allocator.
//
// The filter exports no allocator, so WAMR copies each record (and its tag) into an app heap it
// manages natively: one call into the module a record instead of five (DEVELOPERS.md, "Speed in
// WAMR's interpreter"). WAMR places that heap right after the pages the module declares and
// enlarges the initial memory by its size (memory_instantiate, "Insert app heap before new
// page", WAMR 2.4.1), before the start function runs; TLSF, at its first allocation, takes
// everything from __heap_base to memory.size() as its own. So the first allocation of the
// instance is this file's: it takes the pages above the declared ones as one block that is never
// freed, and TLSF grows memory above them. Where there is no app heap (Node, a WASI runtime,
// WAMR with a module that exports malloc) memory.size() is the declared size and nothing is
// taken.
//
// It must run before any other allocation: the entry files import it first, and
// tests/fluent-bit-app-heap.test.ts checks it on the built modules with WAMR's layout.

/** TLSF's root structure, placed at __heap_base (rt/tlsf.ts, ROOT_SIZE: 1,572 bytes in
 * AssemblyScript 0.28), with room to spare. */
const TLSF_ROOT_MAX: usize = 2048;
/** TLSF's smallest payload and its block header (rt/tlsf.ts BLOCK_MINSIZE, BLOCK_OVERHEAD). */
const BLOCK_MIN: usize = 28;
const BLOCK_HEADER: usize = 4;

/** The pages the module declares: asc makes them the static data rounded up to whole pages. */
// @ts-ignore: decorator
@inline function declaredEnd(): usize {
  return (__heap_base + 0xffff) & ~0xffff;
}

function reserveAppHeap(): void {
  const end = declaredEnd();
  const size = <usize>memory.size() << 16;
  if (size <= end) return;
  // TLSF writes its root at __heap_base at the first allocation: it must end below the app
  // heap. Otherwise this build cannot run beside one: fail the instantiation, loudly.
  if (((__heap_base + 15) & ~15) + TLSF_ROOT_MAX > end) unreachable();
  // The first allocation: TLSF has one free block, from after its root to its tail block at the
  // top of memory; the block lands at its start.
  const first = heap.alloc(BLOCK_MIN);
  // TLSF's tail (a zero-length block header) sits in the last 4 bytes of memory.
  const tail = size - BLOCK_HEADER;
  let own = first;
  if (end - BLOCK_HEADER - first >= BLOCK_MIN) {
    // Grow the first block in place to end where the app heap starts; the rest of the free block
    // then begins with a header just below the app heap, and the next allocation lands there.
    if (heap.realloc(first, end - BLOCK_HEADER - first) != first) unreachable();
    own = heap.alloc(BLOCK_MIN);
    if (own != end) unreachable();
  }
  // Grow the reserving block in place to the tail: it covers the app heap, and TLSF has no free
  // memory left; the next allocation grows memory above it.
  if (heap.realloc(own, tail - own) != own) unreachable();
  if ((load<usize>(own - BLOCK_HEADER) & ~3) != tail - own) unreachable();
  // The declared pages' slack below the app heap goes back to TLSF.
  if (own != first) heap.free(first);
}

reserveAppHeap();
