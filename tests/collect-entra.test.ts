// `nsg-flow-ecs collect --account-url` with Microsoft Entra ID: the SDK's real
// DefaultAzureCredential gets its tokens from a loopback managed-identity endpoint, Azurite (HTTPS,
// `--oauth basic`) checks them. Exactly once across kill -9 and several instances sharing the
// blobs (the connection-string tests' own scenarios), tokens refreshed mid-run, a SAS in the URL,
// and the failures that say what to do.
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobServiceClient, generateAccountSASQueryParameters,
  StorageSharedKeyCredential } from "@azure/storage-blob";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Azurite, type TlsFiles } from "./azurite.js";
import { NetworkWatcher, type FlowLogBlob } from "./network-watcher.js";
import { completeLines, expectedLines, killLeftovers, outputLines, runCollect, sameEvents, startCollect, until } from "./collect-helpers.js";
import { exactlyOnceAcrossKills, threeCollectorsShareTheWork } from "./collect-scenarios.js";
import { parseAccountUrl } from "../host/collect/credentials.js";
import { noAmbientCredentials, refusingAccount, selfSignedCertificate, TokenEndpoint, trustingClient } from "./entra.js";

let dir: string;
let tls: TlsFiles;
let azurite: Azurite;
let tokens: TokenEndpoint;
let service: BlobServiceClient;
let watcher: NetworkWatcher;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-entra-"));
  tls = selfSignedCertificate(dir);
  azurite = await Azurite.start(tls);
  tokens = await TokenEndpoint.start();
  service = trustingClient(azurite.connectionString, tls);
  watcher = new NetworkWatcher(service);
});

afterEach(() => {
  killLeftovers();
  tokens.lifetimeSeconds = 3600;
  tokens.audience = undefined;
});

afterAll(async () => {
  await tokens?.stop();
  await azurite?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const OPEN_HOUR = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
let workspaces = 0;

/** A state directory and an output file of their own; the collector reads only `prefix`. */
function workspace(prefix: string) {
  const ws = join(dir, `ws-${++workspaces}`);
  mkdirSync(ws);
  return { out: join(ws, "out.ndjson"), args: ["--account-url", azurite.url, "--state", join(ws, "state"), "--out", join(ws, "out.ndjson"), "--prefix", prefix] };
}

async function nsgBlob(resource: string, mac: string): Promise<FlowLogBlob> {
  return watcher.blob({ kind: "nsg", hour: OPEN_HOUR, resource, mac });
}

const prefixOf = (blob: FlowLogBlob) => blob.name.slice(0, blob.name.indexOf("/y="));

test("--account-url signs in with the managed identity DefaultAzureCredential finds; AZURE_CLIENT_ID picks a user-assigned one", async () => {
  const blob = await nsgBlob("ENTRA-NSG", "000D3AE10001");
  await blob.addRecord(3);
  const ws = workspace(prefixOf(blob));
  const before = tokens.requests.length;
  const first = await runCollect([...ws.args, "--once"], tokens.env(tls));
  expect([first.code, first.stderr]).toEqual([0, expect.stringMatching(/1 blobs \(1 read\), 3 records, 3 events/)]);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
  const asked = tokens.requests.slice(before);
  expect(asked.length).toBeGreaterThan(0);
  expect(asked.every((r) => r.resource === "https://storage.azure.com" && r.clientId === null)).toBe(true);

  await blob.addRecord(2);
  const clientId = "9e0f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
  const second = await runCollect([...ws.args, "--once"], { ...tokens.env(tls), AZURE_CLIENT_ID: clientId, AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential" });
  expect(second.code).toBe(0);
  expect(tokens.requests.at(-1)!.clientId).toBe(clientId);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });

  // The checkpoints are the account's, however it is reached: the connection string goes on
  // where Entra ID stopped.
  await blob.addRecord(1);
  const byKey = ws.args.map((a) => (a === "--account-url" ? "--connection-string" : a === azurite.url ? azurite.connectionString : a));
  const third = await runCollect([...byKey, "--once"], { NODE_EXTRA_CA_CERTS: tls.cert });
  expect([third.code, third.stderr]).toEqual([0, expect.stringMatching(/1 blobs \(1 read\), 1 records/)]);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
}, 60_000);

test("a SAS in --account-url is used as it is, no token asked", async () => {
  const blob = await nsgBlob("SAS-NSG", "000D3AE10002");
  await blob.addRecord(2);
  const sas = generateAccountSASQueryParameters({
    expiresOn: new Date(Date.now() + 3_600_000), permissions: AccountSASPermissions.parse("rl"),
    resourceTypes: AccountSASResourceTypes.parse("sco").toString(), services: AccountSASServices.parse("b").toString(),
  }, new StorageSharedKeyCredential(azurite.account, azurite.key)).toString();
  const ws = workspace(prefixOf(blob));
  ws.args[1] = `${azurite.url}?${sas}`;
  const before = tokens.requests.length;
  const r = await runCollect([...ws.args, "--once"], tokens.env(tls));
  expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/1 blobs \(1 read\)/)]);
  expect(tokens.requests.length).toBe(before);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
}, 60_000);

