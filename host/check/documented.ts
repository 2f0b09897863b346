// The documented samples shipped with the package (tests/fixtures/documented/): the intake
// page's four transformed samples and the ten conformance cases, each `{input, expected}`.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Json } from "./compare.js";

export interface DocumentedCase {
  name: string;
  /** The raw event, exactly as documented. */
  input: string;
  expected: Record<string, Json>;
  /** The intake page's pretty-printed raw sample, for the four seed cases. */
  prettyRawSample?: string;
}

export function documentedDir(): string {
  for (const rel of ["../../tests/fixtures/documented", "../../../tests/fixtures/documented"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    try {
      if (statSync(dir).isDirectory()) return dir;
    } catch {
      // try the next layout (source tree, or compiled into dist/)
    }
  }
  throw new Error("the documented samples (tests/fixtures/documented) are missing from this install");
}

export function loadDocumentedCases(dir: string = documentedDir()): DocumentedCase[] {
  const files = (d: string): string[] =>
    readdirSync(d).sort().flatMap((n) => {
      const p = join(d, n);
      return statSync(p).isDirectory() ? files(p) : p.endsWith(".json") ? [p] : [];
    });
  return files(dir).map((f) => {
    const doc = JSON.parse(readFileSync(f, "utf8"));
    const c: DocumentedCase = { name: relative(dir, f), input: doc.input.message, expected: doc.expected };
    if (typeof doc.pretty_raw_sample === "string") c.prettyRawSample = doc.pretty_raw_sample;
    return c;
  });
}
