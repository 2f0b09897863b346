// Indicator sets in the core (assembly/enrich/indicators/), reached through a small test module
// compiled from the same files (tests/fixtures/indicators-module.ts): each format and its bad
// inputs (data files in tests/fixtures/indicators/), the decisions on non-canonical forms, and
// matching checked against an oracle written here — net.BlockList says whether a set covers an
// address at all, a plain BigInt walk over the indicators says which ones and in what order —
// on generated sets and addresses (fast-check), with the edges (/0, /32, /128, nested and
// overlapping prefixes, one address in two sets, IPv4-mapped IPv6).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { compileFixture } from "./compile-fixture.js";
import { parseIndicatorSet, ReferenceIndicators } from "../host/reference/indicators.js";
import { expected, blockListSets, listFile, oracleSet, setSpec, addressText } from "./indicator-oracle.js";
import type { IndicatorReport } from "../host/transform/loader.js";

const here = fileURLToPath(new URL("./fixtures/indicators/", import.meta.url));
const fixture = (name: string): Buffer => readFileSync(join(here, name));

interface Exports {
  memory: WebAssembly.Memory;
  input(size: number): number;
  output(): number;
  begin(len: number): void;
  feed(len: number): void;
  end(now: bigint): number;
  unload(len: number): number;
  currentGeneration(): number;
  enrich(srcLen: number, dstLen: number): number;
  entries(): number;
}

// The core's report, as the library hands it out.
type Report = IndicatorReport;

let wasm: WebAssembly.Module;

beforeAll(() => {
  const path = join(mkdtempSync(join(tmpdir(), "nsg-flow-ecs-indicators-")), "indicators.wasm");
  compileFixture("indicators-module.ts", "indicators-module.asconfig.json", path);
  wasm = new WebAssembly.Module(readFileSync(path));
});

// 2026-12-03T00:00:00Z in microseconds: "now" for STIX valid_until.
const NOW = 1_796_256_000_000_000n;

class Core {
  x: Exports;
  constructor() {
    this.x = new WebAssembly.Instance(wasm, { env: { abort() { throw new Error("abort"); }, seed: () => 1 } }).exports as unknown as Exports;
  }
  private put(bytes: Uint8Array): void {
    new Uint8Array(this.x.memory.buffer, this.x.input(bytes.length), bytes.length).set(bytes);
  }
  private out(n: number): string {
    return Buffer.from(this.x.memory.buffer, this.x.output(), n).toString();
  }
  /** Loads a set, fed in pieces of `piece` bytes (0: all at once). */
  load(name: string, file: string | Uint8Array, piece = 0, now = NOW): Report {
    const nameBytes = Buffer.from(name);
    this.put(nameBytes);
    this.x.begin(nameBytes.length);
    const bytes = typeof file === "string" ? Buffer.from(file) : Buffer.from(file);
    const step = piece > 0 ? piece : Math.max(bytes.length, 1);
    for (let at = 0; at < bytes.length; at += step) {
      const part = bytes.subarray(at, at + step);
      this.put(part);
      this.x.feed(part.length);
    }
    return JSON.parse(this.out(this.x.end(now))) as Report;
  }
  unload(name: string): boolean {
    const b = Buffer.from(name);
    this.put(b);
    return this.x.unload(b.length) === 1;
  }
  /** The raw fragment for the two address texts ("" when nothing matched). */
  fragment(src: string, dst: string): string {
    const a = Buffer.from(src), b = Buffer.from(dst);
    this.put(Buffer.concat([a, b]));
    return this.out(this.x.enrich(a.length, b.length));
  }
  /** The enrichments as parsed JSON ([] when nothing matched). */
  enrichments(src: string, dst: string): unknown[] {
    const f = this.fragment(src, dst);
    if (f === "") return [];
    expect(f.startsWith(`,"threat":{"enrichments":[`)).toBe(true);
    return (JSON.parse(`{${f.slice(1)}}`) as { threat: { enrichments: unknown[] } }).threat.enrichments;
  }
}

