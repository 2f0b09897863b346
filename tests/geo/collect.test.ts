// `nsg-flow-ecs collect --geo FILE --indicators NAME=FILE` against a real Azurite: the events are
// the library's with the same databases and set (geo under source/destination, threat on the
// matching ones), the summary lines say which databases and how many events matched, and a file
// that cannot be used stops it before anything is read (exit 2).
import { BlobServiceClient } from "@azure/storage-blob";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Reader } from "maxmind";
import { FlowTransform } from "../../host/index.js";
import { Azurite } from "../azurite.js";
import { NetworkWatcher } from "../network-watcher.js";
import { killLeftovers, outputLines, runCollect, sameEvents, startCollect, until } from "../collect-helpers.js";
import { expectedFragment, expectSameFragment } from "./expected.js";
import { writeMmdb, u32, dbl } from "./mmdb-writer.js";

let azurite: Azurite;
const dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-collect-geo-"));

beforeAll(async () => {
  azurite = await Azurite.start();
});

afterAll(async () => {
  killLeftovers();
  await azurite.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("collect --geo (City + ASN) --indicators: the library's events, the databases and the matched count on stderr", async () => {
  const watcher = new NetworkWatcher(BlobServiceClient.fromConnectionString(azurite.connectionString));
  // The stand-in's tuples go from 10.x to 192.0.2.10 (NSG) and 192.0.2.180 (VNet).
  const cityFile = writeMmdb([
    ["192.0.2.0/25", { city: { names: { en: "Lyon" } }, country: { iso_code: "FR", names: { en: "France" } }, location: { latitude: dbl(45.75), longitude: dbl(4.85), time_zone: "Europe/Paris" } }],
    ["10.0.0.0/16", { country: { iso_code: "NL", names: { en: "Netherlands" } } }],
  ], { ipVersion: 6, recordSize: 24, databaseType: "GeoLite2-City", ipv4Aliases: true });
  const asnFile = writeMmdb([["192.0.2.0/24", { autonomous_system_number: u32(64496), autonomous_system_organization: "Documentation AS" }]],
    { ipVersion: 4, recordSize: 32, databaseType: "GeoLite2-ASN" });
  const city = join(dir, "city.mmdb");
  const asn = join(dir, "asn.mmdb");
  const list = join(dir, "ti.txt");
  writeFileSync(city, cityFile);
  writeFileSync(asn, asnFile);
  writeFileSync(list, "192.0.2.10\n");
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
  const nsg = await watcher.blob({ kind: "nsg", hour, resource: "WEB-NSG", mac: "000D3A000001" });
  const vnet = await watcher.blob({ kind: "vnet", hour, resource: "VNET-FLOWLOG", mac: "002248000001" });
  await nsg.addRecord(20);
  await vnet.addRecord(20);
  const out = join(dir, "out.ndjson");
  const base = ["--connection-string", azurite.connectionString, "--state", join(dir, "state"), "--out", out, "--once"];
  const r = await runCollect([...base, "--geo", city, "--geo", asn, "--indicators", `ti=${list}`]);
  expect(r.code).toBe(0);
  const lines = outputLines(out);
  const t = FlowTransform.fromFile(undefined, { eventId: true, indicators: [{ name: "ti", path: list }], geo: [city, asn] });
  const expected: string[] = [];
  for (const blob of [nsg, vnet]) {
    t.startBlob();
    const text = Buffer.concat([t.pushBlob(await blob.text()).output, t.endBlob().output]).toString();
    expected.push(...text.slice(0, -1).split("\n"));
  }
  expect(sameEvents(lines, expected)).toEqual({ missing: [], extra: [] });
  // The oracle again, apart from the library: each side's geo/as is the maxmind package's.
  const readers = [new Reader<Record<string, unknown>>(cityFile), new Reader<Record<string, unknown>>(asnFile)];
  let withGeo = 0;
  let matched = 0;
  for (const line of lines) {
    const e = JSON.parse(line) as { source?: Record<string, unknown>; destination?: Record<string, unknown>; threat?: unknown };
    if (e.threat) matched++;
    for (const side of [e.source, e.destination]) {
      if (!side?.ip) continue;
      const ip = side.ip as string;
      expectSameFragment(JSON.parse(JSON.stringify({ geo: side.geo, as: side.as })), expectedFragment(readers.map((x) => ip.includes(":") && x.metadata.ipVersion === 4 ? null : x.get(ip))));
      if (side.geo) withGeo++;
    }
  }
  expect(withGeo).toBeGreaterThan(20);
  expect(matched).toBeGreaterThan(5);
  expect(r.stderr).toMatch(/^nsg-flow-ecs collect: indicators ti: 1 loaded, 0 skipped$/m);
  expect(r.stderr).toMatch(/^nsg-flow-ecs collect: geo city\.mmdb: GeoLite2-City, built \d{4}-\d\d-\d\d, IPv6, [\d,]+ nodes$/m);
  expect(r.stderr).toMatch(/^nsg-flow-ecs collect: geo asn\.mmdb: GeoLite2-ASN, built \d{4}-\d\d-\d\d, IPv4, [\d,]+ nodes$/m);
  expect(r.stderr).toMatch(new RegExp(`, ${lines.length} records, ${lines.length} events, 0 errors, ${matched} matching indicators, `));

  // A database that cannot be used: exit 2, named, before any blob is read.
  writeFileSync(join(dir, "bad.mmdb"), "not a database");
  const bad = await runCollect([...base.slice(0, 2), "--state", join(dir, "state2"), "--out", join(dir, "out2.ndjson"), "--once", "--geo", join(dir, "bad.mmdb")]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/geo .*bad\.mmdb: /);
}, 120_000);

test("a running collect loads a changed indicator set and database before its next pass; a version that cannot be used keeps the previous data", async () => {
  const watcher = new NetworkWatcher(BlobServiceClient.fromConnectionString(azurite.connectionString));
  const cityIn = (iso: string, name: string) => writeMmdb([["192.0.2.0/25", { country: { iso_code: iso, names: { en: name } } }]],
    { ipVersion: 4, recordSize: 24, databaseType: "GeoLite2-City" });
  for (const threads of ["1", "2"]) {
    const city = join(dir, `reload-city-${threads}.mmdb`);
    const list = join(dir, `reload-ti-${threads}.txt`);
    writeFileSync(city, cityIn("FR", "France"));
    writeFileSync(list, "192.0.2.10\n");
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
    // The stand-in's NSG tuples go from 10.x to 192.0.2.10.
    const nsg = await watcher.blob({ kind: "nsg", hour, resource: `RELOAD-NSG-${threads}`, mac: "000D3A000001" });
    await nsg.addRecord(4);
    const run = startCollect(["--connection-string", azurite.connectionString, "--state", join(dir, `reload-state-${threads}`),
      "--prefix", nsg.name, "--interval", "0.2", "--threads", threads, "--geo", city, "--indicators", `ti=${list}`]);
    const events = () => run.stdout().slice(0, run.stdout().lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { destination: { ip: string; geo?: { country_iso_code: string } }; threat?: unknown });
    const phase = (from: number) => events().slice(from).filter((e) => e.destination.ip === "192.0.2.10");
    await until("the first records", () => events().length === 4);
    expect(phase(0).every((e) => e.threat !== undefined && e.destination.geo?.country_iso_code === "FR")).toBe(true);

    // A set with no usable indicator: said once, the previous set and database stay in use.
    writeFileSync(list, "not an address\n");
    await until("the refusal", () => /a data file changed but cannot be used, keeping the previous data: .*ti/.test(run.stderr()));
    await nsg.addRecord(4);
    await until("the records after the refusal", () => events().length === 8);
    expect(phase(4).length).toBeGreaterThan(0);
    expect(phase(4).every((e) => e.threat !== undefined && e.destination.geo?.country_iso_code === "FR")).toBe(true);

    // Usable versions of both: the next records are mapped with them.
    writeFileSync(city, cityIn("DE", "Germany"));
    writeFileSync(list, "198.51.100.1\n");
    await until("the reload", () => /a data file changed: loaded again/.test(run.stderr()));
    await nsg.addRecord(4);
    await until("the records after the reload", () => events().length === 12);
    expect(phase(8).length).toBeGreaterThan(0);
    expect(phase(8).every((e) => e.threat === undefined && e.destination.geo?.country_iso_code === "DE")).toBe(true);
    expect(run.stderr().match(/cannot be used, keeping the previous data/g)).toHaveLength(1);
    expect(run.stderr()).toMatch(/^nsg-flow-ecs collect: indicators ti: 1 loaded, 0 skipped$/m);
    run.child.kill("SIGTERM");
    expect((await run.done).code).toBe(0);
  }
}, 120_000);
