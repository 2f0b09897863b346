// Geo and AS context end to end (issue 19): generated events × a generated City and ASN database
// through the CLI and the library, every event's source/destination geo and as compared with what
// the maxmind package reads for its final addresses (tests/geo/expected.ts); both profiles; the
// event without a hit byte for byte as without --geo; indicators and geo at once; the real
// ip-location-db file; files that cannot be used.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Reader } from "maxmind";
import { FlowPool, FlowTransform, GeoError } from "../../host/index.js";
import { expectedFragment, expectSameFragment } from "./expected.js";
import { event as anyEvent, wrapped as anyWrapped } from "../generators.js";
import { writeMmdb, u16, u32, dbl, type MValue } from "./mmdb-writer.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/host/cli.js");
const dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-geo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input: string) {
  const r = spawnSync("node", [cli, ...args], { cwd: root, input, encoding: "utf8", maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A City file of a few thousand networks (/16s under 20-59/8 and /32s under 2a00::/12) in
// MaxMind's layout, with records of every shape: full, without subdivision, without location.
const names = (en: string) => ({ de: `${en} (de)`, en, ja: `${en} (ja)` });
function cityRecord(i: number): MValue {
  const r: Record<string, MValue> = {
    city: { geoname_id: u32(1000 + i), names: names(`City ${i}`) },
    continent: { code: "EU", geoname_id: u32(6255148), names: names("Europe") },
    country: { geoname_id: u32(i % 7), iso_code: ["FR", "DE", "ES", "IT", "NL", "BE", "PL"][i % 7], names: names(`Country ${i % 7}`) },
    registered_country: { iso_code: "US", names: names("United States") },
  };
  if (i % 3 !== 0) r.subdivisions = [{ iso_code: `R${i % 13}`, names: names(`Region ${i % 13}`) }];
  if (i % 5 !== 0) r.location = { accuracy_radius: u16(50), latitude: dbl(40 + (i % 100) / 7), longitude: dbl(-5 + (i % 90) / 3), time_zone: "Europe/Paris" };
  if (i % 4 === 0) r.postal = { code: `${10000 + i}` };
  return r;
}
const cityEntries: [string, MValue][] = [];
for (let a = 20; a < 60; a++) for (let b = 0; b < 256; b += 3) cityEntries.push([`${a}.${b}.0.0/16`, cityRecord(a * 256 + b)]);
for (let x = 0; x < 4096; x += 5) cityEntries.push([`2a00:${x.toString(16)}::/32`, cityRecord(x)]);
const asnEntries: [string, MValue][] = [];
for (let a = 20; a < 60; a += 2) asnEntries.push([`${a}.0.0.0/8`, { autonomous_system_number: u32(64500 + a), autonomous_system_organization: `Operator "${a}" AS` }]);
asnEntries.push(["2a00::/16", { autonomous_system_number: u32(3320), autonomous_system_organization: "Deutsche Telekom AG" }]);

const cityFile = writeMmdb(cityEntries, { ipVersion: 6, recordSize: 28, databaseType: "GeoLite2-City", ipv4Aliases: true });
const asnFile = writeMmdb(asnEntries, { ipVersion: 6, recordSize: 24, databaseType: "GeoLite2-ASN", ipv4Aliases: true });
const cityPath = join(dir, "GeoLite2-City.mmdb");
const asnPath = join(dir, "GeoLite2-ASN.mmdb");
writeFileSync(cityPath, cityFile);
writeFileSync(asnPath, asnFile);
const city = new Reader<Record<string, unknown>>(cityFile);
const asn = new Reader<Record<string, unknown>>(asnFile);

const address = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 18, max: 61 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join(".")) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(255), fc.nat(255)).map(([c, d]) => `10.0.${c}.${d}`) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0x1fff }), fc.nat(0xffff)).map(([x, y]) => `2a00:${x.toString(16)}::${y.toString(16)}`) },
  // IPv6 in no database's /16 (the core does not parse them whole), beside ones that are, and
  // IPv4-mapped ones (looked up as IPv4).
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("fd00", "2a01", "2001", "FD12", "2a0", "2"), fc.nat(0xffff)).map(([x, y]) => `${x}:db8::${y.toString(16)}`) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 18, max: 61 }), fc.nat(255)).map(([a, b]) => `::ffff:${a}.${b}.1.2`) },
);
// The NSG overrides: an address, or any text (which is no IP: no lookup).
const override = fc.option(fc.oneof(address, fc.constantFrom("not-an-ip", "1.2.3", "::zz")), { nil: undefined, freq: 4 });
const events = fc.sample(fc.tuple(address, address, override, override, fc.boolean()), 600).map(([s, d, so, dO, inbound]) => {
  const raw: Record<string, unknown> = { time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r",
    "flow.0": `1764583200,${s},${d},443,55000,T,${inbound ? "I" : "O"},A,B,1,2,3,4` };
  if (so !== undefined) raw.source_addr = so;
  if (dO !== undefined) raw.destination_addr = dO;
  return JSON.stringify(raw);
});
const input = events.join("\n") + "\n";

