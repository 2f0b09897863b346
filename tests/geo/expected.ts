// What the ECS geo/as fragment of an address should be, from the records the maxmind package
// decodes for it in each database (in the order given), written apart from the core from the
// rules in DEVELOPERS.md ("Geo and AS context"): the first database to give a field keeps it;
// names in English; region = the first subdivision; strings must be non-empty.
type Rec = Record<string, any> | null;

const str = (x: unknown): string | undefined => typeof x === "string" && x !== "" ? x : undefined;
const isMap = (x: unknown): x is Record<string, any> => typeof x === "object" && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
const member = (m: unknown, k: string): unknown => isMap(m) ? m[k] : undefined;
const english = (m: unknown) => str(member(member(m, "names"), "en"));
const coordinate = (x: unknown): number | undefined => typeof x === "number" ? x : undefined;

export interface Expected {
  geo?: Record<string, unknown>;
  as?: Record<string, unknown>;
}

export function expectedFragment(records: Rec[]): Expected {
  const f: Record<string, string | undefined> = {};
  let location: { lat: number; lon: number } | undefined;
  let asNumber: number | undefined;
  const take = (k: string, v: string | undefined) => { if (f[k] === undefined && v !== undefined) f[k] = v; };
  const takeLocation = (lat: unknown, lon: unknown) => {
    const a = coordinate(lat);
    const o = coordinate(lon);
    if (location || a === undefined || o === undefined) return;
    if (a >= -90 && a <= 90 && o >= -180 && o <= 180) location = { lat: a, lon: o };
  };
  for (const r of records) {
    if (!isMap(r)) continue;
    // Keys are read in the record's order, as they come in the file.
    let flatLat: unknown;
    let flatLon: unknown;
    for (const [k, v] of Object.entries(r)) {
      switch (k) {
        case "continent": take("continent_code", str(member(v, "code"))); take("continent_name", english(v)); break;
        case "country": take("country_iso_code", str(member(v, "iso_code"))); take("country_name", english(v)); break;
        case "subdivisions":
          if (Array.isArray(v) && v.length > 0 && f.region_name === undefined && f.region_iso === undefined) {
            take("region_iso", str(member(v[0], "iso_code")));
            take("region_name", english(v[0]));
          }
          break;
        case "city": take("city_name", isMap(v) ? english(v) : str(v)); break;
        case "postal": take("postal_code", str(member(v, "code"))); break;
        case "location":
          take("timezone", str(member(v, "time_zone")));
          if (member(v, "latitude") !== undefined) takeLocation(member(v, "latitude"), member(v, "longitude"));
          break;
        case "country_code": take("country_iso_code", str(v)); break;
        case "state1": take("region_name", str(v)); break;
        case "postcode": take("postal_code", str(v)); break;
        case "timezone": take("timezone", str(v)); break;
        case "latitude": flatLat = v; break;
        case "longitude": flatLon = v; break;
        case "autonomous_system_number":
          if (asNumber === undefined) {
            if (typeof v === "number" && Number.isInteger(v) && v >= 0) asNumber = v;
            if (typeof v === "bigint" && v < 2n ** 63n) asNumber = Number(v);
          }
          break;
        case "autonomous_system_organization": take("as_org", str(v)); break;
      }
    }
    takeLocation(flatLat, flatLon);
  }
  const out: Expected = {};
  const geo: Record<string, unknown> = {};
  for (const k of ["continent_code", "continent_name", "country_iso_code", "country_name"]) if (f[k] !== undefined) geo[k] = f[k];
  if (f.region_iso !== undefined && f.country_iso_code !== undefined) geo.region_iso_code = `${f.country_iso_code}-${f.region_iso}`;
  for (const k of ["region_name", "city_name", "postal_code", "timezone"]) if (f[k] !== undefined) geo[k] = f[k];
  if (location) geo.location = location;
  if (Object.keys(geo).length) out.geo = geo;
  if (asNumber !== undefined || f.as_org !== undefined) {
    out.as = {};
    if (asNumber !== undefined) out.as.number = asNumber;
    if (f.as_org !== undefined) out.as.organization = { name: f.as_org };
  }
  return out;
}

/** The core's fragment (",\"geo\":{…},\"as\":{…}" or "") as an object, keys in its order. */
export function parseFragment(fragment: string): Expected {
  if (fragment === "") return {};
  expect(fragment.startsWith(",")).toBe(true);
  return JSON.parse(`{${fragment.slice(1)}}`);
}

/** Compares, key order included; a coordinate read from a 32-bit float is printed with a
 * float's shortest digits, which read back as that float. */
export function expectSameFragment(got: Expected, want: Expected): void {
  const g = got.geo?.location as { lat: number; lon: number } | undefined;
  const w = want.geo?.location as { lat: number; lon: number } | undefined;
  if (g && w) {
    for (const k of ["lat", "lon"] as const) if (g[k] !== w[k] && Math.fround(g[k]) === w[k]) g[k] = w[k];
  }
  expect(JSON.stringify(got)).toBe(JSON.stringify(want));
}
