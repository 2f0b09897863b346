// The core's MMDB reader (assembly/enrich/geo/mmdb.ts) against the maxmind package's on files
// the tests write: every data type, every record size, both tree kinds, on generated networks
// and addresses; what open refuses and why; pointer rules and nesting bounds.
import fc from "fast-check";
import { Reader } from "maxmind";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Core, addressBytes, geoModulePath } from "./core.js";
import { normalize } from "./normalize.js";
import { writeMmdb, u16, u32, i32, u64, u128, dbl, flt, bytes, MValue, DataWriter, METADATA_MARKER, pointer } from "./mmdb-writer.js";

/** What the maxmind package reads for an address. One deliberate difference: in an IPv4 tree
 * that package walks an IPv6 address's first 32 bits as if they were an IPv4 address; the core
 * finds nothing there (as libmaxminddb refuses the lookup), except for an IPv4-mapped address
 * (::ffff:a.b.c.d), which is the IPv4 address. */
function reference(r: Reader<any>, ip: string): unknown {
  if (r.metadata.ipVersion === 4 && ip.includes(":")) {
    const b = addressBytes(ip);
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return normalize(r.get(Array.from(b.subarray(12)).join(".")));
    return null;
  }
  return normalize(r.get(ip));
}

const everyType: MValue = {
  utf8: "Montréal ☃ \"quoted\" \\ \u0001",
  empty: "",
  long: "y".repeat(70000),
  double: dbl(-73.5878),
  float: flt(45.5088),
  tiny: dbl(5e-324),
  bytes: bytes(Uint8Array.from([0, 1, 254, 255])),
  noBytes: bytes(new Uint8Array(0)),
  uint16: u16(65535),
  uint16zero: u16(0),
  uint32: u32(4294967295),
  int32neg: i32(-2147483648),
  int32: i32(42),
  uint64: u64(18446744073709551615n),
  uint128: u128((1n << 128n) - 1n),
  small128: u128(5n),
  array: [1, "two", [3], { four: 4 }],
  emptyArray: [],
  emptyMap: {},
  map: { nested: { deeper: { deepest: true } } },
  yes: true,
  no: false,
};

