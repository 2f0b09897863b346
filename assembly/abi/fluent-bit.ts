// The Fluent Bit `filter wasm` ABI (Event_Format json): called once per record with the record
// body as NUL-terminated JSON; returns a NUL-terminated JSON object that Fluent Bit copies.
// Never "" or 0, never invalid JSON, never a trap: each of those drops the record, and invalid
// JSON after a valid record in the same chunk crashes Fluent Bit.
import { outBuf, outReset, put } from "../output";
import { mapRecord } from "../mapper";
import { setFullProfile } from "../settings";

export function nsg_flow_ecs(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  setFullProfile(false);
  return filter(record, recordLen);
}

/** The full-ECS profile (Community ID seed 0): Fluent Bit passes a filter no options, so the
 * profile is chosen by the function the configuration names. */
export function nsg_flow_ecs_full(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  setFullProfile(true);
  return filter(record, recordLen);
}

@inline function filter(record: usize, recordLen: u32): usize {
  outReset();
  // Fluent Bit passes the length without the terminator; a NUL inside would be invalid JSON,
  // which the mapper reports like any other.
  mapRecord(record, <i32>recordLen);
  put(0);
  return outBuf;
}
