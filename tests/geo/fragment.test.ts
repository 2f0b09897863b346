// The ECS fragment the core writes for an address (assembly/enrich/geo/fields.ts, write.ts,
// databases.ts, cache.ts): MaxMind's and DB-IP's layouts, ip-location-db's flat ones, several
// databases at once, what is left out, escaping, the cache and the generation, and generated
// records compared with tests/geo/expected.ts on what the maxmind package decodes.
import fc from "fast-check";
import { Reader } from "maxmind";
import { Core } from "./core.js";
import { expectedFragment, parseFragment, expectSameFragment } from "./expected.js";
import { writeMmdb, u16, u32, i32, u64, dbl, flt, MValue, Typed } from "./mmdb-writer.js";

const names = (en: string, extra: Record<string, string> = {}) => ({ de: `${en} (de)`, en, "pt-BR": `${en} (pt)`, ...extra });

/** A GeoLite2-City record, as MaxMind lays it out. */
const montreal: MValue = {
  city: { geoname_id: u32(6077243), names: names("Montréal", { fr: "Montréal" }) },
  continent: { code: "NA", geoname_id: u32(6255149), names: names("North America") },
  country: { geoname_id: u32(6251999), iso_code: "CA", names: names("Canada") },
  location: { accuracy_radius: u16(20), latitude: dbl(45.5088), longitude: dbl(-73.5878), time_zone: "America/Toronto" },
  postal: { code: "H1A" },
  registered_country: { geoname_id: u32(6251999), iso_code: "CA", names: names("Canada") },
  subdivisions: [{ geoname_id: u32(6115047), iso_code: "QC", names: names("Quebec") }, { iso_code: "XX", names: names("Second") }],
};
const asn: MValue = { autonomous_system_number: u32(577), autonomous_system_organization: "BACOM" };

