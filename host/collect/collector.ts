// The collect loop: passes over the flow-log blobs (list, skip what has not changed, claim,
// read what is new, checkpoint), retries with backoff when the storage account cannot be
// reached, and the order that makes the output and the checkpoints agree: events are written
// (and, for a file, fsynced) before any checkpoint that counts them.
//
// Several blobs are read at once when a pass finds more than one to read (up to `threads`, each
// mapped by its own module, in a worker thread of its own). Their events go to one
// output, so a checkpoint save records every read in progress, as of one moment at which each
// read's checkpoint counts exactly the events it has written (collect/mapper.ts says why
// that holds), together with the output's length then; saves and commits take turns.
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import type { BlobMapper } from "./mapper.js";
import { containersToRead, describeFailure, isStorageFailure, listBlobs, type SourceBlob } from "./azure.js";
import type { AuthContext } from "./credentials.js";
import { blobKey, type Checkpoint, type CheckpointStore, type Claim } from "./checkpoints.js";
import { FileOutput, OutputError, type Output } from "./output.js";
import { readBlob, type ReadCounts } from "./read.js";

export interface CollectOptions {
  containers: string[];
  prefix?: string;
  flatten: boolean;
  /** How long after its hour a blob is still read before it is closed. */
  graceMs: number;
  once: boolean;
  intervalMs: number;
  /** Failed passes in a row before giving up. */
  maxRetries: number;
  /** Shuffle the blobs of each pass (several collectors then spread over them). */
  shuffle: boolean;
  /** Blobs read at once, at most (each with its own mapper). */
  threads: number;
  /** How the collector signs in: what an authentication failure's message says to do. */
  auth?: AuthContext;
  /** Called before each pass; true when the mappers must be made again (their data changed). */
  reload?: () => boolean;
}

export interface PassSummary extends ReadCounts {
  listed: number;
  read: number;
  /** How old the newest data read was when its events were written (ms; 0 when nothing new). */
  lagMs: number;
}

/** Saves within a blob at least this often (time and bytes), so a crash re-reads little. */
const SAVE_EVERY_MS = 1_000;
const SAVE_EVERY_BYTES = 8 << 20;
const MAX_BACKOFF_MS = 60_000;

export class Collector {
  private stopRequested = false;
  private readonly stopSignal = new AbortController();
  private wake?: () => void;
  private lastCommit = Date.now();
  private warnedNoContainers = false;
  private readonly missing = new Set<string>();
  /** A --container that does not exist (a typo, or not created yet) is said once. */
  private readonly warnMissing = (name: string) => {
    if (!this.missing.has(name)) this.log(`container ${name} does not exist (yet)`);
    this.missing.add(name);
  };

  constructor(
    private readonly service: BlobServiceClient,
    private readonly store: CheckpointStore,
    private readonly output: Output,
    /** Makes the mapper of each lane, as a pass first needs it. */
    private readonly newMapper: () => BlobMapper,
    private readonly options: CollectOptions,
    private readonly log: (line: string) => void,
    private readonly report: (pass: PassSummary, seconds: number) => void,
  ) {
    this.accounted = output.length;
  }

  private readonly mappers: BlobMapper[] = [];
  /** Each read in progress: the checkpoint that counts what it has written. */
  private readonly latest = new Map<Claim, Checkpoint>();
  /** The checkpoint last saved through each claim. */
  private readonly saved = new Map<Claim, Checkpoint>();
  private turn: Promise<unknown> = Promise.resolve();

  /** Finish the current write, checkpoint, and return (SIGINT/SIGTERM). */
  stop(): void {
    this.stopRequested = true;
    this.stopSignal.abort();
    this.wake?.();
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Runs passes until --once is done, stop() is called, or retries run out. Exit status. */
  async run(): Promise<number> {
    let failures = 0;
    while (!this.stopRequested) {
      const started = Date.now();
      const pass: PassSummary = { listed: 0, read: 0, records: 0, errors: 0, bytes: 0, lagMs: 0, matched: 0, geoFaults: 0 };
      // Between passes no blob is open on a mapper: the next pass makes new ones.
      if (this.options.reload?.()) await this.close();
      try {
        await this.pass(pass);
        failures = 0;
      } catch (err) {
        if (err instanceof OutputError) throw err;
        this.rollBack();
        await this.commit();
        // A request cut short by SIGINT/SIGTERM: what was written is checkpointed; done.
        if (this.stopRequested) break;
        if (!isStorageFailure(err)) throw err;
        const failure = describeFailure(err, this.options.auth);
        failures++;
        if (failures > this.options.maxRetries) {
          this.log(`${failure.text}; giving up after ${failures} attempts`);
          return 1;
        }
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
        this.log(`${failure.text}; retrying in ${delay / 1000} s (attempt ${failures} failed)`);
        await this.sleep(delay);
        continue;
      } finally {
        this.report(pass, (Date.now() - started) / 1000);
      }
      if (this.options.once) break;
      await this.sleep(Math.max(0, this.options.intervalMs - (Date.now() - started)));
    }
    await this.commit();
    return 0;
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.mappers.splice(0).map((m) => m.close()));
  }

