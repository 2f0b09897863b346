// Checkpoints of `collect`: what a checkpoint holds, the interface both stores share, and the
// local-disk store (`--state DIR`), which also records the output file's length so that a
// restart can cut the file back to what the checkpoints account for (exactly once).
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { SourceBlob } from "./azure.js";

/** Where reading one blob stands. */
export interface Checkpoint {
  /** The byte just after the last complete record read (0: nothing read yet). */
  offset: number;
  /** The blob's creation time (ISO) when it was read: another one means a re-created blob. */
  created?: string;
  /** The version (ETag) last read to its end: the same ETag in a listing means nothing new. */
  etag?: string;
  /** Hex of the (up to) 32 bytes just before `offset`: other bytes there mean a replaced blob. */
  tail?: string;
  /** Its hour is over, the grace period passed, and it was read to the end after that. */
  closed?: boolean;
}

/** The right to read one blob and move its checkpoint. */
export interface Claim {
  /** The checkpoint as it stands now (fresher than a listing's). */
  readonly checkpoint: Checkpoint | undefined;
  save(checkpoint: Checkpoint): Promise<void>;
  release(): Promise<void>;
}

export interface CheckpointStore {
  /** Whether save() is durable at once (the leased store): the output is then synced first.
   * Otherwise saves are held until commit(). */
  readonly savesAreDurable: boolean;
  /** Takes a fresh view of the checkpoints at a pass's start. */
  refresh(): Promise<void>;
  /** The checkpoint as of the last refresh, to skip unchanged blobs without claiming them. */
  known(blob: SourceBlob): Checkpoint | undefined;
  /** Undefined when another collector holds the blob. */
  claim(blob: SourceBlob): Promise<Claim | undefined>;
  /** Makes the saves so far durable, with the output's length (after the output is synced). */
  commit(outputLength: number | undefined): Promise<void>;
  /** Drops the checkpoints of blobs that `inScope` says were listed and are gone. */
  prune(inScope: (container: string, name: string) => boolean, live: Set<string>): Promise<void>;
  close(): Promise<void>;
}

export function blobKey(container: string, name: string): string {
  return `${container}/${name}`;
}

export const FINGERPRINT_BYTES = 32;

interface DiskState {
  version: 1;
  /** The output file and its length when the checkpoints below were written. */
  output?: { path: string; length: number };
  /** By storage account, then `container/blob name`. */
  accounts: Record<string, Record<string, Checkpoint>>;
}

/** The state directory cannot be used: another collector uses it, or its file is unreadable. */
export class StateError extends Error {}

/** Checkpoints in one JSON file, replaced atomically (write, fsync, rename, fsync the directory). */
export class DiskCheckpoints implements CheckpointStore {
  readonly savesAreDurable = false;
  private readonly file: string;
  private readonly lock: string;
  private state: DiskState = { version: 1, accounts: {} };
  private dirty = false;

  private constructor(private readonly dir: string, private readonly account: string) {
    this.file = join(dir, "checkpoints.json");
    this.lock = join(dir, "lock");
  }

  static open(dir: string, account: string): DiskCheckpoints {
    mkdirSync(dir, { recursive: true });
    const store = new DiskCheckpoints(dir, account);
    store.takeLock();
    try {
      store.load();
    } catch (err) {
      store.releaseLock();
      throw err;
    }
    store.state.accounts[account] ??= {};
    return store;
  }

  private load(): void {
    let text: string | undefined;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text !== undefined) {
      try {
        this.state = JSON.parse(text) as DiskState;
      } catch (err) {
        throw new StateError(`${this.file} cannot be read (${(err as Error).message}): ` +
          "move it away to start over, which reads every blob again");
      }
      if (this.state.version !== 1) throw new StateError(`${this.file}: unknown version ${this.state.version}`);
    }
  }

  /** One collector per directory: a second one would read the same blobs again. A lock left
   * by a collector that died (its pid no longer runs) is taken over. */
  private takeLock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lock, "wx");
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const pid = Number(readFileSync(this.lock, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new StateError(`another collector (pid ${pid}) uses the state directory ${this.dir}`);
      }
      unlinkSync(this.lock);
    }
    throw new StateError(`cannot lock the state directory ${this.dir}`);
  }

  get output(): { path: string; length: number } | undefined {
    return this.state.output;
  }

  /** Records the output file and its length now, before anything is written to it. */
  async adoptOutput(path: string, length: number): Promise<void> {
    this.state.output = { path, length };
    this.dirty = true;
    await this.commit(length);
  }

  async refresh(): Promise<void> {}

  known(blob: SourceBlob): Checkpoint | undefined {
    return this.state.accounts[this.account][blobKey(blob.container, blob.name)];
  }

  async claim(blob: SourceBlob): Promise<Claim> {
    const key = blobKey(blob.container, blob.name);
    const checkpoints = this.state.accounts[this.account];
    return {
      checkpoint: checkpoints[key],
      save: async (checkpoint) => {
        checkpoints[key] = checkpoint;
        this.dirty = true;
      },
      release: async () => {},
    };
  }

  async commit(outputLength: number | undefined): Promise<void> {
    if (outputLength !== undefined && this.state.output && this.state.output.length !== outputLength) {
      this.state.output.length = outputLength;
      this.dirty = true;
    }
    if (!this.dirty) return;
    const tmp = this.file + ".tmp";
    const fd = openSync(tmp, "w");
    try {
      writeFileSync(fd, JSON.stringify(this.state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dirFd = openSync(this.dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.dirty = false;
  }

  async prune(inScope: (container: string, name: string) => boolean, live: Set<string>): Promise<void> {
    const checkpoints = this.state.accounts[this.account];
    for (const key of Object.keys(checkpoints)) {
      const slash = key.indexOf("/");
      if (inScope(key.slice(0, slash), key.slice(slash + 1)) && !live.has(key)) {
        delete checkpoints[key];
        this.dirty = true;
      }
    }
  }

  async close(): Promise<void> {
    this.releaseLock();
  }

  private releaseLock(): void {
    try {
      unlinkSync(this.lock);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

/** Whether a collector still runs as `pid` (where /proc tells, a reused pid running something
 * else does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("collect");
  } catch {
    return true;
  }
}