type Side = { ip?: string; geo?: unknown; as?: unknown };
type Event = { source?: Side; destination?: Side; threat?: unknown };

/** Each event's geo and as are those the maxmind package reads for its final addresses. */
function checkEvents(lines: string[], readers: Reader<Record<string, unknown>>[] = [city, asn]): number {
  let found = 0;
  for (const line of lines) {
    const e = JSON.parse(line) as Event;
    for (const side of [e.source, e.destination]) {
      if (!side) continue;
      // No `ip` (an override that is no IP), or not a strict address (`01.2.3.4`, which some
      // parsers read as octal; `fe80::1%eth0`, which node:net's isIP takes with its zone): no
      // lookup, nothing added (DEVELOPERS.md).
      const want = side.ip === undefined || isIP(side.ip) === 0 || side.ip.includes("%") ? {} : expectedFragment(readers.map((r) => r.get(side.ip!)));
      const got = JSON.parse(JSON.stringify({ geo: side.geo, as: side.as }));
      expectSameFragment(got, want);
      if (side.geo || side.as) found++;
    }
  }
  return found;
}

/** The line without its geo and as members, as JSON text. */
function withoutGeo(line: string): string {
  const e = JSON.parse(line) as Event;
  for (const side of [e.source, e.destination]) {
    if (!side) continue;
    delete side.geo;
    delete side.as;
  }
  return JSON.stringify(e);
}

describe.each(["sekoia", "ecs"])("--profile %s", (profile) => {
  test("every event's source/destination geo and as are the maxmind package's; nothing else changes", () => {
    const plain = run(["--profile", profile, "--threads", "1"], input);
    const geo = run(["--profile", profile, "--threads", "1", "--geo", cityPath, "--geo", asnPath], input);
    expect(geo.status).toBe(0);
    const lines = geo.stdout.trim().split("\n");
    const plainLines = plain.stdout.trim().split("\n");
    expect(lines).toHaveLength(events.length);
    expect(checkEvents(lines)).toBeGreaterThan(events.length / 2);
    let untouched = 0;
    lines.forEach((line, i) => {
      if (!line.includes('"geo":{') && !line.includes('"as":{')) {
        // No hit: the same bytes as without --geo.
        expect(line).toBe(plainLines[i]);
        untouched++;
      } else {
        expect(withoutGeo(line)).toBe(JSON.stringify(JSON.parse(plainLines[i])));
      }
    });
    expect(untouched).toBeGreaterThan(10);
    // One line per database, then the usual summary.
    const err = geo.stderr.split("\n");
    const built = city.metadata.buildEpoch.toISOString().slice(0, 10);
    expect(err[0]).toBe(`nsg-flow-ecs: geo GeoLite2-City.mmdb: GeoLite2-City, built ${built}, IPv6, ${city.metadata.nodeCount.toLocaleString("en-US")} nodes`);
    expect(err[1]).toMatch(/^nsg-flow-ecs: geo GeoLite2-ASN\.mmdb: GeoLite2-ASN, built \d{4}-\d\d-\d\d, IPv6, [\d,]+ nodes$/);
    expect(err[2]).toMatch(/^nsg-flow-ecs: 600 records, 0 errors, \d+ records\/s/);
  });
});

