// How `collect` signs in to the storage account: a connection string (account key or SAS), an
// account URL carrying a SAS, or an account URL with Microsoft Entra ID through the SDK's
// DefaultAzureCredential; and what each way's authentication failures mean, in words that say
// what to do. An account that forbids shared keys (Azure Policy "Storage accounts should prevent
// shared key access") can only be read the Entra ID way.
import { AzureAuthorityHosts, DefaultAzureCredential, type TokenCredential } from "@azure/identity";

export type StorageAuth =
  | { mode: "connection-string"; connectionString: string }
  | { mode: "sas"; url: string }
  | { mode: "entra"; url: string; credential: TokenCredential };

export type AuthMode = StorageAuth["mode"];

/** What a failure's explanation may depend on besides the error. */
export interface AuthContext {
  mode: AuthMode;
  /** The `--state-container`, whose checkpoints need write access. */
  stateContainer?: string;
}

/** The account URL or the credential settings cannot be used: a usage error. */
export class AuthSetupError extends Error {}

// The blob endpoint's suffix in each Azure cloud, and the Entra ID authority that signs its
// tokens (a client secret, certificate or workload identity must ask that authority).
const CLOUDS: { suffix: string; authority?: string }[] = [
  { suffix: ".blob.core.windows.net" },
  { suffix: ".blob.storage.azure.net" }, // accounts in an Azure DNS zone (`ACCOUNT.zNN.blob.storage.azure.net`)
  { suffix: ".blob.core.chinacloudapi.cn", authority: AzureAuthorityHosts.AzureChina },
  { suffix: ".blob.core.usgovcloudapi.net", authority: AzureAuthorityHosts.AzureGovernment },
];

const OTHER_SERVICE = /^[a-z0-9]+(?:-secondary)?\.(dfs|file|queue|table|web)\.(core\.|storage\.azure\.net)/i;

/** Checks `--account-url`: the account's blob endpoint over HTTPS, at most a SAS as its query.
 * A host that is an IP address or `localhost` (an emulator, Azure Stack Edge) names the account
 * in the path, as the SDK expects: `https://127.0.0.1:10000/ACCOUNT`. */
export function parseAccountUrl(text: string): { url: string; sas: boolean; authority?: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AuthSetupError(`--account-url is not a URL: ${text}`);
  }
  if (url.protocol !== "https:") {
    throw new AuthSetupError("--account-url must be https: a token or a SAS is never sent over plain HTTP");
  }
  if (url.username !== "" || url.password !== "") throw new AuthSetupError("--account-url must not carry a user name or password");
  const service = OTHER_SERVICE.exec(url.hostname);
  if (service) {
    throw new AuthSetupError(`--account-url ${url.hostname} is the account's ${service[1]} endpoint: ` +
      "give its blob endpoint (https://ACCOUNT.blob.core.windows.net)");
  }
  const pathStyle = url.hostname === "localhost" || /^[0-9.]+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname);
  const segments = url.pathname.split("/").filter((s) => s !== "");
  if (segments.length > (pathStyle ? 1 : 0) || (pathStyle && segments.length === 0)) {
    throw new AuthSetupError(pathStyle
      ? `--account-url needs the account after the address (https://${url.host}/ACCOUNT), and nothing after it`
      : `--account-url is the account's URL, without a container or blob (name containers with --container): ${url.origin}`);
  }
  let sas = false;
  if (url.search !== "") {
    if (!url.searchParams.has("sig")) {
      throw new AuthSetupError("--account-url has a query that is not a SAS (no sig=): give the URL alone, or with a whole SAS");
    }
    sas = true;
  }
  const host = url.hostname.toLowerCase();
  return { url: url.href.replace(/\/(\?|$)/, "$1"), sas, authority: CLOUDS.find((c) => host.endsWith(c.suffix))?.authority };
}

/** The way to the account: exactly one of a connection string and an account URL. Without a
 * SAS in the URL, DefaultAzureCredential: environment (client secret or certificate), workload
 * identity, managed identity, Azure CLI and the other developer sign-ins, in the SDK's order;
 * `AZURE_TOKEN_CREDENTIALS` (the SDK's own switch) keeps one of them, or `prod` / `dev`. */