// ---- Tests -----------------------------------------------------------------------------------------

describe("matching against the oracle", () => {
  test("generated sets and addresses: the same entries, in the same order, as BlockList and the walk say", () => {
    fc.assert(fc.property(fc.array(setSpec, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(addressText, addressText), { minLength: 1, maxLength: 20 }), (specs, pairs) => {
      const core = new Core();
      const sets = specs.map((s, i) => oracleSet(`set${i}`, s.lines));
      specs.forEach((s, i) => {
        const r = core.load(`set${i}`, listFile(s.lines));
        expect(r.error).toBeUndefined();
        expect(r.invalid).toBe(0);
        expect(r.loaded + r.duplicates).toBe(s.lines.length);
        const { generation: _, ...report } = r;
        expect(report).toEqual(parseIndicatorSet(`set${i}`, Buffer.from(listFile(s.lines)), 0).report);
      });
      for (const [src, dst] of pairs) {
        const got = core.enrichments(src, dst);
        expect(got).toEqual(expected(sets, src, dst));
        // Byte for byte too: key order and absent values.
        expect(JSON.stringify(got)).toBe(JSON.stringify(expected(sets, src, dst)));
        for (const [text, field] of [[src, "source.ip"], [dst, "destination.ip"]] as const) {
          const providers = [...new Set((got as { indicator: { provider: string }; matched: { field: string } }[])
            .filter((e) => e.matched.field === field).map((e) => e.indicator.provider))].sort();
          expect(providers).toEqual(blockListSets(sets, text).sort());
        }
      }
    }), { numRuns: 150 });
  });

  test("a set fed in pieces of any size gives the same report and the same matches", () => {
    fc.assert(fc.property(setSpec, fc.integer({ min: 1, max: 17 }), fc.array(addressText, { minLength: 1, maxLength: 10 }), (spec, piece, addrs) => {
      const whole = new Core(), cut = new Core();
      const file = listFile(spec.lines);
      expect(cut.load("s", file, piece)).toEqual(whole.load("s", file));
      for (const a of addrs) expect(cut.fragment(a, a)).toBe(whole.fragment(a, a));
    }), { numRuns: 60 });
  });
});

