// Indicator sets in the core (assembly/enrich/indicators/), reached through a small test module
// compiled from the same files (tests/fixtures/indicators-module.ts): each format and its bad
// inputs (data files in tests/fixtures/indicators/), the decisions on non-canonical forms, and
// matching checked against an oracle written here — net.BlockList says whether a set covers an
// address at all, a plain BigInt walk over the indicators says which ones and in what order —
// on generated sets and addresses (fast-check), with the edges (/0, /32, /128, nested and
// overlapping prefixes, one address in two sets, IPv4-mapped IPv6).
import { mkdtempSync, readFileSync } from "node:fs";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { compileFixture } from "./compile-fixture.js";

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

interface Report {
  name: string;
  format: string;
  loaded: number;
  duplicates: number;
  invalid: number;
  expired: number;
  revoked: number;
  unsupported: number;
  errors: { line?: number; index?: number; reason: string; text: string }[];
  generation: number;
  error?: string;
}

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

// ---- The oracle ----------------------------------------------------------------------------------

function v4ToBig(s: string): bigint {
  return s.split(".").reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n);
}

function v6ToBig(s: string): bigint {
  let text = s.toLowerCase();
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const q = v4ToBig(text.slice(lastColon + 1));
    tail = [q >> 16n, q & 0xffffn];
    text = text.slice(0, lastColon + 1) + "0:0";
    tail = tail.length ? tail : [];
  }
  const [head, rest] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const h = head ? head.split(":").map((g) => BigInt(parseInt(g, 16))) : [];
  const r = rest !== undefined ? (rest ? rest.split(":").map((g) => BigInt(parseInt(g, 16))) : []) : [];
  const groups = rest !== undefined ? [...h, ...Array(8 - h.length - r.length).fill(0n), ...r] : h;
  if (tail.length) { groups[6] = tail[0]!; groups[7] = tail[1]!; }
  return groups.reduce((a, g) => (a << 16n) | g, 0n);
}

function v4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
}

