// Compiles a test fixture module with the AssemblyScript compiler in a child process. Loaded
// inside Jest, asc (top-level dynamic imports, binaryen) runs through Node's experimental VM
// modules, whose dynamic import() is known to crash the process now and then
// (nodejs/node#35889); a child process keeps it out of the test runner.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules/assemblyscript/bin/asc.js");

/** Compiles tests/fixtures/<fixture>.ts with tests/fixtures/<config> to `outFile`; throws with
 * the compiler's output when it fails. */
export function compileFixture(fixture: string, config: string, outFile: string): void {
  const r = spawnSync(process.execPath, [asc, join(root, "tests/fixtures", fixture), "--config",
    join(root, "tests/fixtures", config), "--outFile", outFile], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`asc ${fixture} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}
