// The Fluent Bit `filter wasm` ABI (Event_Format json): called once per record with the record
// body as NUL-terminated JSON; returns a NUL-terminated JSON object that Fluent Bit copies.
// Never "" or 0, never invalid JSON, never a trap: each of those drops the record, and invalid
// JSON after a valid record in the same chunk crashes Fluent Bit.
//
// Settings and data come from `nsg-flow-ecs.json` in a preopened directory (Accessible_Paths),
// found at the first record and looked at again every reloadSeconds (settings-file.ts).
import { outBuf, outReset, put } from "../base/output";
import { settingsTick, settingsProfile } from "./settings-file";
import { mapRecord } from "../map/mapper";
import { setFullProfile } from "../base/settings";

export function nsg_flow_ecs(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  setFullProfile(settingsProfile == 1);
  return filter(record, recordLen);
}

/** The full-ECS profile: Fluent Bit passes a filter no options, so the profile is chosen by the
 * function the configuration names, unless the settings file names one (it then wins). */
export function nsg_flow_ecs_full(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  setFullProfile(settingsProfile != 0);
  return filter(record, recordLen);
}

@inline function filter(record: usize, recordLen: u32): usize {
  settingsTick();
  outReset();
  // Fluent Bit passes the length without the terminator; a NUL inside would be invalid JSON,
  // which the mapper reports like any other. The record is JSON Fluent Bit serialised itself:
  // trusted (DEVELOPERS.md, "The ABIs"), unlike the batch ABI's bytes.
  mapRecord(record, <i32>recordLen, true);
  put(0);
  return outBuf;
}

// ---- The allocator WAMR copies each call's tag and record with --------------------------------
//
// WAMR looks for it by export name (wasm_loader.c, "Resolve malloc/free function exported by wasm
// module"): `malloc(size) -> ptr` and `free(ptr)`, else AssemblyScript's `__new` + `__pin` and
// `__unpin` (the module is then built with --exportRuntime). Per record Fluent Bit allocates the
// tag and the record, calls the filter, and frees both (flb_wasm.c): with these two exports that
// is four short calls into the module instead of six, and no garbage-collected objects (the
// runtime's allocation, linking and incremental collection cost about as much as the record's
// escaping). Blocks are reused: a few slots, each kept at the largest size it was asked for, up to
// SLOT_MAX; anything else comes from the heap and goes back to it.

const SLOTS = 4;
const SLOT_MAX: usize = 1 << 20;
// Per slot, at a fixed address: the block, its capacity, and whether it is handed out.
const SLOT_TABLE: usize = memory.data(SLOTS * 12, 4);
const S_PTR = 0;
const S_CAP = 4;
const S_USED = 8;

export function malloc(size: usize): usize {
  if (size <= SLOT_MAX) {
    for (let slot = SLOT_TABLE; slot < SLOT_TABLE + SLOTS * 12; slot += 12) {
      if (load<u32>(slot, S_USED) != 0) continue;
      let ptr = load<usize>(slot, S_PTR);
      if (ptr == 0 || load<usize>(slot, S_CAP) < size) {
        // The old content is not kept: a block is only handed out empty.
        if (ptr != 0) heap.free(ptr);
        const cap = size < 4096 ? <usize>4096 : size;
        ptr = heap.alloc(cap);
        store<usize>(slot, ptr, S_PTR);
        store<usize>(slot, cap, S_CAP);
      }
      store<u32>(slot, 1, S_USED);
      return ptr;
    }
  }
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  for (let slot = SLOT_TABLE; slot < SLOT_TABLE + SLOTS * 12; slot += 12) {
    if (load<usize>(slot, S_PTR) == ptr && load<u32>(slot, S_USED) != 0) {
      store<u32>(slot, 0, S_USED);
      return;
    }
  }
  if (ptr != 0) heap.free(ptr);
}
