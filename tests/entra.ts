// What the Entra ID tests of `collect` run against: a self-signed certificate for 127.0.0.1 (Azurite
// needs HTTPS for bearer tokens; the collector trusts it through NODE_EXTRA_CA_CERTS), a loopback
// managed-identity token endpoint (the App Service protocol, IDENTITY_ENDPOINT / IDENTITY_HEADER,
// which the SDK's real DefaultAzureCredential finds in the environment), and a storage account
// stand-in that refuses every request with a given error code.
import { BlobServiceClient } from "@azure/storage-blob";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { TlsFiles } from "./azurite.js";

/** A certificate for 127.0.0.1, valid for a day, made with openssl (Node's crypto makes keys,
 * not X.509 certificates). It is its own CA: trusting it is trusting the certificate. */
export function selfSignedCertificate(dir: string): TlsFiles {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    throw new Error(`openssl could not make the test certificate (is it installed?): ${(err as Error).message}`);
  }
  return { cert, key };
}

/** A client of the HTTPS Azurite for the test itself (the Network Watcher stand-in): the test
 * process cannot take NODE_EXTRA_CA_CERTS after it started, so the CA goes to the pipeline. */
export function trustingClient(connectionString: string, tls: TlsFiles): BlobServiceClient {
  // `tlsOptions` reaches the core pipeline the storage SDK builds, but its types do not name it.
  const options = { tlsOptions: { ca: readFileSync(tls.cert) } } as Record<string, unknown>;
  return BlobServiceClient.fromConnectionString(connectionString, options);
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

/** A JWT as Entra ID issues them for Azure Storage. Azurite checks the claims, not the signature. */
export function storageToken(options: { audience: string; lifetimeSeconds: number; tenant?: string }): { token: string; exp: number } {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + options.lifetimeSeconds;
  const tenant = options.tenant ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const claims = {
    aud: options.audience, iss: `https://sts.windows.net/${tenant}/`, iat: now, nbf: now, exp,
    oid: "0f0f0f0f-1111-2222-3333-444444444444", sub: "0f0f0f0f-1111-2222-3333-444444444444", tid: tenant,
    jti: randomBytes(8).toString("hex"),
  };
  const token = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.${base64url(randomBytes(64))}`;
  return { token, exp };
}

/** One token request the endpoint answered. */
export interface TokenRequest {
  resource: string | null;
  clientId: string | null;
  at: number;
  exp: number;
}

/** The managed identity endpoint of App Service / Functions / Container Apps, on loopback: GET
 * `?api-version=2019-08-01&resource=…[&client_id=…]` with the `X-IDENTITY-HEADER` secret. */
export class TokenEndpoint {
  readonly requests: TokenRequest[] = [];
  /** Seconds each token lives. */
  lifetimeSeconds = 3600;
  /** The audience put in the tokens; default: the resource asked for. */
  audience?: string;
  private readonly secret = randomBytes(16).toString("hex");
  private server?: Server;
  private port = 0;

  static async start(): Promise<TokenEndpoint> {
    const endpoint = new TokenEndpoint();
    endpoint.server = createHttpServer((req, res) => endpoint.answer(req, res));
    await new Promise<void>((resolve) => endpoint.server!.listen(0, "127.0.0.1", resolve));
    endpoint.port = (endpoint.server.address() as AddressInfo).port;
    return endpoint;
  }

  /** The variables a managed identity's host sets, and the certificate to trust. */
  env(tls: TlsFiles): NodeJS.ProcessEnv {
    return {
      ...noAmbientCredentials(),
      IDENTITY_ENDPOINT: `http://127.0.0.1:${this.port}/msi/token`,
      IDENTITY_HEADER: this.secret,
      NODE_EXTRA_CA_CERTS: tls.cert,
    };
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/msi/token" || req.headers["x-identity-header"] !== this.secret) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "unauthorized" }));
      return;
    }
    const resource = url.searchParams.get("resource");
    const { token, exp } = storageToken({ audience: this.audience ?? resource ?? "", lifetimeSeconds: this.lifetimeSeconds });
    this.requests.push({ resource, clientId: url.searchParams.get("client_id"), at: Date.now(), exp });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      access_token: token, expires_on: String(exp), resource, token_type: "Bearer",
      client_id: url.searchParams.get("client_id") ?? "5a0b0c0d-0000-4000-8000-000000000001",
    }));
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Removes every variable through which DefaultAzureCredential could find a credential of this
 * machine's, so that a test sees only the one it sets up (undefined: not passed to the child; an
 * empty value is not the same, e.g. an empty AZURE_AUTHORITY_HOST disables managed identity). */
export function noAmbientCredentials(): NodeJS.ProcessEnv {
  const names = ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST"];
  return Object.fromEntries(names.map((n) => [n, undefined]));
}

/** A storage account that refuses every request with `status` and the error `code`, as the
 * service does (the code in `x-ms-error-code` and in the XML body). */
export async function refusingAccount(tls: TlsFiles, status: number, code: string):
  Promise<{ url: string; requests: () => { authorization?: string }[]; stop(): Promise<void> }> {
  const seen: { authorization?: string }[] = [];
  const server = createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    seen.push({ authorization: req.headers.authorization });
    req.resume();
    const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>This request is not ` +
      `authorized to perform this operation.\nRequestId:00000000-0000-0000-0000-000000000000\nTime:${new Date().toISOString()}</Message></Error>`;
    res.writeHead(status, { "content-type": "application/xml", "x-ms-error-code": code }).end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/devstoreaccount1`,
    requests: () => seen,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
