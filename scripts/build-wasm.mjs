#!/usr/bin/env node
// `npm run build:wasm`: the three modules, each compiled by AssemblyScript's `asc` with its
// target in asconfig.json, and compiled again only when what goes into it changed: the sources
// under assembly/, asconfig.json, the compiler's and json-as's versions (recorded in
// build/wasm-inputs.json). CI runs `npm ci`, whose `prepare` builds, then `npm test`, which
// builds again: without this the second build compiled the same sources again, about a minute.
//
//   node scripts/build-wasm.mjs           every module whose inputs changed
//   node scripts/build-wasm.mjs --force   every module
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MODULES = [
  { entry: "assembly/nsg-flow-ecs.ts", target: "release" },
  { entry: "assembly/nsg-flow-ecs.ts", target: "release-simd" },
  { entry: "assembly/nsg-flow-ecs-wasi.ts", target: "wasi" },
];
const STAMPS = path.join(ROOT, "build", "wasm-inputs.json");

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

/** One hash of everything a module is compiled from (every module gets the same sources: an
 * entry imports what it needs, and a shared file's change may change any of them). */
function inputsHash() {
  const hash = createHash("sha256");
  for (const file of files(path.join(ROOT, "assembly")).sort()) {
    hash.update(path.relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  hash.update(readFileSync(path.join(ROOT, "asconfig.json")));
  for (const pkg of ["assemblyscript", "json-as"]) {
    hash.update(`${pkg}@${JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version}`);
  }
  return hash.digest("hex");
}

const config = JSON.parse(readFileSync(path.join(ROOT, "asconfig.json"), "utf8"));
const force = process.argv.includes("--force");
const stamps = existsSync(STAMPS) ? JSON.parse(readFileSync(STAMPS, "utf8")) : {};
const inputs = inputsHash();
const asc = path.join(ROOT, "node_modules", ".bin", "asc");
let skipped = 0;
for (const { entry, target } of MODULES) {
  const key = `${entry} ${target}`;
  const out = path.join(ROOT, config.targets[target].outFile);
  if (!force && stamps[key] === inputs && existsSync(out)) {
    skipped++;
    continue;
  }
  const r = spawnSync(asc, [entry, "--config", "asconfig.json", "--target", target], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  stamps[key] = inputs;
  // Recorded after each module: an interrupted build keeps what it finished.
  writeFileSync(STAMPS, JSON.stringify(stamps, null, 2) + "\n");
}
if (skipped > 0) {
  console.log(`build:wasm: ${skipped} of ${MODULES.length} modules unchanged (same sources, asconfig.json and compiler), not compiled again`);
}