export function storageAuth(source: { connectionString?: string; accountUrl?: string },
  env: NodeJS.ProcessEnv = process.env): StorageAuth {
  if (source.accountUrl === undefined) {
    if (source.connectionString === undefined) throw new AuthSetupError("no storage account");
    return { mode: "connection-string", connectionString: source.connectionString };
  }
  const { url, sas, authority } = parseAccountUrl(source.accountUrl);
  if (sas) return { mode: "sas", url };
  let credential: TokenCredential;
  try {
    // A national cloud's account needs its own authority for a secret, a certificate or a
    // workload identity; AZURE_AUTHORITY_HOST, when set, is the user's and wins.
    credential = new DefaultAzureCredential(authority && !env.AZURE_AUTHORITY_HOST ? { authorityHost: authority } : {});
  } catch (err) {
    // The SDK refuses an AZURE_TOKEN_CREDENTIALS it does not know, naming the values it takes.
    throw new AuthSetupError((err as Error).message);
  }
  return { mode: "entra", url, credential };
}

/** A failure to get a token (no credential available, or Entra ID refused the one there is):
 * raised by the credential before any request reaches the storage account. */
export function isCredentialFailure(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === "AggregateAuthenticationError" || name === "CredentialUnavailableError" ||
    name === "AuthenticationError" || name === "AuthenticationRequiredError";
}

const DOCS = "docs/entra-id.md";

/** What an authentication failure means and what to do about it; undefined when `err` is not
 * one (the caller then describes it as a storage or network failure). */
export function explainAuthFailure(err: unknown, context: AuthContext): string | undefined {
  if (isCredentialFailure(err)) return explainCredentialFailure(err as Error);
  const e = err as { statusCode?: number; code?: string; message?: string; details?: Record<string, unknown> };
  if (e.statusCode !== 401 && e.statusCode !== 403) return undefined;
  const code = e.code ?? "";
  const head = `HTTP ${e.statusCode} ${code}`.trim();
  const detail = authenticationDetail(e);
  if (code === "KeyBasedAuthenticationNotPermitted") {
    return `the storage account does not allow shared key authorization (${head}: its allowSharedKeyAccess is ` +
      "false, as the Azure Policy \"Storage accounts should prevent shared key access\" sets): account keys and SAS " +
      `signed with them are refused; use --account-url https://ACCOUNT.blob.core.windows.net with Microsoft Entra ID (${DOCS})`;
  }
  // The service's answer when its firewall keeps a client out; also what a wrong key or SAS
  // signature gets (from Azurite always), so with those it is named after them.
  const firewall = "its firewall (public network access from selected networks only, or disabled) does not let this " +
    "machine's network in; allow it, or reach the account through its private endpoint";
  if (context.mode === "entra") {
    if (code === "AuthorizationFailure") return `the storage account refused this client (${head}): most often ${firewall}`;
    if (code === "AuthorizationPermissionMismatch") {
      const state = context.stateContainer === undefined ? ""
        : ` and "Storage Blob Data Contributor" on the state container ${context.stateContainer}`;
      return `the identity may not do this (${head}): it needs the data-plane role "Storage Blob Data Reader" on the ` +
        `flow-log containers (or the account)${state}; Owner or Contributor of the account does not give it, and a new ` +
        `role assignment takes up to 10 minutes to apply (${DOCS})`;
    }
    if (/audience/i.test(detail)) {
      return `the storage account refused the token (${head}: ${detail}): it was issued for another resource than ` +
        "Azure Storage (https://storage.azure.com); check what issues it (a proxy in front of the managed identity " +
        "endpoint, a custom token source)";
    }
    if (/issuer|tenant/i.test(detail)) {
      return `the storage account refused the token (${head}: ${detail}): it comes from another tenant than the ` +
        "account's; set AZURE_TENANT_ID to the storage account's tenant";
    }
    if (/lifetime|expired/i.test(detail)) {
      return `the storage account refused the token (${head}: ${detail}): check this machine's clock`;
    }
    return `the storage account refused the token (${head}${detail ? `: ${detail}` : ""}) (${DOCS})`;
  }
  const orFirewall = code === "AuthorizationFailure" ? `; if they are right, ${firewall}` : "";
  if (context.mode === "sas") {
    return `authentication failed (${head}): check the SAS in --account-url (expiry, permissions: list and read on ` +
      `the flow-log containers; read, write and create on a state container)${orFirewall}`;
  }
  return `authentication failed (${head}): check the connection string's account key or ` +
    `SAS (expiry, permissions: list and read on the flow-log containers; read, write and create on a state container)${orFirewall}`;
}

