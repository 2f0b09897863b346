// What the commands say on stderr about the data a transform loaded (indicator sets, geo
// databases): one wording for the map command and `collect`, which both print it at start-up.
import type { GeoDatabaseInfo, IndicatorReport } from "./loader.js";

const count = (n: number): string => n.toLocaleString("en-US");

/** `indicators NAME: N loaded, M skipped (…)`, then the first bad lines or objects. */
export function indicatorSummary(r: IndicatorReport, command = "nsg-flow-ecs"): string {
  const parts = ([["invalid", r.invalid], ["duplicate", r.duplicates], ["expired", r.expired], ["revoked", r.revoked],
    ["with another kind of pattern", r.unsupported]] as const).filter(([, n]) => n > 0).map(([what, n]) => `${count(n)} ${what}`);
  const skipped = r.invalid + r.duplicates + r.expired + r.revoked + r.unsupported;
  let text = `${command}: indicators ${r.name}: ${count(r.loaded)} loaded, ${count(skipped)} skipped${parts.length ? ` (${parts.join(", ")})` : ""}\n`;
  for (const e of r.errors) {
    text += `${command}: indicators ${r.name}: ${e.line !== undefined ? `line ${e.line}` : `object ${e.index}`}: ${e.reason}: ${JSON.stringify(e.text)}\n`;
  }
  return text;
}

/** What the end-of-run lines add when geo lookups met a corrupt database record: nothing when
 * none did (the usual case), so a line that says it is one to read. */
export function geoFaultsPart(faults: number | undefined): string {
  if (!faults) return "";
  return `${count(faults)} geo lookup fault${faults === 1 ? "" : "s"} (a corrupt database record: no geo for ${faults === 1 ? "that address" : "those addresses"}), `;
}

/** `geo FILE: TYPE, built YYYY-MM-DD, IPv6, N nodes`: which file answers, and how current it is
 * (MaxMind's licence asks for its updates to be applied). */
export function geoSummary(db: GeoDatabaseInfo, command = "nsg-flow-ecs"): string {
  const built = new Date(db.build_epoch * 1000).toISOString().slice(0, 10);
  const name = db.file.split(/[\\/]/).pop();
  return `${command}: geo ${name}: ${db.database_type}, built ${built}, IPv${db.ip_version}, ${count(db.node_count)} nodes\n`;
}