test("the library: bytes or paths, FlowTransform and a FlowPool's worker threads, the databases described", async () => {
  const cliLines = run(["--threads", "1", "--geo", cityPath, "--geo", asnPath], input).stdout;
  const t = FlowTransform.fromFile(undefined, { geo: [cityFile, asnFile] });
  expect(t.geoDatabases.map(({ file, database_type, ip_version, node_count, record_size, bytes }) => [file, database_type, ip_version, node_count, record_size, bytes]))
    .toEqual([["bytes #1", "GeoLite2-City", 6, city.metadata.nodeCount, 28, cityFile.length], ["bytes #2", "GeoLite2-ASN", 6, asn.metadata.nodeCount, 24, asnFile.length]]);
  expect(t.geoDatabases[0].build_epoch * 1000).toBe(city.metadata.buildEpoch.getTime());
  const out = Buffer.concat([t.push(Buffer.from(input)).output, t.end().output]).toString();
  expect(out).toBe(cliLines);
  // After a trap the module is made again and the databases opened again: the batch is redone
  // record by record with the same output. (The trap is simulated: the next feed throws.)
  const inner = t as unknown as { exports: Record<string, unknown> };
  const broken = { ...inner.exports, ndjson_feed: () => { throw new WebAssembly.RuntimeError("unreachable"); } };
  inner.exports = broken;
  const again = Buffer.concat([t.push(Buffer.from(input)).output, t.end().output]).toString();
  expect(t.traps).toBe(1);
  expect(inner.exports).not.toBe(broken);
  expect(again).toBe(cliLines);
  // Each record alone too (map_one), and the pool's threads, which open the files themselves.
  expect(events.slice(0, 50).map((e) => t.mapRecord(e) + "\n").join("")).toBe(cliLines.split("\n").slice(0, 50).map((l) => l + "\n").join(""));
  const pool = new FlowPool({ threads: 2, parallelFrom: 1, transformOptions: { geo: [cityPath, asnPath] } });
  try {
    const chunks: Buffer[] = [];
    for await (const c of pool.transformInput((async function* () { yield Buffer.from(input); })())) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).toString()).toBe(cliLines);
  } finally {
    await pool.close();
  }
});

test("indicators and geo at once: both on the same event, the matched count from the core", () => {
  // Every third event's source becomes an indicator (through its final address).
  const picked = events.map((e) => JSON.parse(e) as Record<string, string>).filter((_, i) => i % 3 === 0)
    .map((e) => e.source_addr ?? e["flow.0"].split(",")[1]).filter((a) => isIP(a) !== 0);
  const list = join(dir, "list.txt");
  writeFileSync(list, [...new Set(picked)].join("\n") + "\n");
  const r = run(["--threads", "1", "--indicators", `mine=${list}`, "--geo", cityPath, "--geo", asnPath], input);
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split("\n");
  checkEvents(lines);
  const matched = lines.filter((l) => (JSON.parse(l) as Event).threat !== undefined).length;
  expect(matched).toBeGreaterThan(100);
  expect(lines.filter((l) => { const e = JSON.parse(l) as Event; return e.threat && e.source?.geo; }).length).toBeGreaterThan(10);
  expect(r.stderr).toMatch(new RegExp(`^nsg-flow-ecs: ${events.length} records, 0 errors, ${matched} matching indicators, `, "m"));
  // Without geo the threat members are the same.
  const threatOnly = run(["--threads", "1", "--indicators", `mine=${list}`], input).stdout.trim().split("\n");
  lines.forEach((l, i) => expect(withoutGeo(l)).toBe(JSON.stringify(JSON.parse(threatOnly[i]))));
});

