// Corrupt and truncated database files: bytes flipped anywhere (tree, data, metadata), files cut
// short, garbage after a marker. Each file sits at the very end of linear memory, so a read past
// its end would trap; a trap fails the test (it would poison a Fluent Bit instance). What must
// hold: open refuses with a message or accepts, and every lookup then gives an error count or a
// fragment that is valid JSON inside an object.
import fc from "fast-check";
import { Core } from "./core.js";
import { parseFragment } from "./expected.js";
import { writeMmdb, u16, u32, u64, dbl, flt, MValue, METADATA_MARKER } from "./mmdb-writer.js";

const city = (i: number): MValue => ({
  city: { geoname_id: u32(i), names: { en: `City ${i % 5}`, de: `Stadt ${i % 5}` } },
  continent: { code: "EU", names: { en: "Europe" } },
  country: { iso_code: "FR", names: { en: "France" } },
  location: { accuracy_radius: u16(5), latitude: dbl(45 + i / 100), longitude: flt(4.5), time_zone: "Europe/Paris" },
  subdivisions: [{ iso_code: "ARA", names: { en: "Auvergne" } }],
  postal: { code: `690${i % 10}` },
  autonomous_system_number: u64(BigInt(64500 + i)), autonomous_system_organization: `AS ${i}`,
  list: [true, false, [1, 2, { deep: "x" }]],
});

const bases: Buffer[] = [];
for (const recordSize of [24, 28, 32] as const) {
  for (const ipVersion of [4, 6] as const) {
    const entries: [string, MValue][] = [];
    for (let i = 0; i < 20; i++) entries.push([`${10 + i}.${i * 7}.0.0/16`, city(i)]);
    if (ipVersion === 6) entries.push(["2001:db8::/32", city(99)], ["2a00::/12", city(7)]);
    bases.push(writeMmdb(entries, { ipVersion, recordSize, ipv4Aliases: ipVersion === 6 }));
  }
}
const probes = ["10.0.1.2", "11.7.0.1", "15.35.9.9", "29.133.0.0", "1.2.3.4", "2001:db8::1", "2a00:1::1", "::ffff:12.14.0.1", "255.255.255.255", "::"];

describe("corrupt and truncated database files", () => {
  let core: Core;
  beforeAll(() => {
    core = new Core();
  });

  function exercise(file: Uint8Array): "refused" | "opened" {
    core.clear();
    const err = core.addAtMemoryEnd(file);
    if (err !== null) {
      expect(err.length).toBeGreaterThan(0);
      return "refused";
    }
    for (const ip of probes) {
      const before = core.lookupErrors().count;
      const fragment = core.lookup(ip);
      // The same address again: from the cache, the same bytes.
      expect(core.lookup(ip)).toBe(fragment);
      if (fragment !== "") parseFragment(fragment);
      else expect(core.lookupErrors().count).toBeGreaterThanOrEqual(before);
      // Any value, or null, or {error}: what matters is valid JSON and no trap.
      expect(() => core.dump(ip)).not.toThrow();
    }
    return "opened";
  }

  test("the files before corruption open and answer", () => {
    for (const b of bases) {
      expect(exercise(b)).toBe("opened");
      expect(parseFragment(core.lookup("11.7.1.1")).geo?.city_name).toBe("City 1");
    }
  });

  test("bytes flipped anywhere", () => {
    const outcomes = { refused: 0, opened: 0 };
    fc.assert(fc.property(fc.integer({ min: 0, max: bases.length - 1 }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), (which, flips) => {
      const file = Buffer.from(bases[which]);
      for (const [where, b] of flips) file[Math.floor(where * file.length)] = b;
      outcomes[exercise(file)]++;
    }), { numRuns: 1500 });
    expect(outcomes.opened).toBeGreaterThan(100);
  });

  test("bytes flipped in the data section and the metadata only", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: bases.length - 1 }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (which, flips) => {
      const file = Buffer.from(bases[which]);
      const marker = file.lastIndexOf(METADATA_MARKER);
      const from = Math.max(0, marker - 3000);
      for (const [where, b] of flips) file[from + Math.floor(where * (file.length - from))] = b;
      exercise(file);
    }), { numRuns: 1500 });
  });

  test("files cut short, and garbage after a marker", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: bases.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), (which, where) => {
      exercise(bases[which].subarray(0, Math.floor(where * bases[which].length)));
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (before, after) => {
      exercise(Buffer.concat([before, METADATA_MARKER, after]));
    }), { numRuns: 1500 });
  });

  test("the instance still answers correctly after all of it", () => {
    core.clear();
    expect(core.add(bases[1])).toBeNull();
    expect(parseFragment(core.lookup("11.7.1.1")).geo?.city_name).toBe("City 1");
  });
});
