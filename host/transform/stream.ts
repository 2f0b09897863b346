// Whole inputs through the core: a stream of chunks in, ECS NDJSON chunks out, in order. Each
// input is told apart by its first bytes: a PT1H.json blob (`{"records":[`) or NDJSON.
import { FlowTransform, looksLikeBlob, type BlobOptions, type TransformResult } from "./loader.js";

export interface StreamTotals {
  records: number;
  errors: number;
  /** Events that matched at least one indicator: counted when the caller gives the field. */
  matched?: number;
  /** Geo lookups that met a corrupt database record: counted when the caller gives the field. */
  geoFaults?: number;
}

export interface StreamOptions extends BlobOptions {
  /** "auto" (the default) looks at the first bytes; "blob" or "ndjson" forces the format. */
  format?: "auto" | "blob" | "ndjson";
  /** Called when a blob input ends, with the offset to resume a growing blob from. */
  onBlobOffset?: (offset: number) => void;
}

/** NDJSON chunks in (any boundaries), ECS NDJSON chunks out, in order; `totals` is updated as
 * the stream goes. The output chunks are copies: safe to keep or write asynchronously. */
export async function* transformStream(
  source: AsyncIterable<Uint8Array>,
  transform: FlowTransform = FlowTransform.fromFile(),
  totals: StreamTotals = { records: 0, errors: 0 },
): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield* tally(transform.push(chunk), totals);
  yield* tally(transform.end(), totals);
}

/** A blob's chunks in, its events out in slices of a few MB (memory stays flat). */
export async function* transformBlob(
  source: AsyncIterable<Uint8Array>,
  transform: FlowTransform = FlowTransform.fromFile(),
  totals: StreamTotals = { records: 0, errors: 0 },
  options: BlobOptions = {},
): AsyncGenerator<Buffer> {
  transform.startBlob(options);
  for await (const chunk of source) {
    for (const r of transform.blobSlices(chunk)) yield* tally(r, totals);
  }
  for (const r of transform.blobSlices(new Uint8Array(0), true)) yield* tally(r, totals);
}

/** Counts a result into the totals and hands on its output, if any. */
function* tally(r: TransformResult, totals: StreamTotals): Generator<Buffer> {
  totals.records += r.records;
  totals.errors += r.errors;
  if (totals.matched !== undefined) totals.matched += r.matched ?? 0;
  if (totals.geoFaults !== undefined) totals.geoFaults += r.geoFaults ?? 0;
  if (r.output.length > 0) yield r.output;
}

/** Either format: decided per input from its first bytes unless `options.format` says. A blob
 * read from an offset (options.fromOffset) starts mid-document, so it is taken as a blob. */
export async function* transformInput(
  source: AsyncIterable<Uint8Array>,
  transform: FlowTransform = FlowTransform.fromFile(),
  totals: StreamTotals = { records: 0, errors: 0 },
  options: StreamOptions = {},
): AsyncGenerator<Buffer> {
  const { format, rest } = await sniffFormat(source, options);
  if (format === "blob") {
    yield* transformBlob(rest, transform, totals, options);
    options.onBlobOffset?.(transform.blobOffset);
  } else if (options.flattenOnly) {
    yield* passThrough(rest);
  } else {
    yield* transformStream(rest, transform, totals);
  }
}

/** NDJSON lines are flattened events already: with flattenOnly they go out as they came in. */
export async function* passThrough(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield Buffer.from(chunk);
}

/** Which format an input is (from its first bytes, unless the options say), and the whole
 * input again, the bytes looked at included. */
export async function sniffFormat(
  source: AsyncIterable<Uint8Array>,
  options: StreamOptions,
): Promise<{ format: "blob" | "ndjson"; rest: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let format = options.format ?? "auto";
  if (format === "auto" && (options.fromOffset ?? 0) > 0) format = "blob";
  let ended = false;
  while (format === "auto") {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      format = "ndjson";
      break;
    }
    head.push(next.value);
    const verdict = looksLikeBlob(Buffer.concat(head));
    if (verdict !== undefined) format = verdict ? "blob" : "ndjson";
  }
  const rest: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      yield* head;
      if (ended) return;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    },
  };
  return { format, rest };
}