describe("edges", () => {
  test("/0 covers every IPv4 address (and its mapped form), not IPv6; ::/0 every IPv6 address, not IPv4", () => {
    const core = new Core();
    core.load("all4", "0.0.0.0/0\n");
    core.load("all6", "::/0\n");
    const one = (a: string) => (core.enrichments(a, "x") as { indicator: { name: string } }[]).map((e) => e.indicator.name);
    expect(one("0.0.0.0")).toEqual(["0.0.0.0/0"]);
    expect(one("255.255.255.255")).toEqual(["0.0.0.0/0"]);
    expect(one("::ffff:1.2.3.4")).toEqual(["0.0.0.0/0"]);
    expect(one("::")).toEqual(["::/0"]);
    expect(one("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toEqual(["::/0"]);
  });

  test("/32 and /128 are one address: type, ip and name; the neighbours do not match", () => {
    const core = new Core();
    core.load("one", "198.51.100.7/32\n2001:db8::7/128\n");
    expect(core.enrichments("198.51.100.7", "2001:db8::7")).toEqual([
      { indicator: { type: "ipv4-addr", ip: "198.51.100.7", name: "198.51.100.7", provider: "one" }, matched: { atomic: "198.51.100.7", field: "source.ip", type: "indicator_match_rule" } },
      { indicator: { type: "ipv6-addr", ip: "2001:db8::7", name: "2001:db8::7", provider: "one" }, matched: { atomic: "2001:db8::7", field: "destination.ip", type: "indicator_match_rule" } },
    ]);
    for (const a of ["198.51.100.6", "198.51.100.8", "2001:db8::6", "2001:db8::8", "::ffff:198.51.100.6"]) expect(core.fragment(a, a)).toBe("");
  });

  test("nested prefixes: innermost first; siblings and the space after a nested prefix", () => {
    const core = new Core();
    core.load("n", "10.0.0.0/8\n10.1.0.0/16\n10.1.2.0/24\n10.1.2.3\n10.2.0.0/16\n");
    const names = (a: string) => (core.enrichments(a, "") as { indicator: { name: string } }[]).map((e) => e.indicator.name);
    expect(names("10.1.2.3")).toEqual(["10.1.2.3", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]);
    expect(names("10.1.2.4")).toEqual(["10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]);
    expect(names("10.1.3.0")).toEqual(["10.1.0.0/16", "10.0.0.0/8"]);
    expect(names("10.2.255.255")).toEqual(["10.2.0.0/16", "10.0.0.0/8"]);
    expect(names("10.3.0.0")).toEqual(["10.0.0.0/8"]);
    expect(names("11.0.0.0")).toEqual([]);
    expect(names("9.255.255.255")).toEqual([]);
  });

  test("the same address in two sets: one entry per set, in load order; repeated in one list: once, counted", () => {
    const core = new Core();
    expect(core.load("tor", "192.0.2.1\n192.0.2.1\n")).toMatchObject({ loaded: 1, duplicates: 1 });
    core.load("cti", "192.0.2.1 ; listed\n");
    const got = core.enrichments("192.0.2.1", "192.0.2.1") as { indicator: { provider: string; description?: string }; matched: { field: string } }[];
    expect(got.map((e) => `${e.matched.field} ${e.indicator.provider} ${e.indicator.description ?? ""}`)).toEqual([
      "source.ip tor ", "source.ip cti listed", "destination.ip tor ", "destination.ip cti listed",
    ]);
  });

  test("an address that does not parse matches nothing, and nothing is written", () => {
    const core = new Core();
    core.load("all", "0.0.0.0/0\n::/0\n");
    for (const a of ["", "1.2.3", "01.2.3.4", "1.2.3.4 ", "2001:db8::1%eth0", "::ffff:1.2.3", "gggg::", "1.2.3.4/32"]) {
      expect(core.fragment(a, a)).toBe("");
    }
  });

  test("no set loaded: nothing is written", () => {
    expect(new Core().fragment("1.2.3.4", "::1")).toBe("");
  });
});

describe("lists", () => {
  test("Spamhaus DROP: comments skipped, the text after ';' is the description", () => {
    const core = new Core();
    const r = core.load("drop", fixture("drop.txt"));
    expect(r).toMatchObject({ name: "drop", format: "list", loaded: 3, invalid: 0, errors: [] });
    expect(core.enrichments("1.10.20.30", "")).toEqual([
      { indicator: { type: "ipv4-addr", name: "1.10.16.0/20", provider: "drop", description: "SBL256894" }, matched: { atomic: "1.10.20.30", field: "source.ip", type: "indicator_match_rule" } },
    ]);
  });

  test("bad lines are counted, the first five reported with their line, the rest loads", () => {
    const core = new Core();
    const r = core.load("bad", fixture("bad-list.txt"));
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ loaded: 3, duplicates: 2, invalid: 8 });
    expect(r.errors).toEqual([
      { line: 3, reason: "not an IPv4 or IPv6 address", text: "010.1.1.1" },
      { line: 4, reason: "prefix length over 32", text: "1.2.3.4/33" },
      { line: 5, reason: "host bits set after the prefix length", text: "10.0.0.1/8" },
      { line: 6, reason: "bad prefix length (leading zero)", text: "10.0.0.0/08" },
      { line: 8, reason: "not an IPv4 or IPv6 address", text: "not-an-address" },
    ]);
    // Written in upper case, named in RFC 5952 form.
    expect((core.enrichments("2001:db8::99", "") as { indicator: { name: string } }[])[0]!.indicator.name).toBe("2001:db8::/32");
    expect(core.fragment("10.1.1.1", "1.2.3.4")).toBe("");
  });

  test("a file with no usable indicator is an error, and loads nothing", () => {
    const core = new Core();
    expect(core.load("x", fixture("all-bad.txt"))).toMatchObject({ loaded: 0, invalid: 2, error: "no usable indicator (every entry was invalid)" });
    expect(core.load("x", fixture("comments-only.txt"))).toMatchObject({ loaded: 0, invalid: 0, error: "no usable indicator" });
    expect(core.load("x", "")).toMatchObject({ error: "no usable indicator" });
    expect(core.x.currentGeneration()).toBe(0);
  });

  test("CRLF line ends and a last line without one", () => {
    const core = new Core();
    expect(core.load("w", "192.0.2.1\r\n192.0.2.2 ; two\r\n192.0.2.3")).toMatchObject({ loaded: 3, invalid: 0 });
    expect((core.enrichments("192.0.2.2", "") as { indicator: { description: string } }[])[0]!.indicator.description).toBe("two");
    expect(core.fragment("192.0.2.3", "")).not.toBe("");
  });
});

describe("Tor exit-addresses", () => {
  test("ExitAddress lines are the indicators, the other lines are skipped, bad ones reported", () => {
    const core = new Core();
    const r = core.load("tor", fixture("exit-addresses.txt"));
    expect(r).toMatchObject({ format: "tor", loaded: 3, invalid: 2 });
    expect(r.errors.map((e) => [e.line, e.reason])).toEqual([[11, "not an IPv4 or IPv6 address"], [12, "no address after ExitAddress"]]);
    expect(core.enrichments("10.0.0.4", "185.220.101.1")).toEqual([
      { indicator: { type: "ipv4-addr", ip: "185.220.101.1", name: "185.220.101.1", provider: "tor" }, matched: { atomic: "185.220.101.1", field: "destination.ip", type: "indicator_match_rule" } },
    ]);
    expect(core.fragment("2001:67c:289c:0::9", "")).not.toBe("");
  });
});

describe("STIX 2.1 bundles", () => {
  test("indicators with ipv4/ipv6 patterns load; expired, revoked and other patterns are counted and skipped", () => {
    const core = new Core();
    const r = core.load("cti", fixture("bundle.json"));
    expect(r).toMatchObject({ format: "stix", loaded: 5, invalid: 0, expired: 1, revoked: 1, unsupported: 3, errors: [] });
    expect(core.fragment("198.51.100.7", "")).toBe(
      `,"threat":{"enrichments":[{"indicator":{"type":"ipv4-addr","ip":"198.51.100.7","name":"198.51.100.7","provider":"cti",` +
      `"description":"Emotet C2 (malicious-activity, attribution): Command and control server","confidence":"High"},` +
      `"matched":{"atomic":"198.51.100.7","field":"source.ip","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","type":"indicator_match_rule"}}]}`);
    // One object, three prefixes joined by OR (one through ISSUBSET): each matches, with the object's id.
    for (const [a, name] of [["203.0.113.9", "203.0.113.0/24"], ["2001:db8:dead:1::1", "2001:db8:dead::/48"], ["192.0.2.100", "192.0.2.0/25"]] as const) {
      expect(core.enrichments(a, "")).toEqual([{ indicator: { type: a.includes(":") ? "ipv6-addr" : "ipv4-addr", name, provider: "cti", confidence: "Low" },
        matched: { atomic: a, field: "source.ip", id: "indicator--0c2e6a8b-9a77-4b4e-8a51-1a4d1f2e3b4c", type: "indicator_match_rule" } }]);
    }
    expect(core.enrichments("2001:db8::5", "")).toEqual([{ indicator: { type: "ipv6-addr", ip: "2001:db8::5", name: "2001:db8::5", provider: "cti", description: "zero confidence", confidence: "None" },
      matched: { atomic: "2001:db8::5", field: "source.ip", id: "indicator--66666666-6666-4666-8666-666666666666", type: "indicator_match_rule" } }]);
    for (const a of ["192.0.2.200", "192.0.2.201", "192.0.2.202", "192.0.2.204", "192.0.2.128"]) expect(core.fragment(a, "")).toBe("");
  });

  test("valid_until is compared with the time given: the same bundle a long time ago has no expired indicator", () => {
    const r = new Core().load("cti", fixture("bundle.json"), 0, 1_577_836_800_000_000n); // 2020-01-01
    expect(r).toMatchObject({ loaded: 6, expired: 0 });
  });

  test("bad objects are counted and reported by index, the rest loads", () => {
    const core = new Core();
    const r = core.load("cti", fixture("bad-bundle.json"));
    expect(r).toMatchObject({ loaded: 1, invalid: 8 });
    expect(r.errors.map((e) => [e.index, e.reason])).toEqual([
      [0, "not an object"],
      [1, "not an IPv4 or IPv6 address: '198.51.100.300'"],
      [2, "pattern is not a string"],
      [3, "confidence is not an integer from 0 to 100"],
      [4, "valid_until is not a timestamp"],
    ]);
    expect(core.fragment("198.51.100.12", "")).toContain(`"confidence":"Medium"`);
  });

  test("a document that is not a usable bundle is an error", () => {
    const core = new Core();
    expect(core.load("x", fixture("truncated-bundle.json")).error).toMatch(/^not valid JSON at byte \d+$/);
    expect(core.load("x", fixture("not-a-bundle.json")).error).toBe("not a STIX bundle (no \"type\":\"bundle\")");
    expect(core.load("x", fixture("objects-not-array.json")).error).toBe("a STIX bundle whose objects are not an array");
    expect(core.load("x", fixture("no-usable-stix.json"))).toMatchObject({ unsupported: 1, error: "no usable indicator" });
    expect(core.load("x", "{\"type\":\"bundle\",\"objects\":[]} trailing").error).toMatch(/^not valid JSON/);
    expect(core.load("x", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])).error).toBe("not valid JSON at byte 2");
    // Only a document starting with '{' is JSON; anything else is read as a list.
    expect(core.load("x", "[".repeat(70) + "]".repeat(70)).error).toBe("no usable indicator (every entry was invalid)");
    expect(core.load("x", "{" + "\"a\":[".repeat(70) + "]".repeat(70) + "}").error).toMatch(/^not valid JSON/);
    expect(core.x.currentGeneration()).toBe(0);
  });

  test("one prefix under two STIX objects is two entries; twice in one object, one", () => {
    const core = new Core();
    const bundle = { type: "bundle", objects: [
      { type: "indicator", id: "indicator--1", pattern_type: "stix", pattern: "[ipv4-addr:value = '192.0.2.1'] OR [ipv4-addr:value = '192.0.2.1/32']" },
      { type: "indicator", id: "indicator--2", pattern_type: "stix", pattern: "[ipv4-addr:value = '192.0.2.1']" },
    ] };
    expect(core.load("cti", JSON.stringify(bundle))).toMatchObject({ loaded: 2, duplicates: 1 });
    expect((core.enrichments("192.0.2.1", "") as { matched: { id: string } }[]).map((e) => e.matched.id)).toEqual(["indicator--1", "indicator--2"]);
  });
});