describe("the core's MMDB reader", () => {
  let core: Core;
  beforeAll(() => {
    core = new Core();
  });
  beforeEach(() => core.clear());

  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      test(`${recordSize}-bit records, IPv${ipVersion} tree: every data type as the maxmind package reads it`, () => {
        const entries: [string, MValue][] = [
          ["1.2.3.0/24", everyType],
          ["1.2.4.0/23", { country: { iso_code: "CA" } }],
          ["128.0.0.0/1", { half: u32(1) }],
        ];
        if (ipVersion === 6) entries.push(["2001:db8::/32", { country: { iso_code: "DE" } }], ["8000::/1", { top: true }]);
        const file = writeMmdb(entries, { ipVersion, recordSize, ipv4Aliases: ipVersion === 6 });
        expect(core.add(file)).toBeNull();
        const r = new Reader(file);
        for (const ip of ["1.2.3.4", "1.2.3.255", "1.2.4.0", "1.2.5.255", "1.2.6.0", "0.0.0.0", "127.255.255.255", "128.0.0.0", "255.255.255.255",
          "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "::", "ffff::", "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:1.2.7.0"]) {
          expect([ip, core.dump(ip)]).toEqual([ip, reference(r, ip)]);
        }
      });
    }
  }

  test("28- and 32-bit records beyond 2^24 (data past 16 MiB)", () => {
    for (const recordSize of [28, 32] as const) {
      core.clear();
      const entries: [string, MValue][] = [["10.0.0.0/8", { before: "pad" }], ["11.0.0.0/8", { after: "pad", n: u64(1n << 40n) }], ["12.0.0.0/8", { after: "pad" }]];
      const file = writeMmdb(entries, { ipVersion: 6, recordSize, padBefore: new Map([[1, 17 << 20]]), ipv4Aliases: true });
      expect(core.add(file)).toBeNull();
      const r = new Reader(file);
      for (const ip of ["10.1.2.3", "11.1.2.3", "12.255.0.0", "13.0.0.0", "::ffff:11.0.0.1"]) expect(core.dump(ip)).toEqual(reference(r, ip));
      expect(core.dump("11.1.2.3")).toEqual({ after: "pad", n: { big: "10000000000" } });
    }
  });

  test("pointers of every size, repeated strings and records", () => {
    const entries: [string, MValue][] = [];
    for (let i = 0; i < 8; i++) entries.push([`10.0.${i}.0/24`, { name: `shared ${i % 3}`, names: { en: `shared ${i % 3}` }, list: [`shared ${i % 3}`, "x"], i: u16(i) }]);
    for (const widePointers of [false, true]) {
      core.clear();
      const file = writeMmdb(entries, { ipVersion: 6, recordSize: 28, widePointers, padBefore: new Map([[2, 3000], [5, 600000]]), ipv4Aliases: true });
      expect(core.add(file)).toBeNull();
      const r = new Reader(file);
      for (let i = 0; i < 8; i++) expect(core.dump(`10.0.${i}.77`)).toEqual(reference(r, `10.0.${i}.77`));
    }
  });

  test("generated networks and values: the core reads what the maxmind package reads, at every generated address", () => {
    const leaf: fc.Arbitrary<MValue> = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.boolean(),
      fc.double({ noNaN: true }).map(dbl),
      fc.float({ noNaN: true }).map(flt),
      fc.integer({ min: 0, max: 65535 }).map(u16),
      fc.nat().map(u32),
      fc.integer({ min: -2147483648, max: 2147483647 }).map(i32),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(u64),
      fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(u128),
      fc.uint8Array({ maxLength: 20 }).map(bytes),
    );
    const value: fc.Arbitrary<MValue> = fc.letrec<{ v: MValue }>((tie) => ({
      v: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), tie("v"), { maxKeys: 4 })),
    })).v;
    const network = (ipVersion: 4 | 6) => ipVersion === 4
      ? fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 32 })).map(([a, n]) => `${a}/${n}`)
      : fc.oneof(
        fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 32 })).map(([a, n]) => `${a}/${n}`),
        fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 1, max: 128 })).map(([b, n]) => `${v6Text(b)}/${n}`),
      );
    const db = fc.constantFrom<4 | 6>(4, 6).chain((ipVersion) => fc.record({
      ipVersion: fc.constant(ipVersion),
      recordSize: fc.constantFrom<24 | 28 | 32>(24, 28, 32),
      dedupe: fc.boolean(),
      entries: fc.array(fc.tuple(network(ipVersion), value), { minLength: 1, maxLength: 12 }),
      probes: fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.uint8Array({ minLength: 16, maxLength: 16 }).map(v6Text)), { maxLength: 10 }),
    }));
    fc.assert(fc.property(db, ({ ipVersion, recordSize, dedupe, entries, probes }) => {
      const file = writeMmdb(entries, { ipVersion, recordSize, dedupe, ipv4Aliases: true });
      core.clear();
      expect(core.add(file)).toBeNull();
      const r = new Reader(file);
      // Each network's own address and its last, then the random probes.
      const ips = entries.flatMap(([n]) => inNetwork(n)).concat(probes);
      for (const ip of ips) expect([ip, core.dump(ip)]).toEqual([ip, reference(r, ip)]);
    }), { numRuns: 300 });
  });

  test("a tree divided below most of its /16s gets the /20 table and answers as without it", () => {
    // 6,000 /16s, each with networks from /17 to /32 (mmdb.ts builds the /20 table for 4,096 such
    // /16s or more), and a few larger networks around them; every network's first and last
    // address, an address beside each, and random ones, in every record size and both trees.
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
    const entries: [string, MValue][] = [["1.0.0.0/8", { big: 1, country_code: "B1" }], ["200.0.0.0/12", { big: 2, country_code: "B2" }]];
    const entries6: [string, MValue][] = [["2a00::/12", { big: 3, country_code: "B3" }], ["2001:db8:5::/48", { big: 4, country_code: "B4" }]];
    const seen = new Set<number>();
    while (seen.size < 6000) {
      const hi = 2 + (next() % 190);
      const sixteen = (hi << 8) | (next() & 255);
      if (seen.has(sixteen)) continue;
      seen.add(sixteen);
      for (let k = 0; k < 2; k++) {
        const len = 17 + (next() % 16);
        const low = (next() << (32 - len)) & 0xffff;
        entries.push([`${sixteen >> 8}.${sixteen & 255}.${low >> 8}.${low & 255}/${len}`, { n: u32(entries.length), len: u16(len), country_code: `C${entries.length}` }]);
      }
    }
    const probes: string[] = [];
    const text = (v: number) => [24, 16, 8, 0].map((b) => (v >>> b) & 255).join(".");
    for (const [n] of entries) {
      const [first, last] = inNetwork(n);
      const f = first.split(".").reduce((a, x) => a * 256 + Number(x), 0);
      const l = last.split(".").reduce((a, x) => a * 256 + Number(x), 0);
      probes.push(first, last, text((f - 1) >>> 0), text((l + 1) >>> 0));
    }
    for (let i = 0; i < 5000; i++) probes.push(text((next() << 8 | next() & 255) >>> 0));
    const probes6 = ["2a00::1", "2a0f:ffff::1", "2a10::1", "2001:db8:5::9", "2001:db8:6::9", "fd00::1", "::1", "2002:102:304::1"];
    for (const recordSize of [24, 28, 32] as const) {
      for (const ipVersion of [4, 6] as const) {
        const file = writeMmdb(ipVersion === 6 ? entries.concat(entries6) : entries, { ipVersion, recordSize, ipv4Aliases: true });
        core.clear();
        expect(core.add(file)).toBeNull();
        expect(core.jumpBits()).toBe(20);
        const r = new Reader(file);
        const all = ipVersion === 6 ? probes.concat(probes6) : probes;
        const wrong = all.filter((ip) => JSON.stringify(core.dump(ip)) !== JSON.stringify(reference(r, ip)));
        expect([recordSize, ipVersion, wrong.slice(0, 5)]).toEqual([recordSize, ipVersion, []]);
        // The whole lookup too (databases.ts answers addresses in nothing from the tables' bits).
        const fragment = (ip: string) => {
          const v = reference(r, ip) as { country_code?: string } | null;
          return v?.country_code ? `,"geo":{"country_iso_code":"${v.country_code}"}` : "";
        };
        const wrongFragments = all.filter((ip) => core.lookup(ip) !== fragment(ip));
        expect([recordSize, ipVersion, wrongFragments.slice(0, 5)]).toEqual([recordSize, ipVersion, []]);
        expect(core.dump(`::ffff:${probes[3]}`)).toEqual(reference(r, probes[3]!));
      }
    }
    // A tree whose /16s are mostly whole networks keeps the /16 table.
    core.clear();
    expect(core.add(writeMmdb([["1.2.3.0/24", { a: 1 }], ["5.0.0.0/8", { b: 2 }]], { ipVersion: 6, recordSize: 24 }))).toBeNull();
    expect(core.jumpBits()).toBe(16);
  });

  test("an IPv6 tree whose ::/96 is inside one record answers IPv4 lookups from it", () => {
    // A tree whose ::/96 is a single record (no IPv4 networks) still answers IPv4 lookups.
    const file = writeMmdb([["::/1", { low: true }], ["2001:db8::/32", { a: 1 }]], { ipVersion: 6, recordSize: 24 });
    expect(core.add(file)).toBeNull();
    expect(core.dump("1.2.3.4")).toEqual({ low: true });
    expect(core.dump("2001:db8::5")).toEqual({ a: 1 });
  });
});

