// The Fluent Bit `filter wasm` ABI (Event_Format json): called once per record with the record
// body as NUL-terminated JSON; returns a NUL-terminated JSON object that Fluent Bit copies.
// Never "" or 0, never invalid JSON, never a trap: each of those drops the record, and invalid
// JSON after a valid record in the same chunk crashes Fluent Bit.
//
// The module exports no allocator: WAMR copies the tag and the record into its own app heap
// (Wasm_Heap_Size), kept out of ours by app-heap.ts. That is one call into the module a record;
// with `malloc`/`free` exports WAMR called them four times more (DEVELOPERS.md, "The ABIs").
//
// Settings and data come from `nsg-flow-ecs.json` in a preopened directory (Accessible_Paths),
// found at the first record and looked at again every reloadSeconds (settings-file.ts).
import { outBuf, outReset, put, putLit, putU64, reserve } from "../base/output";
import { lit } from "../base/bytes";
import { beginErrorEvent, endErrorEvent, ERR_TOO_LARGE } from "../write/sekoia";
import { settingsTick, settingsProfile } from "./settings-file";
import { mapRecord } from "../map/mapper";
import { setFullProfile } from "../base/settings";

export function nsg_flow_ecs(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  setFullProfile(settingsProfile == 1);
  return filter(timeSec, record, recordLen);
}

/** The full-ECS profile: Fluent Bit passes a filter no options, so the profile is chosen by the
 * function the configuration names, unless the settings file names one (it then wins). */
export function nsg_flow_ecs_full(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  setFullProfile(settingsProfile != 0);
  return filter(timeSec, record, recordLen);
}

// The settings file's clock (settingsTick: a WASI clock read, a call out of the module into WAMR)
// is read at the first record, then whenever the record's timestamp (Fluent Bit's, whole seconds)
// moves, and after every CLOCK_EVERY records with the same one. Records flowing with ingestion
// times: about one read a second instead of one a record; with timestamps from the data that
// repeat (a parser's Time_Key), the check waits for at most CLOCK_EVERY records (DEVELOPERS.md,
// "Settings and data files", decided).
const CLOCK_EVERY: u32 = 32;
let lastTimeSec: u32 = 0;
let recordsLeft: u32 = 1;

@inline function filter(timeSec: u32, record: usize, recordLen: u32): usize {
  if (timeSec != lastTimeSec || --recordsLeft == 0) {
    lastTimeSec = timeSec;
    recordsLeft = CLOCK_EVERY;
    settingsTick();
  }
  outReset();
  if (record == 0) {
    // WAMR could not copy the record into its app heap (wasm_runtime_module_dup_data returns 0
    // and the call goes ahead): the record is not here to map or to quote.
    heapTooSmall(recordLen);
    return outBuf;
  }
  // Fluent Bit passes the length without the terminator; a NUL inside would be invalid JSON,
  // which the mapper reports like any other. The record is JSON Fluent Bit serialised itself:
  // trusted (DEVELOPERS.md, "The ABIs"), unlike the batch ABI's bytes.
  mapRecord(record, <i32>recordLen, true);
  put(0);
  return outBuf;
}

const HEAP_TOO_SMALL_1 = lit("record is ");
const HEAP_TOO_SMALL_2 = lit(" bytes, more than the filter's Wasm_Heap_Size holds (raise it above the largest record); message is empty");

function heapTooSmall(recordLen: u32): void {
  reserve(256);
  beginErrorEvent(ERR_TOO_LARGE, 0, 0);
  putLit(HEAP_TOO_SMALL_1);
  putU64(<u64>recordLen);
  putLit(HEAP_TOO_SMALL_2);
  endErrorEvent();
  put(0);
}
