// Azurite, the official Azure Storage emulator, started by the tests themselves: blob service
// only, a free loopback port, a temporary directory as its workspace. stop() and start() again
// keep the port and the data (a storage outage in the middle of a run). With `tls` it serves
// HTTPS with that certificate and checks Entra ID bearer tokens (`--oauth basic`: lifetime,
// issuer and audience, not the signature), as well as the account key.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const ACCOUNT = "devstoreaccount1";
// Azurite's well-known development key (documented, the same in every Azurite).
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const main = join(dirname(createRequire(import.meta.url).resolve("azurite/package.json")), "dist/src/blob/main.js");

/** A certificate and its key, PEM files. */
export interface TlsFiles {
  cert: string;
  key: string;
}

export class Azurite {
  private child?: ChildProcess;
  port = 0;
  readonly location = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-azurite-"));

  private constructor(readonly tls?: TlsFiles) {}

  static async start(tls?: TlsFiles): Promise<Azurite> {
    const azurite = new Azurite(tls);
    await azurite.start();
    return azurite;
  }

  get account(): string {
    return ACCOUNT;
  }

  /** The blob endpoint: `http(s)://127.0.0.1:PORT/ACCOUNT`. */
  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.port}/${ACCOUNT}`;
  }

  get connectionString(): string {
    return connectionString(this.url, KEY);
  }

  /** The same account with a wrong key. */
  get wrongKeyConnectionString(): string {
    return connectionString(this.url, Buffer.alloc(64, 7).toString("base64"));
  }

  /** The account key (to sign a SAS). */
  get key(): string {
    return KEY;
  }

  async start(): Promise<void> {
    const tls = this.tls ? ["--cert", this.tls.cert, "--key", this.tls.key, "--oauth", "basic"] : [];
    const child = spawn(process.execPath, [main, "--blobHost", "127.0.0.1", "--blobPort", String(this.port),
      "--location", this.location, "--skipApiVersionCheck", "--disableTelemetry", "--silent", ...tls],
    { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let output = "";
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`azurite did not start in 60 s:\n${output}`)), 60_000);
      const onData = (data: Buffer) => {
        output += data.toString();
        const m = /listens on https?:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`azurite exited (${code}):\n${output}`));
      });
    });
    child.stdout!.resume();
    child.stderr!.resume();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.location, { recursive: true, force: true });
  }
}

function connectionString(url: string, key: string): string {
  return `DefaultEndpointsProtocol=${url.slice(0, url.indexOf(":"))};AccountName=${ACCOUNT};AccountKey=${key};` +
    `BlobEndpoint=${url};`;
}