describe("files the core refuses", () => {
  let core: Core;
  beforeAll(() => {
    core = new Core();
  });
  beforeEach(() => core.clear());
  const good = () => writeMmdb([["1.2.3.0/24", { a: "b" }]], { ipVersion: 6, recordSize: 24 });

  test("not an MMDB file, empty, or only a marker", () => {
    expect(core.add(Buffer.from("hello world, this is not a database"))).toMatch(/not a MaxMind DB file/);
    expect(core.add(new Uint8Array(0))).toMatch(/not a MaxMind DB file/);
    expect(core.add(METADATA_MARKER)).toMatch(/metadata/);
  });

  test("metadata that does not describe a tree that fits", () => {
    const meta = (m: Record<string, MValue>) => writeMmdb([["1.2.3.0/24", { a: "b" }]], { ipVersion: 6, recordSize: 24, metadata: m });
    expect(core.add(meta({ binary_format_major_version: u16(3) }))).toMatch(/version 3/);
    expect(core.add(meta({ record_size: u16(20) }))).toMatch(/record size 20/);
    expect(core.add(meta({ ip_version: u16(5) }))).toMatch(/ip_version 5/);
    expect(core.add(meta({ node_count: u32(0) }))).toMatch(/node count 0/);
    expect(core.add(meta({ node_count: u32(1_000_000) }))).toMatch(/does not fit/);
    expect(core.add(meta({ node_count: "many" }))).toMatch(/node_count is not an unsigned number/);
    const noCount = new DataWriter(false);
    noCount.write({ binary_format_major_version: u16(2), record_size: u16(24), ip_version: u16(6) });
    const file = good();
    const cut = file.subarray(0, file.lastIndexOf(METADATA_MARKER) + METADATA_MARKER.length);
    expect(core.add(Buffer.concat([cut, noCount.bytes()]))).toMatch(/no node_count/);
    expect(core.count()).toBe(0);
  });

  test("a file cut anywhere is refused or answers without reading past its end", () => {
    const file = good();
    for (let n = 0; n < file.length; n++) {
      core.clear();
      const err = core.add(file.subarray(0, n));
      if (err === null) {
        const got = core.dump("1.2.3.4");
        expect(got === null || typeof got === "object").toBe(true);
      } else expect(typeof err).toBe("string");
    }
  });

  test("a pointer to a pointer, a pointer past the end, and nesting without end are errors at lookup", () => {
    // The data section is written by hand: record 0 is a map whose value is a pointer.
    const build = (data: number[]) => {
      const file = writeMmdb([["1.2.3.0/24", { a: "b" }]], { ipVersion: 4, recordSize: 24 });
      const markerAt = file.lastIndexOf(METADATA_MARKER);
      const nodes = 24; // 1.2.3.0/24 in an IPv4 tree: one node per prefix bit
      const treeEnd = nodes * 6 + 16;
      return Buffer.concat([file.subarray(0, treeEnd), Buffer.from(data), file.subarray(markerAt)]);
    };
    // {"a": <pointer to 5>} then at 5 a pointer to 0.
    const ptrToPtr = build([0xe1, 0x41, 0x61, ...pointer(5), ...pointer(0)]);
    expect(core.add(ptrToPtr)).toBeNull();
    expect(core.dump("1.2.3.4")).toEqual({ error: "a pointer points at a pointer" });
    core.clear();
    // {"a": <pointer to 0>}: the map contains itself.
    expect(core.add(build([0xe1, 0x41, 0x61, ...pointer(0)]))).toBeNull();
    expect(core.dump("1.2.3.4")).toEqual({ error: expect.stringMatching(/./) });
    core.clear();
    expect(core.add(build([0xe1, 0x41, 0x61, ...pointer(4000)]))).toBeNull();
    expect(core.dump("1.2.3.4")).toEqual({ error: "a pointer points past the end of its section" });
    core.clear();
    // A string longer than the section.
    expect(core.add(build([0xe1, 0x41, 0x61, 0x5c]))).toBeNull();
    expect(core.dump("1.2.3.4")).toEqual({ error: "a value runs past the end of its section" });
  });
});

