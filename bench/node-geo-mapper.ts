// The baseline for geo and AS context (issue 19): the plain Node mapper (bench/node-mapper.ts)
// plus the maxmind package's reader, as a user would write it — open each database with
// maxmind.open (its own LRU cache of decoded records), look both addresses up in each, and put
// ECS `geo` and `as` into `source` and `destination` by the rules in DEVELOPERS.md ("Geo and AS
// context from MMDB files"): the first database to give a field keeps it, names in English,
// region = the first subdivision. tests/geo/node-geo-mapper.test.ts checks that it writes what the
// core's fragments say.
//
//   node dist/bench/node-geo-mapper.js --geo City.mmdb [--geo ASN.mmdb …] FILE > ecs.ndjson
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import maxmind, { type Reader } from "maxmind";
import { naiveEvent } from "./node-mapper.js";

type Rec = Record<string, any>;

const text = (x: unknown): string | undefined => (typeof x === "string" && x !== "" ? x : undefined);
const isMap = (x: unknown): x is Rec => typeof x === "object" && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
const en = (m: unknown): string | undefined => (isMap(m) && isMap(m.names) ? text(m.names.en) : undefined);
const inRange = (lat: unknown, lon: unknown) =>
  typeof lat === "number" && typeof lon === "number" && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;

/** ECS geo and as for one address from every database's record (null when not found). */
export function ecsGeo(records: (Rec | null)[]): { geo?: Rec; as?: Rec } {
  const g: Record<string, string> = {};
  let location: { lat: number; lon: number } | undefined;
  let asNumber: number | undefined;
  let regionCode: string | undefined;
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && g[k] === undefined) g[k] = v;
  };
  for (const r of records) {
    if (!isMap(r)) continue;
    if (isMap(r.continent)) {
      set("continent_code", text(r.continent.code));
      set("continent_name", en(r.continent));
    }
    if (isMap(r.country)) {
      set("country_iso_code", text(r.country.iso_code));
      set("country_name", en(r.country));
    }
    set("country_iso_code", text(r.country_code));
    const sub = Array.isArray(r.subdivisions) ? r.subdivisions[0] : undefined;
    if (isMap(sub) && g.region_name === undefined && regionCode === undefined) {
      regionCode = text(sub.iso_code);
      set("region_name", en(sub));
    }
    set("region_name", text(r.state1));
    set("city_name", isMap(r.city) ? en(r.city) : text(r.city));
    if (isMap(r.postal)) set("postal_code", text(r.postal.code));
    set("postal_code", text(r.postcode));
    if (isMap(r.location)) {
      set("timezone", text(r.location.time_zone));
      if (!location && inRange(r.location.latitude, r.location.longitude)) location = { lat: r.location.latitude, lon: r.location.longitude };
    }
    set("timezone", text(r.timezone));
    if (!location && inRange(r.latitude, r.longitude)) location = { lat: r.latitude, lon: r.longitude };
    const n = r.autonomous_system_number;
    if (asNumber === undefined && typeof n === "number" && Number.isInteger(n) && n >= 0) asNumber = n;
    set("as_org", text(r.autonomous_system_organization));
  }
  const out: { geo?: Rec; as?: Rec } = {};
  const geo: Rec = {
    continent_code: g.continent_code,
    continent_name: g.continent_name,
    country_iso_code: g.country_iso_code,
    country_name: g.country_name,
    region_iso_code: regionCode !== undefined && g.country_iso_code !== undefined ? `${g.country_iso_code}-${regionCode}` : undefined,
    region_name: g.region_name,
    city_name: g.city_name,
    postal_code: g.postal_code,
    timezone: g.timezone,
    location,
  };
  if (Object.values(geo).some((v) => v !== undefined)) out.geo = geo;
  if (asNumber !== undefined || g.as_org !== undefined) out.as = { number: asNumber, organization: g.as_org === undefined ? undefined : { name: g.as_org } };
  return out;
}

function addContext(side: unknown, readers: Reader<Rec>[]): void {
  if (!isMap(side) || typeof side.ip !== "string") return;
  const ip = side.ip;
  const { geo, as } = ecsGeo(readers.map((r) => r.get(ip)));
  if (geo) side.geo = geo;
  if (as) side.as = as;
}

/** One flattened flow event to one ECS event with geo and as, as a string. */
export function naiveGeoMap(line: string, readers: Reader<Rec>[]): string {
  const e = naiveEvent(line);
  addContext(e.source, readers);
  addContext(e.destination, readers);
  return JSON.stringify(e);
}

/** The databases as a user opens them (maxmind.open: a file read, an LRU cache of records). */
export async function openDatabases(files: string[]): Promise<Reader<Rec>[]> {
  return Promise.all(files.map((f) => maxmind.open<Rec>(f)));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { geo: { type: "string", multiple: true } }, allowPositionals: true });
  if (positionals.length !== 1 || !values.geo?.length) {
    process.stderr.write("usage: node dist/bench/node-geo-mapper.js --geo FILE.mmdb [--geo …] FILE\n");
    process.exit(2);
  }
  const readers = await openDatabases(values.geo);
  const lines = createInterface({ input: createReadStream(positionals[0]!), crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line.trim() !== "") process.stdout.write(naiveGeoMap(line, readers) + "\n");
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