  private async pass(summary: PassSummary): Promise<void> {
    await this.store.refresh();
    const containers = await containersToRead(this.service, this.options.containers);
    if (containers.length === 0 && !this.warnedNoContainers) {
      this.log("no flow-log container found (yet): " +
        "insights-logs-networksecuritygroupflowevent, insights-logs-flowlogflowevent");
      this.warnedNoContainers = true;
    }
    const blobs: { container: ContainerClient; blob: SourceBlob }[] = [];
    const live = new Set<string>();
    for (const container of containers) {
      for await (const blob of listBlobs(container, this.options.prefix, this.warnMissing)) {
        blobs.push({ container, blob });
        live.add(blobKey(blob.container, blob.name));
      }
    }
    summary.listed = blobs.length;
    if (this.options.shuffle) shuffle(blobs);
    const toRead = blobs.filter(({ blob }) => needsRead(blob, this.store.known(blob), Date.now(), this.options.graceMs));
    const lanes = Math.min(this.options.threads, toRead.length);
    while (this.mappers.length < lanes) this.mappers.push(this.newMapper());
    let next = 0;
    let failure: { err: unknown } | undefined;
    await Promise.all(this.mappers.slice(0, lanes).map(async (mapper) => {
      while (!this.stopRequested && !failure && next < toRead.length) {
        const { container, blob } = toRead[next++];
        try {
          await this.readOne(container, blob, mapper, summary);
        } catch (err) {
          // The other reads finish the blob they are in, then the pass fails with this.
          failure ??= { err };
        }
      }
    }));
    if (failure) throw failure.err;
    if (!this.stopRequested) {
      const names = new Set(containers.map((c) => c.containerName));
      const prefix = this.options.prefix ?? "";
      await this.store.prune((container, name) => names.has(container) && name.startsWith(prefix), live);
    }
    await this.commit();
  }

  private async readOne(container: ContainerClient, blob: SourceBlob, mapper: BlobMapper, summary: PassSummary): Promise<void> {
    const now = Date.now();
    const claim = await this.store.claim(blob);
    if (!claim) return;
    try {
      if (!needsRead(blob, claim.checkpoint, now, this.options.graceMs)) return;
      const before = summary.records;
      const outcome = await readBlob(container, blob, claim.checkpoint, now >= closesAt(blob, this.options.graceMs), {
        mapper,
        output: this.output,
        flatten: this.options.flatten,
        counts: summary,
        stopping: () => this.stopRequested,
        signal: this.stopSignal.signal,
        checkpoint: (checkpoint, final) => this.save(claim, checkpoint, final),
        progress: (checkpoint) => this.latest.set(claim, checkpoint),
        log: this.log,
      });
      if (outcome === "gone") return;
      summary.read++;
      if (summary.records > before) summary.lagMs = Math.max(summary.lagMs, Date.now() - blob.lastModified.getTime());
    } finally {
      // Its last checkpoint was saved (reads end with a final save): nothing of it is left to save.
      this.latest.delete(claim);
      this.saved.delete(claim);
      // After any save already under way (it may hold this claim's checkpoint) has finished.
      await this.inTurn(() => claim.release());
    }
    await this.commitIfDue();
  }

  private savedAt = 0;
  /** The output's length when the last checkpoint was saved: what the checkpoints account for.
   * Only this length is committed; bytes after it are cut on a restart (or a failed pass). */
  private accounted: number | undefined;

  private async save(claim: Claim, checkpoint: Checkpoint, final: boolean): Promise<void> {
    this.latest.set(claim, checkpoint);
    const bytes = this.output.length ?? 0;
    const due = Date.now() - this.savedAt >= SAVE_EVERY_MS || bytes - (this.accounted ?? 0) >= SAVE_EVERY_BYTES;
    if (!final && !due) return;
    await this.inTurn(async () => {
      // A write that failed may be counted by a read's checkpoint already: save nothing.
      if (this.output.failure) throw this.output.failure;
      // One moment: every read's checkpoint then counts exactly what it has written.
      const length = this.output.length;
      const reads = [...this.latest];
      if (this.store.savesAreDurable) await this.output.sync();
      for (const [c, cp] of reads) {
        if (this.saved.get(c) === cp) continue;
        await c.save(cp);
        this.saved.set(c, cp);
      }
      this.savedAt = Date.now();
      this.accounted = length;
    });
    await this.commitIfDue();
  }

  /** Saves and commits one at a time: a commit must not see half of a save's checkpoints. */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** After a failed pass: events written that no saved checkpoint counts (a read that failed
   * between two saves) are cut, so that reading them again does not write them twice. */
  private rollBack(): void {
    const { output } = this;
    if (!(output instanceof FileOutput) || this.accounted === undefined || output.length <= this.accounted) return;
    this.log(`${output.path}: cutting ${output.length - this.accounted} bytes that no checkpoint counts (read again)`);
    output.truncate(this.accounted);
  }

  private async commitIfDue(): Promise<void> {
    if (Date.now() - this.lastCommit >= SAVE_EVERY_MS) await this.commit();
  }

  /** The output is made durable first, then the checkpoints that count on it. */
  private commit(): Promise<void> {
    return this.inTurn(async () => {
      await this.output.sync();
      await this.store.commit(this.accounted);
      this.lastCommit = Date.now();
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopRequested || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** When a blob is closed: the end of the hour in its path (`…/y=2026/m=11/d=30/h=03/…`) plus
 * the grace period; for another name, its last change plus the grace period. */
export function closesAt(blob: SourceBlob, graceMs: number): number {
  const hour = /(?:^|\/)y=(\d{4})\/m=(\d{2})\/d=(\d{2})\/h=(\d{2})\//.exec(blob.name);
  if (!hour) return blob.lastModified.getTime() + graceMs;
  const [, y, m, d, h] = hour.map(Number);
  return Date.UTC(y, m - 1, d, h + 1) + graceMs;
}

function needsRead(blob: SourceBlob, checkpoint: Checkpoint | undefined, now: number, graceMs: number): boolean {
  if (!checkpoint || checkpoint.etag !== blob.etag) return true;
  return !checkpoint.closed && now >= closesAt(blob, graceMs);
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