/** The service's AuthenticationErrorDetail when it sent one (why a token was refused). */
function authenticationDetail(e: { message?: string; details?: Record<string, unknown> }): string {
  const details = e.details ?? {};
  for (const [key, value] of Object.entries(details)) {
    if (/^authenticationerrordetail$/i.test(key) && typeof value === "string") return firstLine(value);
  }
  const m = /AuthenticationErrorDetail:?\s*(.+)/i.exec(e.message ?? "");
  return m ? firstLine(m[1]) : "";
}

/** The SDK's message for a failed sign-in, shortened to what a user acts on: for each credential
 * of the chain tried, its name and the first sentence of why it could not give a token. */
function explainCredentialFailure(err: Error & { errors?: unknown[]; statusCode?: number;
  errorResponse?: { error?: string; errorDescription?: string } }): string {
  if (err.name === "AuthenticationError") {
    const why = firstLine(err.errorResponse?.errorDescription ?? err.message);
    return `Microsoft Entra ID refused the sign-in (HTTP ${err.statusCode ?? "?"} ${err.errorResponse?.error ?? ""}`.trimEnd() +
      `): ${why}; check the client id, tenant and secret or certificate (${DOCS})`;
  }
  const reasons = (err.errors ?? [err]).map((e) => shortReason(e as Error));
  return `no Microsoft Entra ID credential could give a token; tried ${reasons.join("; ")}. ` +
    `Set one up (${DOCS}) or give --connection-string`;
}

// The chain's credentials, told from their messages (not all of them start with their name).
const CHAIN: [RegExp, string, string?][] = [
  [/^EnvironmentCredential\b/, "EnvironmentCredential",
    "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH are not all set"],
  [/Visual Studio Code/i, "VisualStudioCodeCredential"],
  [/Azure Developer CLI/i, "AzureDeveloperCliCredential"],
  [/Azure CLI/i, "AzureCliCredential"],
  [/PowerShell/i, "AzurePowerShellCredential"],
  [/^([A-Za-z]+Credential)\b/, ""],
];

function shortReason(err: Error): string {
  let text = (err?.message ?? String(err)).replace(/\s+/g, " ").trim().replace(/^(Error|CredentialUnavailableError): /, "");
  // Links to troubleshooting pages and "To troubleshoot…" tails say nothing to act on here.
  text = text.replace(/\s*(To troubleshoot|To mitigate|See the troubleshooting|For more information)[^]*$/i, "")
    .replace(/\s*https?:\/\/\S+/g, "");
  const known = CHAIN.find(([pattern]) => pattern.test(text));
  if (!known) return sentence(text, 160);
  const name = known[1] || /^([A-Za-z]+Credential)/.exec(text)![1];
  // MSAL's managed identity errors carry the endpoint's answer deep in a longer text.
  const answer = /Http status code: (\d+)(?: Http status message: (.*?)(?: Headers:|$))?/.exec(text);
  if (answer) return `${name}: the managed identity endpoint answered HTTP ${answer[1]}${answer[2] ? ` (${answer[2].trim()})` : ""}`;
  const reason = known[2] ?? sentence(text.replace(/^[A-Za-z]+Credential( - [^:]+)?:?\s*(is unavailable\.?\s*)?/, ""), 160);
  return `${name}: ${reason || "unavailable"}`;
}

/** The first sentence, cut to `max` characters. */
function sentence(text: string, max: number): string {
  const end = text.search(/\.\s/);
  const first = (end < 0 ? text : text.slice(0, end)).replace(/\.$/, "");
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}
