// The benchmark's interpreter probe (`npm run build:bench` → build/bench-interp.wasm): the
// portable core's per-record work, runnable under an interpreter that offers neither WASI nor
// any other way to pass input (wabt's `wasm-interp --run-all-exports`, the stand-in for Fluent
// Bit's WAMR interpreter in `npm run bench`).
//
// Built with --memoryBase so that nothing the module owns lies below it: the benchmark adds an
// active data segment at INPUT holding a header (u32 byte length, u32 mode) then NDJSON. `run`
// walks the lines and makes, per record, exactly the call Fluent Bit makes (the `filter wasm`
// export, mode 0), or the same call shape with a plain copy instead of the mapping (mode 1).
import { outReset, reserve, putBytes, put } from "./output";
import { lastWasError } from "./mapper";
import { nsg_flow_ecs } from "./abi/fluent-bit";
// Compiled in for `--use abort=…`: the interpreter provides no imports.
import "./abi/abort";

/** Where the benchmark's data segment goes (below --memoryBase). */
const INPUT: usize = 1024;
const MODE_MAP: u32 = 0;

/** One record copied the way the filter ABI returns a mapped one: reset, write, NUL. */
function copyRecord(ptr: usize, len: i32): usize {
  outReset();
  reserve(len + 1);
  putBytes(ptr, len);
  put(0);
  return ptr;
}

/** Records processed, or minus the number of error events when any record did not map. */
export function run(): i32 {
  const len = <usize>load<u32>(INPUT);
  const mode = load<u32>(INPUT + 4);
  let p = INPUT + 8;
  const end = p + len;
  let records = 0;
  let errors = 0;
  while (p < end) {
    let nl = p;
    while (nl < end && load<u8>(nl) != 0x0a) nl++;
    const n = <i32>(nl - p);
    if (n > 0) {
      records++;
      if (mode == MODE_MAP) {
        nsg_flow_ecs(0, 0, 0, 0, p, <u32>n);
        if (lastWasError) errors++;
      } else {
        copyRecord(p, n);
      }
    }
    p = nl + 1;
  }
  outReset();
  return errors > 0 ? -errors : records;
}
