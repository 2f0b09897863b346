// The core's SHA-1, base64 and Community ID, reached through a small test module that compiles
// the same assembly/ files (tests/fixtures/hash-module.ts): the standard vectors (FIPS 180, RFC
// 4648, the Community ID spec's), then property tests against node:crypto, Buffer and an
// independent Community ID written here.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { compileFixture } from "./compile-fixture.js";

const root = fileURLToPath(new URL("..", import.meta.url));

interface HashExports {
  memory: WebAssembly.Memory;
  input(): number;
  output(): number;
  sha1(len: number, piece: number): void;
  sha1Repeated(len: number, times: number): void;
  base64(len: number): number;
  ipBytes(len: number): number;
  communityId(seed: number, aLen: number, aPort: number, bLen: number, bPort: number, protocol: number): number;
}

let x: HashExports;

beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), "nsg-flow-ecs-hash-")), "hash.wasm");
  compileFixture("hash-module.ts", "hash-module.asconfig.json", path);
  x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {}).exports as unknown as HashExports;
});

const put = (bytes: Uint8Array) => new Uint8Array(x.memory.buffer, x.input(), bytes.length).set(bytes);
const got = (n: number) => Buffer.from(new Uint8Array(x.memory.buffer, x.output(), n));

function coreSha1(bytes: Uint8Array, piece = 0): string {
  put(bytes);
  x.sha1(bytes.length, piece);
  return got(20).toString("hex");
}

function coreBase64(bytes: Uint8Array): string {
  put(bytes);
  return got(x.base64(bytes.length)).toString("latin1");
}

describe("SHA-1", () => {
  test("FIPS 180 vectors", () => {
    expect(coreSha1(Buffer.from("abc"))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(coreSha1(Buffer.alloc(0))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(coreSha1(Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    put(Buffer.alloc(1000, "a"));
    x.sha1Repeated(1000, 1000);
    expect(got(20).toString("hex")).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  test("every length from 0 to 300 bytes (padding at every offset of a block), whole and in pieces", () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 255));
      const expected = createHash("sha1").update(bytes).digest("hex");
      expect(coreSha1(bytes)).toBe(expected);
      expect(coreSha1(bytes, 7)).toBe(expected);
    }
  });

  test("random messages, fed in random pieces, match node:crypto", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 130 }), (bytes, piece) => {
      expect(coreSha1(bytes, piece)).toBe(createHash("sha1").update(bytes).digest("hex"));
    }), { numRuns: 500 });
  });
});

describe("base64", () => {
  test("RFC 4648 vectors", () => {
    const vectors: [string, string][] = [["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"]];
    for (const [plain, encoded] of vectors) expect(coreBase64(Buffer.from(plain))).toBe(encoded);
  });

  test("random bytes match Buffer's base64", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(coreBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
    }), { numRuns: 1000 });
  });
});

// ─── Community ID ───────────────────────────────────────────────────────────────────────────

function coreCommunityId(seed: number, a: string, aPort: number, b: string, bPort: number, protocol: number): string | undefined {
  const ab = Buffer.from(a + b);
  put(ab);
  const n = x.communityId(seed, Buffer.byteLength(a), aPort, Buffer.byteLength(b), bPort, protocol);
  return n === 0 ? undefined : got(n).toString("latin1");
}

/** The spec, written here from its text with node:crypto, over address bytes the test knows. */
function specCommunityId(seed: number, a: Uint8Array, aPort: number, b: Uint8Array, bPort: number, protocol: number): string {
  const ports = protocol === 6 || protocol === 17 || protocol === 132;
  const order = Buffer.compare(Buffer.from(a), Buffer.from(b));
  const swap = order > 0 || (order === 0 && ports && aPort > bPort);
  const [first, second] = swap ? [b, a] : [a, b];
  const [firstPort, secondPort] = swap ? [bPort, aPort] : [aPort, bPort];
  const head = Buffer.alloc(2);
  head.writeUInt16BE(seed);
  const parts = [head, first, second, Buffer.of(protocol, 0)];
  if (ports) {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(firstPort);
    p.writeUInt16BE(secondPort, 2);
    parts.push(p);
  }
  return "1:" + createHash("sha1").update(Buffer.concat(parts)).digest("base64");
}

