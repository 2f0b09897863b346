// Running `nsg-flow-ecs collect` (the built CLI) as a child process, and what its output should
// be: the library's mapping of the blobs as they finally are.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FlowTransform } from "../host/transform/loader.js";
import type { FlowLogBlob } from "./network-watcher.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/host/cli.js");

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
  /** What it wrote so far. */
  stdout(): string;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/** Kills the collectors a failed test left running (else jest would wait for them). */
export function killLeftovers(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

export function startCollect(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [cli, "collect", ...args], {
    cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "", ...env },
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

export function runCollect(args: string[], env?: NodeJS.ProcessEnv): Promise<Finished> {
  return startCollect(args, env).done;
}

/** Waits for a condition, polling; fails with `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000,
  everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** The complete lines of an output that a collector may be writing (or died writing). */
export function completeLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
}

/** The lines of an output file once its collector is done; every line must be complete. */
export function outputLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  if (text === "") return [];
  if (!text.endsWith("\n")) throw new Error(`${path} ends with a partial line`);
  return text.slice(0, -1).split("\n");
}

const transforms = new Map<string, FlowTransform>();

export interface MapAs {
  flatten?: boolean;
  profile?: "sekoia" | "ecs";
}

/** The library's mapping of whole blobs, in blob order, with event.id as the collector maps. */
export function mapBlobs(texts: Buffer[], options: MapAs = {}): string[] {
  const profile = options.profile ?? "sekoia";
  let transform = transforms.get(profile);
  if (!transform) transforms.set(profile, (transform = FlowTransform.fromFile(undefined, { eventId: true, profile })));
  const lines: string[] = [];
  for (const text of texts) {
    transform.startBlob({ flattenOnly: options.flatten });
    const out = Buffer.concat([transform.pushBlob(text).output, transform.endBlob().output]).toString("utf8");
    if (out !== "") for (const line of out.slice(0, -1).split("\n")) lines.push(line);
  }
  return lines;
}

export async function expectedLines(blobs: FlowLogBlob[], options: MapAs = {}): Promise<string[]> {
  return mapBlobs(await Promise.all(blobs.map((b) => b.text())), options);
}

/** Multiset comparison with a readable failure: what is missing and what is repeated. */
export function sameEvents(actual: string[], expected: string[]): { missing: string[]; extra: string[] } {
  const counts = new Map<string, number>();
  for (const l of expected) counts.set(l, (counts.get(l) ?? 0) + 1);
  const extra: string[] = [];
  for (const l of actual) {
    const n = counts.get(l) ?? 0;
    if (n === 0) extra.push(l);
    else counts.set(l, n - 1);
  }
  const missing = [...counts].flatMap(([l, n]) => Array<string>(n).fill(l));
  return { missing, extra };
}

/** A seeded random source for replayable runs. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}
