// The benchmark's plain Node geo pipeline (bench/node-geo-mapper.ts: the plain Node mapper plus
// the maxmind package) writes the same geo and as objects as the core's fragments, so that the
// later bench compares like with like.
import fc from "fast-check";
import { Reader } from "maxmind";
import { naiveGeoMap } from "../../bench/node-geo-mapper.js";
import { Core } from "./core.js";
import { parseFragment, expectSameFragment } from "./expected.js";
import { writeMmdb, u16, u32, dbl, flt, MValue } from "./mmdb-writer.js";

const names = (en: string) => ({ de: `${en}-de`, en });
const city = (i: number): MValue => ({
  city: { geoname_id: u32(i), names: names(`City ${i}`) },
  continent: { code: "NA", names: names("North America") },
  country: { iso_code: "CA", names: names("Canada") },
  location: { accuracy_radius: u16(5), latitude: dbl(45 + i / 10), longitude: dbl(-73.5), time_zone: "America/Toronto" },
  postal: { code: `H${i}A` },
  subdivisions: [{ iso_code: "QC", names: names("Quebec") }],
});

test("geo and as of both addresses, as the core's fragments say", () => {
  const cityFile = writeMmdb(Array.from({ length: 8 }, (_, i): [string, MValue] => [`${20 + i}.0.0.0/8`, city(i)]), { ipVersion: 6, recordSize: 28, ipv4Aliases: true });
  const flatFile = writeMmdb([["2a00::/12", { country_code: "DE", city: "Berlin", latitude: flt(52.52), longitude: flt(13.405), timezone: "Europe/Berlin" }]], { ipVersion: 6, recordSize: 24 });
  const asnFile = writeMmdb([["20.0.0.0/6", { autonomous_system_number: u32(64500), autonomous_system_organization: "Example AS" }]], { ipVersion: 6, recordSize: 24, ipv4Aliases: true });
  const files = [cityFile, flatFile, asnFile];
  const readers = files.map((f) => new Reader<Record<string, any>>(f));
  const core = new Core();
  for (const f of files) expect(core.add(f)).toBeNull();
  const address = fc.oneof(
    fc.tuple(fc.integer({ min: 18, max: 29 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `${a}.${b}.1.2`),
    fc.constantFrom("10.0.0.4", "192.168.1.1", "2a00:1450::1", "2a0f::5", "2001:db8::1"),
  );
  let withGeo = 0;
  fc.assert(fc.property(address, address, (src, dst) => {
    const sameFamily = src.includes(":") === dst.includes(":");
    if (!sameFamily) return;
    const line = JSON.stringify({ time: "2026-01-01T00:00:00Z", macAddress: "00-0D-3A-00-00-01", rule: "r", "flow.0": `1767225600,${src},${dst},443,5000,T,I,A,B,1,2,3,4` });
    const event = JSON.parse(naiveGeoMap(line, readers));
    for (const [side, ip] of [["source", src], ["destination", dst]] as const) {
      const { geo, as } = event[side];
      const node = JSON.parse(JSON.stringify({ geo, as }));
      expectSameFragment(parseFragment(core.lookup(ip)), node);
      if (geo) withGeo++;
    }
  }), { numRuns: 300 });
  expect(withGeo).toBeGreaterThan(100);
});