test("the real ip-location-db file end to end through the CLI: each country is the maxmind package's", () => {
  const pkg = dirname(createRequire(import.meta.url).resolve("@ip-location-db/geo-whois-asn-country-mmdb/package.json"));
  const path = join(pkg, "geo-whois-asn-country.mmdb");
  const reader = new Reader<Record<string, unknown>>(readFileSync(path));
  const ips = fc.sample(fc.oneof(fc.ipV4(), fc.constantFrom("8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "2a00:1450:4007::1")), 400);
  const lines = ips.map((ip, i) => JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r",
    "flow.0": `1764583200,${ip},${ips[(i + 1) % ips.length]},443,55000,T,I,A` }));
  const r = run(["--threads", "1", "--geo", path], lines.join("\n") + "\n");
  expect(r.status).toBe(0);
  expect(r.stderr.split("\n")[0]).toMatch(/^nsg-flow-ecs: geo geo-whois-asn-country\.mmdb: .+, built \d{4}-\d\d-\d\d, IPv6, [\d,]+ nodes$/);
  let found = 0;
  for (const line of r.stdout.trim().split("\n")) {
    const e = JSON.parse(line) as Event;
    for (const side of [e.source!, e.destination!]) {
      expectSameFragment(JSON.parse(JSON.stringify({ geo: side.geo, as: side.as })), expectedFragment([reader.get(side.ip!)]));
      if (side.geo) found++;
    }
  }
  expect(found).toBeGreaterThan(200);
});

test("a file that cannot be used: exit 2 with the file and the reason, nothing mapped; the library throws GeoError", () => {
  const garbage = join(dir, "garbage.mmdb");
  writeFileSync(garbage, Buffer.from("this is not a MaxMind DB file\n".repeat(100)));
  const truncated = join(dir, "truncated.mmdb");
  writeFileSync(truncated, cityFile.subarray(0, cityFile.length >> 1));
  const cut = join(dir, "cut-tree.mmdb");
  // The metadata kept, the search tree cut short.
  const meta = cityFile.lastIndexOf(Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from("MaxMind.com")]));
  writeFileSync(cut, Buffer.concat([cityFile.subarray(0, 1000), cityFile.subarray(meta)]));
  const cases: [string, RegExp][] = [
    [join(dir, "missing.mmdb"), /^nsg-flow-ecs: geo .*missing\.mmdb: cannot read it: ENOENT/],
    [garbage, /^nsg-flow-ecs: geo .*garbage\.mmdb: .*metadata/i],
    [truncated, /^nsg-flow-ecs: geo .*truncated\.mmdb: .+/],
    [cut, /^nsg-flow-ecs: geo .*cut-tree\.mmdb: .*tree/i],
  ];
  for (const [file, message] of cases) {
    const r = run(["--geo", cityPath, "--geo", file], input);
    expect([file, r.status]).toEqual([file, 2]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect(r.stdout).toBe("");
  }
  expect(() => FlowTransform.fromFile(undefined, { geo: [cityFile, readFileSync(garbage)] })).toThrow(GeoError);
  try {
    FlowTransform.fromFile(undefined, { geo: [readFileSync(cut)] });
  } catch (err) {
    expect(err).toBeInstanceOf(GeoError);
    expect((err as GeoError).file).toBe("bytes #1");
    expect((err as GeoError).reason).toMatch(/tree/i);
  }
  expect(() => FlowTransform.fromFile(undefined, { geo: "x" as unknown as string[] })).toThrow(TypeError);
  for (const args of [["--geo"], ["--flatten", "--geo", cityPath]]) expect(run(args, input).status).toBe(2);
});

