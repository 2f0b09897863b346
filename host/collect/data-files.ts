// The files `collect` maps with (--indicators, --geo), looked at before each pass: a collector
// runs for weeks, feeds change hourly and MaxMind's databases twice a week (its licence asks for
// the updates to be applied), so a changed file is loaded again, as Fluent Bit's filter does with
// its settings file.
import { statSync } from "node:fs";

/** A file's modification time and size, or why it cannot be looked at now: two versions a
 * writer leaves differ in one of them. */
function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? "?"}`;
  }
}

export class DataFiles {
  private stamps: string[];

  constructor(private readonly paths: string[]) {
    this.stamps = paths.map(stamp);
  }

  /** Whether a file changed since the last call that said so (or since construction). A version
   * that cannot be used is therefore reported once, and tried again only when it changes. */
  changed(): boolean {
    const now = this.paths.map(stamp);
    if (now.every((s, i) => s === this.stamps[i])) return false;
    this.stamps = now;
    return true;
  }
}
