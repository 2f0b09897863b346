// Two Fluent Bit `filter wasm` functions that map nothing (build/fluent-bit-probe.wasm, built for
// the tests and the benchmark, not shipped):
//  - copy_floor, the floor of the filter ABI for `npm run bench`: it returns
//    {"message":"<the record>","record":<the record>,"pad":"xxx…"}, as long as the ECS event of
//    that record would be (2.7 times the record, the corpus's average), so that Fluent Bit
//    parses back about as many bytes as with the real filter;
//  - echo_hex, for the real-Fluent-Bit tests: {"hex":"<the record's bytes in hex>"}, exactly what
//    Fluent Bit handed the filter, whatever its bytes (Fluent Bit may pass invalid UTF-8).
// Only for records that are JSON objects, which is all Fluent Bit ever passes.
// First, before anything allocates: WAMR's app heap, where it copies the tag and the record, kept
// out of the allocator, as in the real filter (abi/app-heap.ts).
import "./abi/app-heap";
import { outBuf, outPos, outReset, reserve, put, putBytes, putEscaped, putLit, putRepeated } from "./base/output";
import { lit } from "./base/bytes";
// Compiled in for `--use abort=…`.
import "./abi/abort";

const OPEN = lit('{"message":"');
const RECORD = lit('","record":');
const PAD = lit(',"pad":"');
const CLOSE = lit('"}');

export function copy_floor(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  const n = <i32>recordLen;
  outReset();
  reserve(n * 9 + 64);
  putLit(OPEN);
  putEscaped(record, n);
  putLit(RECORD);
  putBytes(record, n);
  putLit(PAD);
  const target = n * 27 / 10;
  if (target > outPos) putRepeated(0x78, target - outPos);
  putLit(CLOSE);
  put(0);
  return outBuf;
}

const HEX_OPEN = lit('{"hex":"');
const HEX_DIGITS = lit("0123456789abcdef");

export function echo_hex(tag: usize, tagLen: u32, timeSec: u32, timeNsec: u32, record: usize, recordLen: u32): usize {
  const n = <i32>recordLen;
  outReset();
  reserve(n * 2 + 64);
  putLit(HEX_OPEN);
  for (let i = 0; i < n; i++) {
    const b = <u32>load<u8>(record + i);
    put(load<u8>(HEX_DIGITS.ptr + (b >> 4)));
    put(load<u8>(HEX_DIGITS.ptr + (b & 15)));
  }
  putLit(CLOSE);
  put(0);
  return outBuf;
}
