// The WASI functions build/nsg-flow-ecs.wasm imports for its Fluent Bit filter's settings file
// (assembly/abi/files.ts), as a Node host supplies them: no files, no clock, no log. The batch
// ABI never calls them; the filter export, driven by the Fluent Bit harness, finds no preopened
// directory (EBADF for descriptor 3) and so maps as it does without a settings file. Every place
// in Node that instantiates that module passes these.

const ERRNO_BADF = 8;
const ERRNO_NOSYS = 52;

const nosys = () => ERRNO_NOSYS;

/** The import object for build/nsg-flow-ecs.wasm and build/nsg-flow-ecs-simd.wasm. */
export function moduleImports(): WebAssembly.Imports {
  return {
    wasi_snapshot_preview1: {
      fd_prestat_get: () => ERRNO_BADF,
      fd_prestat_dir_name: () => ERRNO_BADF,
      path_open: nosys,
      path_filestat_get: nosys,
      fd_filestat_get: nosys,
      fd_read: nosys,
      fd_write: nosys,
      fd_close: nosys,
      clock_time_get: nosys,
    },
  };
}
