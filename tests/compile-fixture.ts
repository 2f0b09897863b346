// Compiles a test fixture module with the AssemblyScript compiler in a child process. Loaded
// inside Jest, asc (top-level dynamic imports, binaryen) runs through Node's experimental VM
// modules, whose dynamic import() is known to crash the process now and then
// (nodejs/node#35889); a child process keeps it out of the test runner.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// tests/ when run by jest, dist/tests/ when the benchmark (compiled) uses it.
const here = dirname(fileURLToPath(import.meta.url));
const root = existsSync(join(here, "../package.json")) ? join(here, "..") : join(here, "../..");
const asc = join(root, "node_modules/assemblyscript/bin/asc.js");

/** Compiles tests/fixtures/<fixture>.ts with tests/fixtures/<config> to `outFile`; throws with
 * the compiler's output when it fails. `extra`: more compiler options (`--enable simd`). */
export function compileFixture(fixture: string, config: string, outFile: string, extra: string[] = []): void {
  const r = spawnSync(process.execPath, [asc, join(root, "tests/fixtures", fixture), "--config",
    join(root, "tests/fixtures", config), "--outFile", outFile, ...extra], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`asc ${fixture} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}
