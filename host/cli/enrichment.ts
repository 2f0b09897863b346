// The options that load enrichment data, shared by the map command and `collect`: the same
// flags, parsed and checked the same way, into the library's MapOptions.
import type { MapOptions } from "../transform/loader.js";
import { UsageError } from "./usage.js";

export const ENRICHMENT_OPTIONS = {
  indicators: { arg: "NAME=FILE", multiple: true, help: "match every event's source.ip and destination.ip against the indicator set in FILE (a list of addresses and CIDRs, Tor's exit-addresses, or a STIX 2.1 bundle); a matching event gets threat.enrichments naming NAME as the provider" },
  geo: { arg: "FILE", multiple: true, help: "look every event's source.ip and destination.ip up in this MaxMind DB (.mmdb) file: GeoLite2/GeoIP2 or DB-IP City, Country or ASN, or ip-location-db; a found address gets source.geo/source.as (destination.*); repeat for several (typically City and ASN), the first to give a field keeps it" },
} as const;

/** The sets and databases the flags name. `flatten`: the raw events are written, so none apply. */
export function parseEnrichment(values: { indicators?: string[]; geo?: string[] }, flatten: boolean): Pick<MapOptions, "indicators" | "geo"> {
  const sets: { name: string; path: string }[] = [];
  for (const given of values.indicators ?? []) {
    const eq = given.indexOf("=");
    if (eq <= 0 || eq === given.length - 1) throw new UsageError("--indicators needs NAME=FILE");
    const name = given.slice(0, eq);
    if (sets.some((s) => s.name === name)) throw new UsageError(`--indicators ${name} is given twice`);
    sets.push({ name, path: given.slice(eq + 1) });
  }
  const geo = values.geo ?? [];
  if (flatten && sets.length > 0) throw new UsageError("--flatten writes the raw events: --indicators does not apply");
  if (flatten && geo.length > 0) throw new UsageError("--flatten writes the raw events: --geo does not apply");
  const options: Pick<MapOptions, "indicators" | "geo"> = {};
  if (sets.length > 0) options.indicators = sets;
  if (geo.length > 0) options.geo = geo;
  return options;
}
