// The tests' MMDB writer, read back with the maxmind package (MaxMind's format as a widely used
// reader understands it): every data type, every record size, both tree kinds, the IPv4
// aliases, and pointers of each size. The other geo tests trust its files because of this one.
import { Reader } from "maxmind";
import { writeMmdb, u16, u32, i32, u64, u128, dbl, flt, bytes, MValue, pointer, DataWriter } from "./mmdb-writer.js";
import { normalize } from "./normalize.js";

const everyType: MValue = {
  utf8: "Montréal ☃",
  empty: "",
  long: "x".repeat(70000),
  double: dbl(-73.5878),
  float: flt(45.5088),
  bytes: bytes(Uint8Array.from([0, 1, 254, 255])),
  uint16: u16(65535),
  uint32: u32(4294967295),
  int32neg: i32(-123456),
  int32: i32(42),
  uint64: u64(18446744073709551615n),
  uint128: u128((1n << 128n) - 1n),
  zero64: u64(0n),
  array: [1, "two", [3], { four: 4 }],
  map: { nested: { deeper: { deepest: true } } },
  yes: true,
  no: false,
};

describe("the test MMDB writer, read by the maxmind package", () => {
  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      test(`${recordSize}-bit records, IPv${ipVersion} tree: every data type comes back`, () => {
        const entries: [string, MValue][] = [
          ["1.2.3.0/24", everyType],
          ["1.2.4.0/23", { country: { iso_code: "CA" } }],
          ["200.0.0.0/8", { x: u32(7) }],
        ];
        if (ipVersion === 6) entries.push(["2001:db8::/32", { country: { iso_code: "DE" } }]);
        const file = writeMmdb(entries, { ipVersion, recordSize, ipv4Aliases: ipVersion === 6 });
        const r = new Reader(file);
        expect(r.metadata.recordSize).toBe(recordSize);
        expect(r.metadata.ipVersion).toBe(ipVersion);
        expect(normalize(r.get("1.2.3.77"))).toEqual(normalize(r.get("1.2.3.0")));
        const got = normalize(r.get("1.2.3.77")) as Record<string, unknown>;
        expect(got.utf8).toBe("Montréal ☃");
        expect(got.long).toBe("x".repeat(70000));
        expect(got.double).toBe(-73.5878);
        expect(got.float).toBe(Math.fround(45.5088));
        expect(got.bytes).toEqual({ bytes: "0001feff" });
        expect(got.uint16).toBe(65535);
        expect(got.uint32).toBe(4294967295);
        expect(got.int32neg).toBe(-123456);
        expect(got.int32).toBe(42);
        expect(got.uint64).toEqual({ big: "ffffffffffffffff" });
        expect(got.uint128).toEqual({ big: "f".repeat(32) });
        expect(got.zero64).toEqual({ big: "0" });
        expect(got.array).toEqual([1, "two", [3], { four: 4 }]);
        expect(got.map).toEqual({ nested: { deeper: { deepest: true } } });
        expect(got.yes).toBe(true);
        expect(got.no).toBe(false);
        expect(r.get("1.2.5.255")).toEqual({ country: { iso_code: "CA" } });
        expect(r.get("1.2.6.0")).toBeNull();
        expect(r.get("200.255.255.255")).toEqual({ x: 7 });
        if (ipVersion === 6) {
          expect(r.get("2001:db8:ffff::1")).toEqual({ country: { iso_code: "DE" } });
          expect(r.get("::ffff:1.2.5.1")).toEqual({ country: { iso_code: "CA" } });
          expect(r.get("2001:db9::1")).toBeNull();
        }
      });
    }
  }

  test("pointers of all four sizes are written and followed", () => {
    expect(pointer(5)).toHaveLength(2);
    expect(pointer(3000)).toHaveLength(3);
    expect(pointer(600000)).toHaveLength(4);
    expect(pointer(5, true)).toHaveLength(5);
    // Strings shared by records beyond 2 KiB and beyond 526,336 bytes of data.
    const entries: [string, MValue][] = [];
    for (let i = 0; i < 6; i++) entries.push([`10.0.${i}.0/24`, { name: `shared ${i % 2}`, i }]);
    const file = writeMmdb(entries, { ipVersion: 6, recordSize: 28, padBefore: new Map([[2, 3000], [4, 600000]]) });
    const r = new Reader(file);
    for (let i = 0; i < 6; i++) expect(r.get(`10.0.${i}.9`)).toEqual({ name: `shared ${i % 2}`, i });
    const wide = new Reader(writeMmdb(entries, { ipVersion: 4, recordSize: 32, widePointers: true }));
    for (let i = 0; i < 6; i++) expect(wide.get(`10.0.${i}.9`)).toEqual({ name: `shared ${i % 2}`, i });
  });

  test("the data writer puts a repeated string once, then a pointer", () => {
    const w = new DataWriter(true);
    w.write("abc");
    const second = w.write("abc");
    expect(w.bytes().subarray(second)).toEqual(Buffer.from(pointer(0)));
  });
});
