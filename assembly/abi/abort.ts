// Fluent Bit's WAMR does not provide env.abort, and the core never calls it on input (bad input
// is an error event, not a trap): an internal bug still stops this call rather than going on
// with corrupt state. Wired in with `--use abort=assembly/abi/abort/abort`.
export function abort(message: usize, fileName: usize, line: u32, column: u32): void {
  unreachable();
}
