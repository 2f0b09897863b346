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
import { killLeftovers, outputLines, runCollect, sameEvents } from "../collect-helpers.js";
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