test("the geo layer uses no wasm feature Fluent Bit's WAMR interpreter lacks", () => {
  // The same check as tests/fluent-bit.test.ts makes of the shipped filter, on the test module
  // that compiles every file of assembly/enrich/geo/ (no SIMD, GC, tail calls, memory64 or
  // exception handling).
  const wasmOpt = fileURLToPath(new URL("../../node_modules/.bin/wasm-opt", import.meta.url));
  const allowed = ["--mvp-features", "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int", "--enable-multivalue"];
  const r = spawnSync(wasmOpt, [...allowed, geoModulePath(), "-o", "/dev/null"], { encoding: "utf8" });
  expect(r.stderr + r.stdout).not.toMatch(/require|error/i);
  expect(r.status).toBe(0);
});

function v6Text(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(":");
}

/** The first address of a network and its last. */
function inNetwork(network: string): string[] {
  const [addr, lenText] = network.split("/");
  const len = Number(lenText);
  if (addr.includes(".") && !addr.includes(":")) {
    const n = addr.split(".").reduce((a, x) => (a << 8n) | BigInt(x), 0n);
    const mask = ((1n << 32n) - 1n) >> BigInt(len);
    const text = (v: bigint) => [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
    return [text(n & ~mask), text(n | mask)];
  }
  const parts = addr.split(":").map((h) => BigInt(parseInt(h, 16)));
  const n = parts.reduce((a, x) => (a << 16n) | x, 0n);
  const mask = ((1n << 128n) - 1n) >> BigInt(len);
  const text = (v: bigint) => Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(":");
  return [text(n & ~mask & ((1n << 128n) - 1n)), text(n | mask)];
}