/** RFC 5952. */
function v6Text(v: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

interface Indicator { family: 4 | 6; net: bigint; len: number; desc?: string; id?: string; confidence?: string }
interface OracleSet { name: string; stix: boolean; indicators: Indicator[] }

/** A prefix text as the core reads it (mapped IPv6 of /96 or longer is IPv4), or undefined. */
function parsePrefix(text: string): Indicator | undefined {
  const [addr, bits, more] = text.split("/");
  if (more !== undefined || addr === undefined) return undefined;
  if (bits !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return undefined;
  let family: 4 | 6, net: bigint, len: number;
  if (isIPv4(addr)) {
    family = 4; net = v4ToBig(addr); len = bits === undefined ? 32 : Number(bits);
    if (len > 32) return undefined;
  } else if (isIPv6(addr) && !addr.includes("%")) {
    family = 6; net = v6ToBig(addr); len = bits === undefined ? 128 : Number(bits);
    if (len > 128) return undefined;
    if (net >> 32n === 0xffffn && len >= 96) { family = 4; net &= 0xffffffffn; len -= 96; }
  } else return undefined;
  const width = family === 4 ? 32 : 128;
  if ((net & ((1n << BigInt(width - len)) - 1n)) !== 0n) return undefined;
  return { family, net, len };
}

function covers(i: Indicator, family: 4 | 6, a: bigint): boolean {
  const width = family === 4 ? 32 : 128;
  return i.family === family && (a >> BigInt(width - i.len)) === (i.net >> BigInt(width - i.len));
}

/** The address text as the core looks it up: its family and value (mapped → IPv4). */
function addressOf(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: v4ToBig(text) };
  if (!isIPv6(text) || text.includes("%")) return undefined;
  const v = v6ToBig(text);
  if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
  return { family: 6, value: v };
}

function entryOf(set: OracleSet, i: Indicator, atomic: string, field: string): unknown {
  const width = i.family === 4 ? 32 : 128;
  const text = i.family === 4 ? v4Text(i.net) : v6Text(i.net);
  const indicator: Record<string, unknown> = { type: i.family === 4 ? "ipv4-addr" : "ipv6-addr" };
  if (i.len === width) indicator.ip = text;
  indicator.name = i.len === width ? text : `${text}/${i.len}`;
  indicator.provider = set.name;
  if (i.desc) indicator.description = i.desc;
  if (i.confidence) indicator.confidence = i.confidence;
  const matched: Record<string, unknown> = { atomic, field };
  if (i.id) matched.id = i.id;
  matched.type = "indicator_match_rule";
  return { indicator, matched };
}

/** Which indicators cover each address, innermost first, then in set and file order; a
 * prefix repeated within a list set (or within one STIX object) counts once. */
function expected(sets: OracleSet[], src: string, dst: string): unknown[] {
  const out: unknown[] = [];
  for (const [atomic, field] of [[src, "source.ip"], [dst, "destination.ip"]] as const) {
    const a = addressOf(atomic);
    if (!a) continue;
    const found: { set: OracleSet; si: number; i: Indicator; k: number }[] = [];
    sets.forEach((set, si) => {
      const seen = new Set<string>();
      set.indicators.forEach((i, k) => {
        if (!covers(i, a.family, a.value)) return;
        const key = `${i.family}/${i.net}/${i.len}/${set.stix ? i.id : ""}`;
        if (seen.has(key)) return;
        seen.add(key);
        found.push({ set, si, i, k });
      });
    });
    found.sort((p, q) => q.i.len - p.i.len || p.si - q.si || p.k - q.k);
    for (const f of found) out.push(entryOf(f.set, f.i, atomic, field));
  }
  return out;
}

/** net.BlockList's answer: the sets that cover the address at all. */
function blockListSets(sets: OracleSet[], text: string): string[] {
  const a = addressOf(text);
  if (!a) return [];
  return sets.filter((set) => {
    const list = new BlockList();
    for (const i of set.indicators) {
      if (i.family !== a.family) continue;
      list.addSubnet(i.family === 4 ? v4Text(i.net) : v6Text(i.net), i.len, i.family === 4 ? "ipv4" : "ipv6");
    }
    return list.check(a.family === 4 ? v4Text(a.value) : v6Text(a.value), a.family === 4 ? "ipv4" : "ipv6");
  }).map((s) => s.name);
}

// ---- Generators ---------------------------------------------------------------------------------

const V4_BASES = ["0.0.0.0", "10.0.0.0", "10.1.2.3", "10.1.2.255", "10.1.255.255", "192.168.0.1", "255.255.255.255", "198.51.100.7"].map(v4ToBig);
const V6_BASES = ["::", "::1", "2001:db8::", "2001:db8::1", "2001:db8:0:1::", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"].map(v6ToBig);

const v4Value = fc.oneof(fc.constantFrom(...V4_BASES), fc.bigInt({ min: 0n, max: 0xffffffffn }),
  fc.tuple(fc.constantFrom(...V4_BASES), fc.integer({ min: -3, max: 3 })).map(([b, d]) => (b + BigInt(d)) & 0xffffffffn));
const v6Value = fc.oneof(fc.constantFrom(...V6_BASES), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  fc.tuple(fc.constantFrom(...V6_BASES), fc.integer({ min: -3, max: 3 })).map(([b, d]) => (b + BigInt(d)) & ((1n << 128n) - 1n)));

/** An indicator line: IPv4, IPv6 or IPv4-mapped IPv6, exact or a prefix, written in one of the
 * forms the core accepts (a /32 or /128 with or without its length, IPv6 expanded or not). */
const indicatorText = fc.oneof(
  fc.tuple(v4Value, fc.integer({ min: 0, max: 32 }), fc.boolean()).map(([v, len, bare]) => {
    const net = len === 0 ? 0n : v & (((1n << BigInt(len)) - 1n) << BigInt(32 - len));
    return len === 32 && bare ? v4Text(net) : `${v4Text(net)}/${len}`;
  }),
  fc.tuple(v6Value, fc.integer({ min: 0, max: 128 }), fc.boolean(), fc.boolean()).map(([v, len, bare, expand]) => {
    const net = len === 0 ? 0n : v & (((1n << BigInt(len)) - 1n) << BigInt(128 - len));
    const text = expand ? Array.from({ length: 8 }, (_, i) => ((net >> BigInt(112 - 16 * i)) & 0xffffn).toString(16).toUpperCase().padStart(4, "0")).join(":") : v6Text(net);
    return len === 128 && bare ? text : `${text}/${len}`;
  }),
  fc.tuple(v4Value, fc.integer({ min: 96, max: 128 })).map(([v, len]) => {
    const bits = len - 96;
    const net = bits === 0 ? 0n : v & (((1n << BigInt(bits)) - 1n) << BigInt(32 - bits));
    return `::ffff:${v4Text(net)}/${len}`;
  }),
);

const addressText = fc.oneof(
  v4Value.map(v4Text),
  v6Value.map(v6Text),
  v4Value.map((v) => `::ffff:${v4Text(v)}`),
  fc.constantFrom("not an address", "", "10.1.2", "010.1.2.3", "2001:db8::1%eth0"),
);

const setSpec = fc.record({
  lines: fc.array(fc.tuple(indicatorText, fc.option(fc.constantFrom("SBL1", "SBL2 \"quoted\"", "ünïcode"), { nil: undefined })), { minLength: 1, maxLength: 30 }),
});

function listFile(lines: [string, string | undefined][]): string {
  return lines.map(([t, d]) => (d === undefined ? t : `${t} ; ${d}`)).join("\n") + "\n";
}

function oracleSet(name: string, lines: [string, string | undefined][]): OracleSet {
  return { name, stix: false, indicators: lines.map(([t, d]) => ({ ...parsePrefix(t)!, desc: d })) };
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