describe("sets over time", () => {
  test("loading a name again replaces that set (it moves after the others), a failed load keeps the old one, unload removes it", () => {
    const core = new Core();
    expect(core.load("a", "192.0.2.1\n").generation).toBe(1);
    core.load("b", "192.0.2.1\n198.51.100.0/24\n");
    const providers = (a: string) => (core.enrichments(a, "") as { indicator: { provider: string } }[]).map((e) => e.indicator.provider);
    expect(providers("192.0.2.1")).toEqual(["a", "b"]);
    expect(core.load("a", "192.0.2.2\n192.0.2.1 ; again\n").generation).toBe(3);
    expect(providers("192.0.2.1")).toEqual(["b", "a"]);
    expect(providers("192.0.2.2")).toEqual(["a"]);
    expect(core.load("a", "not an address\n").error).toBeDefined();
    expect(core.x.currentGeneration()).toBe(3);
    expect(providers("192.0.2.2")).toEqual(["a"]);
    expect(core.unload("a")).toBe(true);
    expect(core.unload("a")).toBe(false);
    expect(providers("192.0.2.2")).toEqual([]);
    expect(providers("198.51.100.9")).toEqual(["b"]);
    expect(core.x.currentGeneration()).toBe(4);
  });

  test("replacing sets again and again matches what loading the final sets once gives", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), setSpec), { minLength: 1, maxLength: 8 }), fc.array(addressText, { maxLength: 10 }), (loads, addrs) => {
      const core = new Core();
      const final = new Map<string, [string, string | undefined][]>();
      for (const [name, spec] of loads) {
        core.load(name, listFile(spec.lines));
        final.delete(name);
        final.set(name, spec.lines);
      }
      const sets = [...final].map(([name, lines]) => oracleSet(name, lines));
      for (const a of addrs) expect(core.enrichments(a, a)).toEqual(expected(sets, a, a));
    }), { numRuns: 60 });
  });
});