describe("the ECS fragment of an address", () => {
  let core: Core;
  beforeAll(() => {
    core = new Core();
  });
  beforeEach(() => core.clear());

  test("GeoLite2 City + ASN: every ECS field, in order", () => {
    expect(core.add(writeMmdb([["24.200.0.0/13", montreal]], { ipVersion: 6, recordSize: 28, databaseType: "GeoLite2-City", ipv4Aliases: true }))).toBeNull();
    expect(core.add(writeMmdb([["24.200.0.0/14", asn]], { ipVersion: 6, recordSize: 24, databaseType: "GeoLite2-ASN", ipv4Aliases: true }))).toBeNull();
    expect(core.lookup("24.201.2.3")).toBe(
      ',"geo":{"continent_code":"NA","continent_name":"North America","country_iso_code":"CA","country_name":"Canada",' +
      '"region_iso_code":"CA-QC","region_name":"Quebec","city_name":"Montréal","postal_code":"H1A","timezone":"America/Toronto",' +
      '"location":{"lat":45.5088,"lon":-73.5878}},"as":{"number":577,"organization":{"name":"BACOM"}}');
    // Only the City database has 24.204/14; an IPv4-mapped address is the IPv4 address.
    expect(parseFragment(core.lookup("::ffff:24.205.0.1")).as).toBeUndefined();
    expect(parseFragment(core.lookup("::ffff:24.205.0.1")).geo?.city_name).toBe("Montréal");
    expect(core.lookup("10.1.2.3")).toBe("");
    expect(core.lookup("2001:db8::1")).toBe("");
  });

  test("GeoLite2 Country and DB-IP lite City (subdivision without a code)", () => {
    const country: MValue = { continent: { code: "EU", names: names("Europe") }, country: { iso_code: "FR", names: names("France") }, registered_country: { iso_code: "DE", names: names("Germany") } };
    const dbip: MValue = { city: { names: { en: "Lyon" } }, continent: { code: "EU", geoname_id: u32(6255148), names: { en: "Europe" } }, country: { iso_code: "FR", names: { en: "France" } }, location: { latitude: dbl(45.75), longitude: dbl(4.85) }, subdivisions: [{ names: { en: "Auvergne-Rhône-Alpes" } }] };
    expect(core.add(writeMmdb([["2.0.0.0/8", country]], { ipVersion: 6, recordSize: 24, databaseType: "GeoLite2-Country" }))).toBeNull();
    expect(parseFragment(core.lookup("2.3.4.5"))).toEqual({ geo: { continent_code: "EU", continent_name: "Europe", country_iso_code: "FR", country_name: "France" } });
    core.clear();
    expect(core.add(writeMmdb([["2.0.0.0/8", dbip]], { ipVersion: 6, recordSize: 24, databaseType: "DBIP-City-Lite" }))).toBeNull();
    expectSameFragment(parseFragment(core.lookup("2.3.4.5")), { geo: { continent_code: "EU", continent_name: "Europe", country_iso_code: "FR", country_name: "France", region_name: "Auvergne-Rhône-Alpes", city_name: "Lyon", location: { lat: 45.75, lon: 4.85 } } });
  });

  test("ip-location-db flat layouts: city (float coordinates) and ASN", () => {
    const city: MValue = { city: "Montreal", country_code: "CA", latitude: flt(45.5088), longitude: flt(-73.5878), postcode: "H1A", state1: "Quebec", state2: "", timezone: "America/Toronto" };
    expect(core.add(writeMmdb([["24.200.0.0/13", city]], { ipVersion: 6, recordSize: 24, databaseType: "city ipvAll" }))).toBeNull();
    expect(core.add(writeMmdb([["24.0.0.0/8", { autonomous_system_number: u32(5769), autonomous_system_organization: "Videotron Ltee" }]], { ipVersion: 4, recordSize: 24, databaseType: "asn ipv4" }))).toBeNull();
    // A float's shortest digits: 45.5088, not 45.508800506591797.
    expect(core.lookup("24.201.2.3")).toBe(',"geo":{"country_iso_code":"CA","region_name":"Quebec","city_name":"Montreal","postal_code":"H1A","timezone":"America/Toronto","location":{"lat":45.5088,"lon":-73.5878}},"as":{"number":5769,"organization":{"name":"Videotron Ltee"}}');
    expect(core.lookup("24.1.1.1")).toBe(',"as":{"number":5769,"organization":{"name":"Videotron Ltee"}}');
  });

  test("several databases: the first to give a field keeps it, the others fill the rest", () => {
    const country: MValue = { continent: { code: "NA", names: names("North America") }, country: { iso_code: "US", names: names("United States") } };
    const sparseCity: MValue = { country: { iso_code: "CA" }, city: { names: { fr: "only French" } } };
    expect(core.add(writeMmdb([["8.0.0.0/8", sparseCity]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    expect(core.add(writeMmdb([["8.0.0.0/8", country]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    expect(parseFragment(core.lookup("8.8.8.8"))).toEqual({ geo: { continent_code: "NA", continent_name: "North America", country_iso_code: "CA", country_name: "United States" } });
  });

  test("left out: empty strings, values of another type, coordinates out of range or alone, a region code without a country", () => {
    const odd: MValue = {
      country: { names: { en: "" } }, city: { names: { en: u32(5) } }, postal: "not a map",
      location: { latitude: dbl(91), longitude: dbl(0), time_zone: "" }, subdivisions: [{ iso_code: "QC" }],
      autonomous_system_number: i32(-5), autonomous_system_organization: "",
    };
    expect(core.add(writeMmdb([["1.0.0.0/8", odd], ["2.0.0.0/8", { latitude: dbl(10) }], ["3.0.0.0/8", { longitude: dbl(NaN), latitude: dbl(1) }], ["4.0.0.0/8", { a: "b" }], ["5.0.0.0/8", "not a map"]], { ipVersion: 4, recordSize: 24 }))).toBeNull();
    for (const ip of ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"]) expect([ip, core.lookup(ip)]).toEqual([ip, ""]);
  });

  test("strings are escaped, and bytes that are not UTF-8 are replaced: the event stays valid JSON", () => {
    const bad = Buffer.from([0x41, 0xff, 0x42, 0xed, 0xa0, 0x80, 0x43]).toString("latin1");
    const rec: MValue = { city: 'Quote " backslash \\ tab \t nul \u0000 ☃', country_code: "C\"A", autonomous_system_organization: "x" };
    expect(core.add(writeMmdb([["1.0.0.0/8", rec]], { ipVersion: 4, recordSize: 24 }))).toBeNull();
    const parsed = parseFragment(core.lookup("1.2.3.4"));
    expect(parsed).toEqual({ geo: { country_iso_code: "C\"A", city_name: 'Quote " backslash \\ tab \t nul \u0000 ☃' }, as: { organization: { name: "x" } } });
    // The writer encodes JS strings as UTF-8; a file's raw bytes are put in by hand here.
    core.clear();
    const file = writeMmdb([["1.0.0.0/8", { city: "Z".repeat(bad.length) }]], { ipVersion: 4, recordSize: 24 });
    file.set(Buffer.from(bad, "latin1"), file.indexOf("Z".repeat(bad.length)));
    expect(core.add(file)).toBeNull();
    const f = core.lookup("1.2.3.4");
    expect(parseFragment(f)).toEqual({ geo: { city_name: new TextDecoder().decode(Buffer.from(bad, "latin1")) } });
  });

  test("the cache answers repeated addresses, and a new set of databases is never answered from it", () => {
    expect(core.add(writeMmdb([["1.0.0.0/8", { country_code: "AA" }]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    core.x.cache(1);
    const first = core.lookup("1.2.3.4");
    expect(core.lookup("1.2.3.4")).toBe(first);
    // No database has anything in 10.0.0.0/16: the IPv4 tables answer, the cache is not asked.
    expect(core.lookup("10.0.0.1")).toBe("");
    expect(core.lookup("10.0.0.1")).toBe("");
    expect([core.x.hits(), core.x.misses()]).toEqual([1, 1]);
    // Another address of the same network leads to the same record: the records cache answers.
    expect(core.lookup("1.9.9.9")).toBe(first);
    expect([core.x.hits(), core.x.misses(), core.x.recordCacheHits()]).toEqual([1, 2, 1]);
    const g = core.x.currentGeneration();
    core.clear();
    expect(core.add(writeMmdb([["1.0.0.0/8", { country_code: "BB" }], ["10.0.0.0/8", { country_code: "CC" }]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    expect(core.x.currentGeneration()).not.toBe(g);
    expect(core.lookup("1.2.3.4")).toBe(',"geo":{"country_iso_code":"BB"}');
    expect(core.lookup("10.0.0.1")).toBe(',"geo":{"country_iso_code":"CC"}');
    // Off, every lookup walks the tree and gives the same.
    core.x.cache(0);
    expect(core.lookup("1.2.3.4")).toBe(',"geo":{"country_iso_code":"BB"}');
    expect(core.x.hits()).toBe(0);
    core.x.cache(1);
  });

  test("the address cache bypasses itself where addresses hardly repeat, and comes back when they do; answers unchanged", () => {
    const file = writeMmdb(Array.from({ length: 64 }, (_, i): [string, MValue] => [`${i + 1}.0.0.0/8`, { country_code: `C${i}`, city: `City ${i}` }]), { ipVersion: 6, recordSize: 24 });
    expect(core.add(file)).toBeNull();
    const reader = new Reader<Record<string, any>>(file);
    core.x.cache(1);
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    // In the databases' /8s: an address in no database's /16 never reaches the cache.
    const distinct = () => `${1 + (next() >>> 8) % 64}.${(next() >>> 8) & 255}.${(next() >>> 8) & 255}.${(next() >>> 8) & 255}`;
    const check = (ip: string) => expectSameFragment(parseFragment(core.lookup(ip)), expectedFragment([reader.get(ip)]));
    // Distinct addresses: the window's hits are under 5%, the table is bypassed.
    for (let i = 0; i < 5000; i++) check(distinct());
    expect(core.x.bypassed()).toBe(1);
    const hitsBefore = core.x.hits();
    // Then 300 addresses over and over: the sampled lookups find them, the table is used again.
    const busy = Array.from({ length: 300 }, distinct);
    for (let i = 0; i < 60000 && core.x.bypassed() === 1; i++) check(busy[i % busy.length]!);
    expect(core.x.bypassed()).toBe(0);
    for (let i = 0; i < 3000; i++) check(busy[i % busy.length]!);
    expect(core.x.hits() - hitsBefore).toBeGreaterThan(2500);
  });

  /** 16 City records over 20-35/8 (with every field), an ASN record per /16: nearly every
   * address is a new pair, but its City record was met before. */
  function cityAndAsn(): { cityFile: Buffer; asnFile: Buffer } {
    const cityFile = writeMmdb(Array.from({ length: 16 }, (_, i): [string, MValue] => [`${20 + i}.0.0.0/8`, { ...(montreal as Record<string, MValue>), postal: { code: `P${i}` } }]),
      { ipVersion: 6, recordSize: 28, ipv4Aliases: true });
    const asnEntries: [string, MValue][] = [];
    for (let a = 20; a < 36; a++) for (let b = 0; b < 256; b += 2) asnEntries.push([`${a}.${b}.0.0/16`, { autonomous_system_number: u32(a * 256 + b), autonomous_system_organization: `AS ${a}.${b}` }]);
    return { cityFile, asnFile: writeMmdb(asnEntries, { ipVersion: 6, recordSize: 24, ipv4Aliases: true }) };
  }

  test("each record's part is kept: new City + ASN pairs are put together from parts, and give what the maxmind package reads", () => {
    const { cityFile, asnFile } = cityAndAsn();
    // A third database whose records give nothing known: a part with no bytes, in the middle.
    const other = writeMmdb([["20.0.0.0/6", { a: "b" }], ["24.0.0.0/5", { a: "c" }], ["32.0.0.0/6", { a: "d" }]], { ipVersion: 6, recordSize: 24, ipv4Aliases: true });
    expect(core.add(cityFile)).toBeNull();
    expect(core.add(other)).toBeNull();
    expect(core.add(asnFile)).toBeNull();
    const readers = [new Reader<Record<string, any>>(cityFile), new Reader<Record<string, any>>(asnFile)];
    core.x.cache(1);
    const before = core.x.recordCacheHits();
    fc.assert(fc.property(fc.integer({ min: 18, max: 37 }), fc.nat(255), fc.nat(255), fc.nat(255), (a, b, c, d) => {
      const ip = `${a}.${b}.${c}.${d}`;
      expectSameFragment(parseFragment(core.lookup(ip)), expectedFragment(readers.map((r) => r.get(ip))));
    }), { numRuns: 2000 });
    // Only 16 + 2,048 records: most lookups miss the address table and find every part kept.
    expect(core.x.recordCacheHits() - before).toBeGreaterThan(300);
    // Off, the same answers.
    core.x.cache(0);
    for (const ip of ["20.1.2.3", "21.3.4.5", "35.255.1.1"]) expectSameFragment(parseFragment(core.lookup(ip)), expectedFragment(readers.map((r) => r.get(ip))));
    core.x.cache(1);
  });

  test("databases giving the same part (City + Country + ASN) are merged field by field; the first database's records are decoded once", () => {
    const { cityFile, asnFile } = cityAndAsn();
    // The Country file has every /8 the City file has and more, with other names: the City's win.
    const countryFile = writeMmdb(Array.from({ length: 24 }, (_, i): [string, MValue] => [`${16 + i}.0.0.0/8`,
      { continent: { code: "XX", names: names("Elsewhere") }, country: { iso_code: `K${i}`, names: names(`Kountry ${i}`) } }]), { ipVersion: 6, recordSize: 24, ipv4Aliases: true });
    for (const f of [cityFile, countryFile, asnFile]) expect(core.add(f)).toBeNull();
    const readers = [cityFile, countryFile, asnFile].map((f) => new Reader<Record<string, any>>(f));
    core.x.cache(1);
    const before = core.x.firstRecordCacheHits();
    fc.assert(fc.property(fc.integer({ min: 14, max: 41 }), fc.nat(255), fc.nat(255), fc.nat(255), (a, b, c, d) => {
      const ip = `${a}.${b}.${c}.${d}`;
      expectSameFragment(parseFragment(core.lookup(ip)), expectedFragment(readers.map((r) => r.get(ip))));
    }), { numRuns: 2000 });
    expect(core.x.firstRecordCacheHits() - before).toBeGreaterThan(300);
  });

  test("a region code from one database and the country from another: merged, not put side by side", () => {
    expect(core.add(writeMmdb([["8.0.0.0/8", { subdivisions: [{ iso_code: "QC", names: names("Quebec") }] }]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    expect(core.add(writeMmdb([["8.0.0.0/8", { country: { iso_code: "CA" } }]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    core.x.cache(1);
    for (const ip of ["8.8.8.8", "8.8.4.4", "8.8.8.8"]) {
      expect(core.lookup(ip)).toBe(',"geo":{"country_iso_code":"CA","region_iso_code":"CA-QC","region_name":"Quebec"}');
    }
  });

  test("the cache keeps the two most recently used addresses of a set", () => {
    // The set of an address, as cache.ts computes it: its 16 bytes (IPv4 as ::ffff:a.b.c.d) read
    // as two little-endian u64 words, mixed by two multiplications, the top 12 bits.
    const M = (1n << 64n) - 1n;
    const setOf = (ip: string) => {
      const key = Buffer.alloc(16);
      key.writeUInt16BE(0xffff, 10);
      Buffer.from(ip.split(".").map(Number)).copy(key, 12);
      const lo = key.readBigUInt64LE(0);
      const hi = key.readBigUInt64LE(8);
      return Number((((lo ^ ((hi * 0x9e3779b97f4a7c15n) & M)) * 0xff51afd7ed558ccdn) & M) >> 52n);
    };
    const same: string[] = [];
    const target = setOf("1.0.0.1");
    for (let i = 1; same.length < 3 && i < 1 << 20; i++) {
      const ip = `1.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      if (setOf(ip) === target) same.push(ip);
    }
    expect(same).toHaveLength(3);
    const [a, b, c] = same;
    expect(core.add(writeMmdb([["1.0.0.0/8", { country_code: "AA" }]], { ipVersion: 4, recordSize: 24 }))).toBeNull();
    core.x.cache(1);
    const count = () => [core.x.hits(), core.x.misses()];
    core.lookup(a);
    core.lookup(b);
    core.lookup(a);
    expect(count()).toEqual([1, 2]);
    core.lookup(c); // replaces b, the less recently used
    core.lookup(a);
    expect(count()).toEqual([2, 3]);
    core.lookup(b);
    expect(count()).toEqual([2, 4]);
    expect(core.lookup(c)).toBe(',"geo":{"country_iso_code":"AA"}');
    expect(count()).toEqual([2, 5]); // b replaced c (a was used after c)
  });

  test("a database whose record is corrupt gives nothing for that address, is counted, and the others still answer", () => {
    const file = writeMmdb([["1.0.0.0/8", { country_code: "ZZ", city: "Broken" }]], { ipVersion: 4, recordSize: 24 });
    // The city string's size byte now claims more bytes than the data section has.
    const at = file.indexOf("Broken") - 1;
    file[at] = 0x5c;
    expect(core.add(file)).toBeNull();
    expect(core.add(writeMmdb([["1.0.0.0/8", asn]], { ipVersion: 4, recordSize: 24 }))).toBeNull();
    expect(parseFragment(core.lookup("1.2.3.4"))).toEqual({ as: { number: 577, organization: { name: "BACOM" } } });
    expect(core.lookupErrors()).toEqual({ count: 1, last: "database 1: a value runs past the end of its section" });
  });

  test("generated City/Country/ASN-shaped records in one to three databases: what tests/geo/expected.ts says, from what the maxmind package reads", () => {
    const text = fc.oneof(fc.constantFrom("", "CA", "QC", "Montréal", 'a"b'), fc.string({ maxLength: 12 }));
    const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
    const namesArb = fc.dictionary(fc.constantFrom("en", "de", "fr"), text, { maxKeys: 3 });
    const coord = fc.oneof(fc.double({ min: -200, max: 200, noNaN: true }).map(dbl), fc.float({ min: -200, max: 200, noNaN: true }).map(flt), fc.integer({ min: -90, max: 90 }).map((n) => dbl(n)));
    const place = fc.record({ code: maybe(text), iso_code: maybe(text), names: maybe(namesArb) }, { requiredKeys: [] });
    const maxmindShape = fc.record({
      continent: maybe(place), country: maybe(place), city: maybe(fc.oneof(place, text)), postal: maybe(fc.record({ code: text })),
      subdivisions: maybe(fc.array(place, { maxLength: 2 })),
      location: maybe(fc.record({ latitude: maybe(coord), longitude: maybe(coord), time_zone: maybe(text) }, { requiredKeys: [] })),
    }, { requiredKeys: [] });
    const flatShape = fc.record({ country_code: maybe(text), state1: maybe(text), city: maybe(text), postcode: maybe(text), latitude: maybe(coord), longitude: maybe(coord), timezone: maybe(text) }, { requiredKeys: [] });
    const asnShape = fc.record({ autonomous_system_number: maybe(fc.oneof(fc.nat().map(u32), fc.integer({ min: 0, max: 65535 }).map(u16), fc.bigInt({ min: 0n, max: 1n << 40n }).map(u64))), autonomous_system_organization: maybe(text) }, { requiredKeys: [] });
    const record = fc.oneof(maxmindShape, flatShape, asnShape).map(strip);
    const database = fc.record({ ipVersion: fc.constantFrom<4 | 6>(4, 6), recordSize: fc.constantFrom<24 | 28 | 32>(24, 28, 32), records: fc.array(fc.tuple(fc.integer({ min: 1, max: 8 }), record), { minLength: 1, maxLength: 4 }) });
    fc.assert(fc.property(fc.array(database, { minLength: 1, maxLength: 3 }), fc.array(fc.ipV4(), { maxLength: 8 }), (dbs, probes) => {
      core.clear();
      const readers: Reader<any>[] = [];
      const ips = new Set<string>(probes);
      for (const d of dbs) {
        // Networks 1.0.0.0/8 … 8.0.0.0/8, sometimes split, so that databases overlap.
        const entries: [string, MValue][] = d.records.map(([n, r], i) => [i % 2 ? `${n}.0.0.0/8` : `${n}.128.0.0/9`, r]);
        for (const [n] of entries) ips.add(n.replace(/\/.*/, "")).add(n.replace(/\.0\.0\.0\/8|\.128\.0\.0\/9/, ".200.1.1"));
        const file = writeMmdb(entries, { ipVersion: d.ipVersion, recordSize: d.recordSize, ipv4Aliases: true });
        expect(core.add(file)).toBeNull();
        readers.push(new Reader(file));
      }
      for (const ip of ips) {
        const want = expectedFragment(readers.map((r) => r.get(ip)));
        expectSameFragment(parseFragment(core.lookup(ip)), want);
      }
    }), { numRuns: 300 });
  });
});

/** Drops keys whose value is undefined (fc.record's missing fields). */
function strip(v: unknown): MValue {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === "object" && !(v instanceof Typed)) return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, strip(x)]));
  return v as MValue;
}