test("a database corrupt where an address leads: that address gets nothing, the event is mapped, the fault is counted", async () => {
  const file = Buffer.from(writeMmdb([["1.0.0.0/8", { country_code: "AA" }], ["2.0.0.0/8", { country_code: "BB" }]], { ipVersion: 4, recordSize: 24 }));
  const n = new Reader(file).metadata.nodeCount;
  // Every tree record that leads to 1.0.0.0/8's data now points past the data section.
  const good = new Reader<Record<string, unknown>>(file);
  expect(good.get("1.2.3.4")).toEqual({ country_code: "AA" });
  let bits = 0, node = 0;
  const addr = [1, 2, 3, 4];
  while (node < n) {
    const bit = (addr[bits >> 3]! >> (7 - (bits & 7))) & 1;
    const at = node * 6 + bit * 3;
    const v = file.readUIntBE(at, 3);
    if (v > n) file.writeUIntBE(0xffffff, at, 3);
    node = v;
    bits++;
  }
  const t = FlowTransform.fromFile(undefined, { geo: [file] });
  const line = (src: string) => JSON.parse(t.mapRecord(JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r", "flow.0": `1764583200,${src},2.2.2.2,443,55000,T,I,A` }))) as Event;
  const e = line("1.2.3.4");
  expect(e.source?.geo).toBeUndefined();
  expect(e.destination?.geo).toEqual({ country_iso_code: "BB" });
  const stats = t.geoStats();
  expect(stats.lookupErrors).toBe(1);
  expect(stats.lastLookupError).toMatch(/database 1: .*past the end of the data section/);
  // Two lookups, neither answered by the cache; the same address again is.
  expect([stats.cacheHits, stats.cacheMisses]).toEqual([0, 2]);
  line("1.2.3.4");
  expect(t.geoStats().cacheHits).toBe(2);

  // The commands say so at the end (the exit status stays 0: every event was mapped).
  const corrupt = join(dir, "corrupt-record.mmdb");
  writeFileSync(corrupt, file);
  const flow = (src: string) => JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r", "flow.0": `1764583200,${src},2.2.2.2,443,55000,T,I,A` });
  const input = `${flow("1.2.3.4")}\n${flow("2.3.4.5")}\n`;
  for (const threads of ["1", "2"]) {
    const r = run(["--geo", corrupt, "--threads", threads], input);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(/^nsg-flow-ecs: 2 records, 0 errors, 1 geo lookup fault \(a corrupt database record: no geo for that address\), \d+ records\/s/m);
  }
  const clean = run(["--geo", corrupt], `${flow("2.3.4.5")}\n`);
  expect(clean.stderr).toMatch(/^nsg-flow-ecs: 1 records, 0 errors, \d+ records\/s/m);

  // Through worker threads: each thread's instance counts its own, the pool adds them up.
  const many = Array.from({ length: 3000 }, (_, i) => flow(`1.${i >> 8}.${i & 255}.1`)).join("\n") + "\n";
  const pool = new FlowPool({ threads: 2, parallelFrom: 0, jobBytes: 16384, transformOptions: { geo: [file] } });
  try {
    await pool.warm();
    const totals = { records: 0, errors: 0, geoFaults: 0 };
    async function* source() { yield Buffer.from(many); }
    for await (const out of pool.transformInput(source(), totals, {})) expect(out.length).toBeGreaterThan(0);
    expect(totals).toEqual({ records: 3000, errors: 0, geoFaults: 3000 });
  } finally {
    await pool.close();
  }
});

// Every address somewhere, so that most generated addresses are found.
const worldFile = writeMmdb([["0.0.0.0/1", { country_code: "LO" }], ["128.0.0.0/1", { country_code: "HI" }], ["::/1", { country_code: "V6" }], ["8000::/1", { country_code: "V7" }]],
  { ipVersion: 6, recordSize: 32, ipv4Aliases: true });
const world = new Reader<Record<string, unknown>>(worldFile);

test("generated events of any shape (fields, overrides, wrapped, invalid): nothing changes but the geo and as the maxmind package gives", () => {
  const plain = FlowTransform.fromFile();
  for (const profile of ["sekoia", "ecs"] as const) {
    const geo = FlowTransform.fromFile(undefined, { profile, geo: [cityFile, asnFile, worldFile] });
    const none = FlowTransform.fromFile(undefined, { profile });
    let found = 0;
    fc.assert(fc.property(fc.oneof(anyEvent, anyWrapped), (raw) => {
      const line = geo.mapRecord(raw);
      const without = none.mapRecord(raw);
      if (!line.includes('"geo":{') && !line.includes('"as":{')) {
        expect(line).toBe(without);
        return;
      }
      expect(withoutGeo(line)).toBe(JSON.stringify(JSON.parse(without)));
      found += checkEvents([line], [city, asn, world]);
    }), { numRuns: 3000 });
    expect(found).toBeGreaterThan(5);
  }
  expect(plain.geoDatabases).toEqual([]);
});
