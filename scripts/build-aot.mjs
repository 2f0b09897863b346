#!/usr/bin/env node
// `npm run build:aot`: compiles the modules Fluent Bit loads ahead of time with flb-wamrc, Fluent
// Bit's own WAMR AOT compiler, into files any Fluent Bit with the same WAMR loads in place of the
// .wasm (same configuration, several times faster):
//
//   build/nsg-flow-ecs.aot               the filter, generic x86-64 (--target=x86_64 --cpu=x86-64)
//   build/nsg-flow-ecs-aarch64.aot       the filter, generic AArch64 (--target=aarch64)
//   build/nsg-flow-ecs-wasi.aot          the WASI command (exec_wasi), x86-64
//   build/nsg-flow-ecs-wasi-aarch64.aot  the WASI command, AArch64
//
// The compiler is $FLB_WAMRC, else ../shared/fluent-bit/bin/flb-wamrc (next to this checkout),
// else flb-wamrc on PATH. An AOT file only loads into a runtime of the same AOT format version
// (WAMR's AOT_CURRENT_VERSION): build it with the flb-wamrc of the Fluent Bit you deploy to.
//
//   node scripts/build-aot.mjs                  all four; fails without a compiler
//   node scripts/build-aot.mjs --if-available   the same, or one line saying why not when no compiler
//                                               is found (npm run build: a fresh clone builds anywhere)
//   node scripts/build-aot.mjs --wasm IN --out OUT [--target x86_64|aarch64]   one file
//
// A file is compiled again only when its .wasm, the compiler or the options changed (recorded in
// build/aot-inputs.json): `npm test` builds on every run.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGETS = {
  x86_64: ["--target=x86_64", "--cpu=x86-64"],
  aarch64: ["--target=aarch64"],
};
const DEFAULT_FILES = [
  ["build/nsg-flow-ecs.wasm", "build/nsg-flow-ecs.aot", "x86_64"],
  ["build/nsg-flow-ecs.wasm", "build/nsg-flow-ecs-aarch64.aot", "aarch64"],
  ["build/nsg-flow-ecs-wasi.wasm", "build/nsg-flow-ecs-wasi.aot", "x86_64"],
  ["build/nsg-flow-ecs-wasi.wasm", "build/nsg-flow-ecs-wasi-aarch64.aot", "aarch64"],
];
const STAMPS = path.join(ROOT, "build", "aot-inputs.json");

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The compiler to use, or the reason there is none. */
function findFlbWamrc(env = process.env) {
  if (env.FLB_WAMRC) {
    return executable(env.FLB_WAMRC) ? { bin: env.FLB_WAMRC } : { why: `FLB_WAMRC=${env.FLB_WAMRC} is not an executable file` };
  }
  const shared = path.resolve(ROOT, "..", "shared", "fluent-bit", "bin", "flb-wamrc");
  if (executable(shared)) return { bin: shared };
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && executable(path.join(dir, "flb-wamrc"))) return { bin: path.join(dir, "flb-wamrc") };
  }
  return { why: "no flb-wamrc (set FLB_WAMRC, or put Fluent Bit's flb-wamrc in ../shared/fluent-bit/bin/ or on PATH)" };
}

function compilerVersion(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`${bin} --version failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

function sha256(file) {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Compiles one file unless the stamp says it is up to date. Returns "compiled" or "up to date". */
function compile(bin, version, wasm, out, target, stamps) {
  const args = [...TARGETS[target], "-o", out, wasm];
  const key = JSON.stringify({ wasm: sha256(wasm), version, args: TARGETS[target] });
  const rel = path.relative(ROOT, out);
  if (stamps[rel] === key && existsSync(out)) return "up to date";
  const r = spawnSync(bin, args, { encoding: "utf8" });
  if (r.error || r.status !== 0 || !existsSync(out)) {
    throw new Error(`${bin} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  stamps[rel] = key;
  return "compiled";
}

function main(argv) {
  let ifAvailable = false, wasm, out, target = "x86_64";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--if-available") ifAvailable = true;
    else if (a === "--wasm") wasm = argv[++i];
    else if (a === "--out") out = argv[++i];
    else if (a === "--target") target = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (!TARGETS[target]) throw new Error(`--target must be one of ${Object.keys(TARGETS).join(", ")}`);
  if ((wasm === undefined) !== (out === undefined)) throw new Error("--wasm and --out go together");
  const found = findFlbWamrc();
  if (!found.bin) {
    // A compiler asked for by name must work; only a missing one may be skipped.
    if (ifAvailable && !process.env.FLB_WAMRC) {
      console.log(`build:aot skipped: ${found.why}; the .wasm files are built, the .aot files are not`);
      return;
    }
    throw new Error(found.why);
  }
  const version = compilerVersion(found.bin);
  const files = wasm ? [[wasm, out, target]] : DEFAULT_FILES.map(([w, o, t]) => [path.join(ROOT, w), path.join(ROOT, o), t]);
  let stamps = {};
  try {
    stamps = JSON.parse(readFileSync(STAMPS, "utf8"));
  } catch {
    // first build
  }
  for (const [w, o, t] of files) {
    const what = compile(found.bin, version, w, o, t, stamps);
    console.log(`build:aot: ${path.relative(process.cwd(), o)} (${t}) ${what} with ${version} (${found.bin})`);
  }
  if (!wasm) writeFileSync(STAMPS, JSON.stringify(stamps, null, 2) + "\n");
}

if (fileURLToPath(import.meta.url) === path.resolve(process.argv[1] ?? "")) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`build:aot: ${err.message}`);
    process.exitCode = 1;
  }
}