describe("Community ID", () => {
  test("the spec's vectors, both directions", () => {
    const cases: [number, string, number, string, number, number, string][] = [
      [0, "1.2.3.4", 1122, "5.6.7.8", 3344, 6, "1:wCb3OG7yAFWelaUydu0D+125CLM="],
      [0, "1.2.3.4", 1122, "5.6.7.8", 3344, 17, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="],
      [1, "1.2.3.4", 1122, "5.6.7.8", 3344, 6, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="],
      [0, "192.168.1.52", 54585, "8.8.8.8", 53, 17, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
    ];
    for (const [seed, a, ap, b, bp, proto, id] of cases) {
      expect(coreCommunityId(seed, a, ap, b, bp, proto)).toBe(id);
      expect(coreCommunityId(seed, b, bp, a, ap, proto)).toBe(id);
    }
  });

  const ipv4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 });
  const ipv6Bytes = fc.oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // Runs of zero groups, so that the text has a "::" in every position.
    fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))
      .map(([from, n, b]) => { const c = Uint8Array.from(b); c.fill(0, from * 2, Math.min(16, (from + n) * 2)); return c; }),
  );
  const v4Text = (b: Uint8Array) => Array.from(b).join(".");
  const v6Text = (b: Uint8Array, style: number): string => {
    const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
    if (style === 0) return groups.join(":");
    if (style === 1) return groups.map((g) => g.padStart(4, "0").toUpperCase()).join(":");
    if (style === 2) return `${groups.slice(0, 6).join(":")}:${v4Text(b.subarray(12))}`;
    // Node's own canonical (RFC 5952) text, compressed.
    return new URL(`http://[${groups.join(":")}]`).hostname.slice(1, -1);
  };
  const port = fc.integer({ min: 0, max: 65535 });
  const protocol = fc.constantFrom(6, 17, 132, 47, 50, 0, 255);

  test("IPv4 flows: the core computes what the spec says, the same in both directions", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 65535 }), ipv4Bytes, port, ipv4Bytes, port, protocol, fc.boolean(), (seed, a, ap, b, bp, proto, same) => {
      if (same) b = a;
      const expected = specCommunityId(seed, a, ap, b, bp, proto);
      expect(coreCommunityId(seed, v4Text(a), ap, v4Text(b), bp, proto)).toBe(expected);
      expect(coreCommunityId(seed, v4Text(b), bp, v4Text(a), ap, proto)).toBe(expected);
    }), { numRuns: 2000 });
  });

  test("IPv6 flows, whatever the text form of the addresses", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 65535 }), ipv6Bytes, port, ipv6Bytes, port, protocol, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }),
      (seed, a, ap, b, bp, proto, sa, sb) => {
        const expected = specCommunityId(seed, a, ap, b, bp, proto);
        expect(coreCommunityId(seed, v6Text(a, sa), ap, v6Text(b, sb), bp, proto)).toBe(expected);
        expect(coreCommunityId(seed, v6Text(b, sb), bp, v6Text(a, sa), ap, proto)).toBe(expected);
      }), { numRuns: 2000 });
  });

  test("address texts to bytes", () => {
    const bytesOf = (text: string) => {
      put(Buffer.from(text));
      const n = x.ipBytes(Buffer.byteLength(text));
      return n === 0 ? undefined : Array.from(got(n));
    };
    expect(bytesOf("10.0.0.255")).toEqual([10, 0, 0, 255]);
    expect(bytesOf("::")).toEqual(Array(16).fill(0));
    expect(bytesOf("::1")).toEqual([...Array(15).fill(0), 1]);
    expect(bytesOf("fe80::")).toEqual([0xfe, 0x80, ...Array(14).fill(0)]);
    expect(bytesOf("::ffff:1.2.3.4")).toEqual([...Array(10).fill(0), 255, 255, 1, 2, 3, 4]);
    expect(bytesOf("2001:DB8::8a2e:370:7334")).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34]);
    for (const bad of ["", "1.2.3", "01.2.3.4", "1::2::3", "fe80::1%eth0", "example.com"]) expect(bytesOf(bad)).toBeUndefined();
    // Different families: no id.
    expect(coreCommunityId(0, "1.2.3.4", 1, "::1", 2, 6)).toBeUndefined();
  });
});