describe("the reference (host/reference/indicators.ts)", () => {
  test.each(["drop.txt", "bad-list.txt", "exit-addresses.txt", "bundle.json", "bad-bundle.json", "all-bad.txt", "comments-only.txt",
    "not-a-bundle.json", "objects-not-array.json", "no-usable-stix.json"])("reports %s as the core does, and matches the same", (name) => {
    const core = new Core();
    const { generation: _, ...got } = core.load("feed", fixture(name));
    const reference = new ReferenceIndicators();
    const want = reference.load("feed", fixture(name), Number(NOW / 1000n));
    // Error events quote the object as written (the core) or re-serialised (the reference).
    const strip = (r: { errors: { text: string }[] }) => ({ ...r, errors: r.errors.map(({ text: _t, ...e }) => e) });
    expect(strip(got)).toEqual(strip(want));
    for (const a of ["198.51.100.7", "203.0.113.9", "2001:db8:dead:1::1", "192.0.2.100", "2001:db8::5", "185.220.101.1", "1.10.16.1", "192.0.2.1", "2001:db8::1", "198.51.100.12"]) {
      expect(core.enrichments(a, a)).toEqual(reference.entries(a, a));
    }
  });
});

describe("hostile files", () => {
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete")), { minLength: 1, maxLength: 6 });
  function mutate(bytes: Buffer, list: [number, number, string][]): Buffer {
    const b = [...bytes];
    for (const [at, byte, op] of list) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (op === "set") b[i] = byte;
      else if (op === "insert") b.splice(i, 0, byte);
      else b.splice(i, 1);
    }
    return Buffer.from(b);
  }

  test("mutated bundles and lists: a report every time, never a trap; what loads still matches as the reference says", () => {
    const sources = ["bundle.json", "bad-bundle.json", "drop.txt", "exit-addresses.txt", "bad-list.txt"].map(fixture);
    fc.assert(fc.property(fc.constantFrom(...sources), edits, fc.integer({ min: 0, max: 64 }), (file, list, piece) => {
      const core = new Core();
      const bytes = mutate(file, list);
      const r = core.load("m", bytes, piece);
      expect(typeof r.loaded).toBe("number");
      const reference = new ReferenceIndicators();
      const want = reference.load("m", bytes, Number(NOW / 1000n));
      expect(r.error === undefined).toBe(want.error === undefined);
      if (r.error === undefined) {
        expect(r.loaded).toBe(want.loaded);
        for (const a of ["198.51.100.7", "203.0.113.9", "192.0.2.100", "185.220.101.1", "1.10.16.1", "2001:db8::1"]) {
          expect(core.enrichments(a, "")).toEqual(reference.entries(a, ""));
        }
      }
    }), { numRuns: 300 });
  });
});
