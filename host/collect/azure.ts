// The Azure Storage side of `collect`: the client and its retry policy, listing the flow-log
// blobs, ranged reads of one blob version, and telling auth and network failures apart.
import { AnonymousCredential, BlobServiceClient, RestError, StorageRetryPolicyType, type ContainerClient,
  type StoragePipelineOptions } from "@azure/storage-blob";
import { explainAuthFailure, isCredentialFailure, type AuthContext, type StorageAuth } from "./credentials.js";

/** Where Network Watcher writes NSG flow logs and VNet flow logs. */
export const DEFAULT_CONTAINERS = ["insights-logs-networksecuritygroupflowevent", "insights-logs-flowlogflowevent"];

/** One blob as a listing saw it. */
export interface SourceBlob {
  container: string;
  name: string;
  /** Without the quotes the service puts around it. */
  etag: string;
  createdOn?: Date;
  lastModified: Date;
  length: number;
}

/** The client for the account, signed as `auth` says (credentials.ts); the same pipeline
 * whichever way: the SDK's bearer token policy gets a token before the one it holds expires
 * (minutes ahead; the credential's cache refreshes long-lived ones at half their lifetime). */
export function storageClient(auth: StorageAuth): BlobServiceClient {
  switch (auth.mode) {
    case "connection-string": return BlobServiceClient.fromConnectionString(auth.connectionString, PIPELINE);
    case "sas": return new BlobServiceClient(auth.url, new AnonymousCredential(), PIPELINE);
    case "entra": return new BlobServiceClient(auth.url, auth.credential, PIPELINE);
  }
}

const PIPELINE: StoragePipelineOptions = {
    // A short first retry inside the SDK for a dropped connection; the collector's own backoff
    // (seconds to a minute) handles longer outages, so that it can say what is wrong meanwhile.
    retryOptions: {
      retryPolicyType: StorageRetryPolicyType.EXPONENTIAL,
      maxTries: 3,
      retryDelayInMs: 200,
      maxRetryDelayInMs: 2000,
      tryTimeoutInMs: 60_000,
    },
    userAgentOptions: { userAgentPrefix: "nsg-flow-ecs" },
};

export function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

/** The containers to read: those named, else the default ones that exist. */
export async function containersToRead(service: BlobServiceClient, named: string[]): Promise<ContainerClient[]> {
  if (named.length > 0) return named.map((n) => service.getContainerClient(n));
  const found: ContainerClient[] = [];
  for (const name of DEFAULT_CONTAINERS) {
    const client = service.getContainerClient(name);
    if (await client.exists()) found.push(client);
  }
  return found;
}

/** Every blob of the container under the prefix (a missing container has none, and says so). */
export async function* listBlobs(container: ContainerClient, prefix: string | undefined,
  onMissing: (container: string) => void): AsyncGenerator<SourceBlob> {
  try {
    for await (const item of container.listBlobsFlat({ prefix })) {
      yield {
        container: container.containerName,
        name: item.name,
        etag: unquote(item.properties.etag),
        createdOn: item.properties.createdOn,
        lastModified: item.properties.lastModified,
        length: item.properties.contentLength ?? 0,
      };
    }
  } catch (err) {
    if (!(err instanceof RestError && err.statusCode === 404)) throw err;
    onMissing(container.containerName);
  }
}

/** One version of a blob from `start` to its end (or `count` bytes), in chunks; `etag`,
 * `createdOn` and `total` (the blob's whole length) describe that version. */
export interface BlobRange {
  etag: string;
  createdOn?: Date;
  total: number;
  body: AsyncIterable<Buffer>;
  /** Stops reading early (closes the connection). */
  cancel(): void;
}

/** A blob that is no longer what the checkpoint describes: shorter than the offset (the
 * service's 416), gone (404), or changed since the version asked for (412). */
export class BlobChanged extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A stalled response (no byte for this long) is abandoned like a dropped connection. */
const IDLE_MS = 60_000;

export async function readRange(container: ContainerClient, name: string, start: number, count?: number,
  etag?: string, signal?: AbortSignal): Promise<BlobRange> {
  let response;
  try {
    response = await container.getBlobClient(name).download(start, count, {
      abortSignal: signal,
      // A dropped connection resumes where it stopped, from the same version (the SDK asks
      // for the first response's ETag).
      maxRetryRequests: 3,
      conditions: etag === undefined ? undefined : { ifMatch: `"${etag}"` },
    });
  } catch (err) {
    if (err instanceof RestError && (err.statusCode === 416 || err.statusCode === 404 || err.statusCode === 412)) {
      throw new BlobChanged(err.statusCode, `${name}: ${err.code ?? err.statusCode}`);
    }
    throw err;
  }
  const range = /\/(\d+)$/.exec(response.contentRange ?? "");
  const stream = response.readableStreamBody as (NodeJS.ReadableStream & { destroy(err?: Error): void }) | undefined;
  return {
    etag: unquote(response.etag),
    createdOn: response.createdOn,
    total: range ? Number(range[1]) : start + (response.contentLength ?? 0),
    body: stream ? withIdleTimeout(stream) : (async function* () {})(),
    cancel: () => stream?.destroy(),
  };
}

async function* withIdleTimeout(stream: NodeJS.ReadableStream & { destroy(err?: Error): void }): AsyncGenerator<Buffer> {
  const stall = () => stream.destroy(Object.assign(new Error(`no data for ${IDLE_MS / 1000} s`), { code: "ETIMEDOUT" }));
  let timer = setTimeout(stall, IDLE_MS);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      clearTimeout(timer);
      yield chunk;
      timer = setTimeout(stall, IDLE_MS);
    }
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
}

export type FailureKind = "auth" | "network" | "storage";

/** A failure of the storage account, of the way to it, or of getting a token for it (retried),
 * rather than a bug. The SDK's download stream reports a response cut short as an AbortError. */
export function isStorageFailure(err: unknown): boolean {
  const e = err as { name?: string; statusCode?: number; code?: string };
  return e?.name === "RestError" || e?.name === "AbortError" || (typeof e?.code === "string" && /^E[A-Z]+$/.test(e.code)) ||
    isCredentialFailure(err);
}

/** What went wrong talking to the storage account, in words an operator can act on. */
export function describeFailure(err: unknown, auth: AuthContext = { mode: "connection-string" }): { kind: FailureKind; text: string } {
  const e = err as RestError & { code?: string; cause?: { code?: string } };
  const status = e.statusCode;
  const explained = explainAuthFailure(err, auth);
  if (explained !== undefined) return { kind: "auth", text: explained };
  if ((err as Error).name === "AbortError") {
    return { kind: "network", text: `the connection to the storage account was cut while reading (${firstLine(e.message)})` };
  }
  const code = e.code ?? e.cause?.code;
  if (status === undefined || code === "REQUEST_SEND_ERROR" || /^E[A-Z]+$/.test(code ?? "")) {
    return { kind: "network", text: `storage account unreachable (${firstLine(e.message) || code})` };
  }
  return { kind: "storage", text: `storage error (HTTP ${status} ${e.code ?? ""}): ${firstLine(e.message)}` };
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n")[0].trim();
}
