// WAMR's app heap, kept out of AssemblyScript's allocator.
//
// The filter exports no allocator, so WAMR copies each record (and its tag) into an app heap it
// manages natively: one call into the module a record instead of five (DEVELOPERS.md, "The
// ABIs"). WAMR places that heap right after the pages the module declares and enlarges the
// initial memory by its size (memory_instantiate, "Insert app heap before new page", WAMR
// 2.4.1), before the start function runs; TLSF, at its first allocation, takes everything from
// __heap_base to memory.size() as its own. So the instance's first allocation is this file's: one
// block, never freed, from the start of TLSF's memory to its top, over the app heap; TLSF then
// grows memory above it. Where there is no app heap (Node, a WASI runtime) memory.size() is the
// declared size and nothing is taken.
//
// It must run before any other allocation: the filter's entry (and the benchmark's probe) import
// it first; tests/fluent-bit-app-heap.test.ts checks the built module with WAMR's layout.

/** TLSF's root structure, placed at __heap_base (rt/tlsf.ts, ROOT_SIZE: 1,572 bytes in
 * AssemblyScript 0.28), and the first block's header and the free block split off it, with room
 * to spare. */
const TLSF_START_MAX: usize = 2048;
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
  // TLSF writes its root at __heap_base at the first allocation, then a block header and a free
  // block's links after it: all of it must stay below the app heap, whose first bytes are WAMR's
  // allocator's own header. Otherwise this build cannot run beside one: fail the instantiation.
  if (((__heap_base + 15) & ~15) + TLSF_START_MAX > end) unreachable();
  // The first allocation: TLSF has one free block, from after its root to its tail block (a
  // header in the last 4 bytes of memory, above the app heap, which WAMR ends 1 KiB below the
  // top); the block lands at its start.
  const own = heap.alloc(BLOCK_MIN);
  const tail = size - BLOCK_HEADER;
  // Grow it in place to the tail: it then covers the app heap and TLSF has no free memory left,
  // so the next allocation grows memory above it. Nothing is written inside the app heap: TLSF
  // writes a free block's links at its start and its back link at its end (below the tail), so
  // the free block is never split there. The declared pages' slack (under 64 KiB) goes with it.
  if (heap.realloc(own, tail - own) != own) unreachable();
  if ((load<usize>(own - BLOCK_HEADER) & ~3) != tail - own) unreachable();
}

reserveAppHeap();
