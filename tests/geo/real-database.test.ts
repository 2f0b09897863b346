// A real database end to end: @ip-location-db/geo-whois-asn-country-mmdb (a devDependency,
// never shipped), its IPv4+IPv6, IPv4-only and IPv6-only files, looked up by the core and by
// the maxmind package on generated addresses.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { Reader } from "maxmind";
import { Core } from "./core.js";
import { expectedFragment, parseFragment, expectSameFragment } from "./expected.js";

const dir = dirname(createRequire(import.meta.url).resolve("@ip-location-db/geo-whois-asn-country-mmdb/package.json"));

// Random IPv6 addresses are almost never allocated: these are in the RIRs' /12 blocks.
const allocatedV6 = fc.tuple(fc.constantFrom(0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00).chain((b) => fc.integer({ min: b, max: b + 15 })), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }))
  .map(([first, rest]) => [first, ...rest].map((g) => g.toString(16)).join(":"));

describe("geo-whois-asn-country (ip-location-db)", () => {
  for (const name of ["geo-whois-asn-country.mmdb", "geo-whois-asn-country-ipv4.mmdb", "geo-whois-asn-country-ipv6.mmdb"]) {
    test(`${name}: the core's fragment is the maxmind package's country, on generated addresses`, () => {
      const file = readFileSync(join(dir, name));
      const reader = new Reader(file);
      const core = new Core();
      expect(core.add(file)).toBeNull();
      const v4 = reader.metadata.ipVersion === 4;
      let found = 0;
      const check = (ip: string) => {
        // The core looks an IPv4-mapped address up as the IPv4 address (these files have no
        // ::ffff:0:0/96 alias); an IPv6 address in an IPv4-only file is not found.
        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
        const want = mapped ? expectedFragment([reader.get(mapped)]) : v4 && ip.includes(":") ? {} : expectedFragment([reader.get(ip)]);
        const got = parseFragment(core.lookup(ip));
        expectSameFragment(got, want);
        if (got.geo) found++;
      };
      for (const ip of ["8.8.8.8", "1.1.1.1", "10.0.0.1", "192.168.1.1", "2001:4860:4860::8888", "::1", "::ffff:8.8.8.8"]) check(ip);
      fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), allocatedV6, fc.ipV4().map((a) => `::ffff:${a}`)), (ip) => {
        check(ip);
      }), { numRuns: 3000 });
      // Enough found answers that the comparison is not only of empty ones.
      expect(found).toBeGreaterThan(name.includes("ipv6") ? 40 : 300);
    });
  }
});