test("a token for another audience: named, retried, exit 1", async () => {
  const blob = await nsgBlob("AUD-NSG", "000D3AE10003");
  await blob.addRecord(1);
  tokens.audience = "https://management.azure.com/";
  const ws = workspace(prefixOf(blob));
  const r = await runCollect([...ws.args, "--once", "--retries", "1"], tokens.env(tls));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/the storage account refused the token \(HTTP 40[13] \w+: [^)]*audience[^)]*\): it was issued for another resource than Azure Storage/i);
  expect(r.stderr).toMatch(/retrying in 1 s \(attempt 1 failed\)/);
  expect(outputLines(ws.out)).toEqual([]);
}, 60_000);

test("a token that lives 4 s is refreshed before it expires, pass after pass: no pass fails, every event once", async () => {
  const blob = await nsgBlob("SHORT-NSG", "000D3AE10004");
  await blob.addRecord(2);
  tokens.lifetimeSeconds = 4;
  const ws = workspace(prefixOf(blob));
  const before = tokens.requests.length;
  const run = startCollect([...ws.args, "--interval", "0.3"], tokens.env(tls));
  await until("the first events", () => completeLines(ws.out).length === 2);
  const firstExp = tokens.requests[before].exp * 1000;
  // Records keep coming for three of the tokens' lifetimes: each is read by a pass signed with a
  // token fetched after the one before expired.
  let added = 2;
  while (Date.now() < firstExp + 8_000) {
    await blob.addRecord(1);
    added++;
    await until(`record ${added}`, () => completeLines(ws.out).length === added, 20_000);
    await new Promise((r) => setTimeout(r, 700));
  }
  run.child.kill("SIGTERM");
  const done = await run.done;
  expect(done.code).toBe(0);
  expect(done.stderr).not.toMatch(/refused|failed|retrying/);
  expect(sameEvents(outputLines(ws.out), await expectedLines([blob]))).toEqual({ missing: [], extra: [] });
  const issued = tokens.requests.slice(before);
  // Tokens kept being fetched: the last one expires long after the first had expired.
  expect(issued.at(-1)!.exp * 1000).toBeGreaterThan(firstExp + 6_000);
}, 120_000);

test("no credential available: each one tried and why, named on stderr, exit 1 after the retries", async () => {
  const home = join(dir, "empty-home");
  const r = await runCollect(["--account-url", azurite.url, "--state", join(dir, "no-credential-state"), "--once", "--retries", "0"],
    { ...noAmbientCredentials(), HOME: home, PATH: "/nonexistent", NODE_EXTRA_CA_CERTS: tls.cert });
  expect(r.code).toBe(1);
  const line = r.stderr.split("\n").find((l) => l.includes("no Microsoft Entra ID credential"));
  expect(line).toMatch(/tried EnvironmentCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH are not all set;/);
  expect(line).toMatch(/AzureCliCredential: [^;]+;/);
  expect(line).toMatch(/Set one up \(docs\/entra-id\.md\) or give --connection-string; giving up after 1 attempts$/);
  // Shortened to what a user acts on: no stack, no troubleshooting links.
  expect(line).not.toMatch(/https?:\/\/|\n|    at /);
}, 120_000);

test("an account that forbids shared keys, and an identity without a data role: each named with what to do", async () => {
  const keyless = await refusingAccount(tls, 403, "KeyBasedAuthenticationNotPermitted");
  const noRole = await refusingAccount(tls, 403, "AuthorizationPermissionMismatch");
  const firewalled = await refusingAccount(tls, 403, "AuthorizationFailure");
  try {
    const cs = `DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=${azurite.key};BlobEndpoint=${keyless.url};`;
    const shared = await runCollect(["--connection-string", cs, "--state", join(dir, "keyless-state"), "--once", "--retries", "0"],
      { NODE_EXTRA_CA_CERTS: tls.cert });
    expect(shared.code).toBe(1);
    expect(shared.stderr).toMatch(/the storage account does not allow shared key authorization \(HTTP 403 KeyBasedAuthenticationNotPermitted: .*use --account-url https:\/\/ACCOUNT\.blob\.core\.windows\.net with Microsoft Entra ID/);
    expect(keyless.requests()[0].authorization).toMatch(/^SharedKey /);

    const entra = await runCollect(["--account-url", noRole.url, "--state-container", "collect-state", "--once", "--retries", "0"],
      tokens.env(tls));
    expect(entra.code).toBe(1);
    expect(entra.stderr).toMatch(/the identity may not do this \(HTTP 403 AuthorizationPermissionMismatch\): it needs the data-plane role "Storage Blob Data Reader" on the flow-log containers \(or the account\) and "Storage Blob Data Contributor" on the state container collect-state;/);
    expect(noRole.requests()[0].authorization).toMatch(/^Bearer /);
    const reader = await runCollect(["--account-url", noRole.url, "--state", join(dir, "no-role-state"), "--once", "--retries", "0"], tokens.env(tls));
    expect(reader.stderr).toMatch(/"Storage Blob Data Reader" on the flow-log containers \(or the account\);/);
    const outside = await runCollect(["--account-url", firewalled.url, "--state", join(dir, "firewalled-state"), "--once", "--retries", "0"],
      tokens.env(tls));
    expect(outside.stderr).toMatch(/the storage account refused this client \(HTTP 403 AuthorizationFailure\): most often its firewall/);
  } finally {
    await keyless.stop();
    await noRole.stop();
    await firewalled.stop();
  }
}, 60_000);

/** A fresh HTTPS Azurite of its own (the scenarios read the default containers whole). */
async function ownAzurite<T>(fn: (azurite: Azurite, watcher: NetworkWatcher) => Promise<T>): Promise<T> {
  const own = await Azurite.start(tls);
  try {
    return await fn(own, new NetworkWatcher(trustingClient(own.connectionString, tls)));
  } finally {
    await own.dispose();
  }
}

test("under Entra ID: exactly once into --out FILE across kill -9 at random moments (the connection-string scenario)", async () => {
  await ownAzurite(async (own, ownWatcher) => {
    const all: FlowLogBlob[] = [];
    for (let i = 0; i < 3; i++) all.push(await ownWatcher.blob({ kind: "nsg", hour: OPEN_HOUR, resource: "KILL-NSG", mac: `000D3AE200${i}0` }));
    for (let i = 0; i < 2; i++) all.push(await ownWatcher.blob({ kind: "vnet", hour: OPEN_HOUR, resource: "KILL-FLOWLOG", mac: `00224800E2${i}0` }));
    const ws = join(dir, "kill");
    mkdirSync(ws);
    const out = join(ws, "out.ndjson");
    await exactlyOnceAcrossKills(["--account-url", own.url, "--state", join(ws, "state"), "--out", out, "--once"], out, all, tokens.env(tls));
  });
}, 300_000);

test("under Entra ID: three collectors sharing the blobs through leases, one killed with -9 (the connection-string scenario)", async () => {
  await ownAzurite(async (own, ownWatcher) => {
    const leases = join(dir, "leases");
    mkdirSync(leases);
    await threeCollectorsShareTheWork(ownWatcher, ["--account-url", own.url], leases, tokens.env(tls));
  });
}, 300_000);

test("account URLs of every cloud: the blob endpoint, the SAS told apart, a national cloud's Entra ID authority", () => {
  expect(parseAccountUrl("https://flowlogs.blob.core.windows.net/")).toEqual({ url: "https://flowlogs.blob.core.windows.net", sas: false, authority: undefined });
  expect(parseAccountUrl("https://flowlogs.z12.blob.storage.azure.net")).toEqual({ url: "https://flowlogs.z12.blob.storage.azure.net", sas: false, authority: undefined });
  expect(parseAccountUrl("https://FlowLogs.blob.core.chinacloudapi.cn").authority).toBe("https://login.chinacloudapi.cn");
  expect(parseAccountUrl("https://flowlogs.blob.core.usgovcloudapi.net").authority).toBe("https://login.microsoftonline.us");
  expect(parseAccountUrl("https://flowlogs.blob.core.windows.net/?sv=2025-07-05&ss=b&srt=sco&sp=rl&sig=abc%3D")).toEqual({
    url: "https://flowlogs.blob.core.windows.net?sv=2025-07-05&ss=b&srt=sco&sp=rl&sig=abc%3D", sas: true, authority: undefined });
  expect(parseAccountUrl("https://[::1]:10000/devstoreaccount1/").url).toBe("https://[::1]:10000/devstoreaccount1");
  expect(() => parseAccountUrl("https://localhost:10000")).toThrow(/needs the account after the address/);
  expect(() => parseAccountUrl("https://user:pw@flowlogs.blob.core.windows.net")).toThrow(/user name or password/);
  expect(() => parseAccountUrl("https://flowlogs-secondary.queue.core.windows.net")).toThrow(/queue endpoint/);
});

test("usage errors of --account-url exit 2", async () => {
  for (const bad of [
    ["--account-url", azurite.url, "--connection-string", azurite.connectionString],
    ["--account-url", azurite.url.replace("https:", "http:")],
    ["--account-url", "https://flowlogs.dfs.core.windows.net"],
    ["--account-url", "https://flowlogs.blob.core.windows.net/insights-logs-networksecuritygroupflowevent"],
    ["--account-url", "https://flowlogs.blob.core.windows.net/?comp=list"],
    ["--account-url", "not a url"],
  ]) {
    const r = await runCollect([...bad, "--once"], tokens.env(tls));
    expect([bad, r.code]).toEqual([bad, 2]);
    expect(r.stderr).toMatch(/^nsg-flow-ecs collect: .*--account-url/);
  }
  const unknown = await runCollect(["--account-url", azurite.url, "--once"], { ...tokens.env(tls), AZURE_TOKEN_CREDENTIALS: "KerberosCredential" });
  expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining("Invalid value for AZURE_TOKEN_CREDENTIALS")]);
}, 60_000);
