// Indicator matching through the mapping (FlowTransform with `indicators`): on generated events
// in both profiles, an event whose final addresses no indicator covers is byte for byte what it
// is without sets, and one that matches is that same event with `threat.enrichments` (the
// entries tests/indicator-oracle.ts expects) as its last member, byte for byte what the
// reference (host/reference/) writes. Also the library's errors.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { FlowTransform, FlowPool, IndicatorError, defaultWasmPath, builtWasm, referenceMap, type MapOptions } from "../host/index.js";
import { ReferenceIndicators } from "../host/reference/indicators.js";
import { ip, mappedEvent } from "./generators.js";
import { expected, oracleSet, listFile, v4Text, v6Text, v4ToBig, type OracleSet } from "./indicator-oracle.js";

const modules = [defaultWasmPath(), builtWasm("nsg-flow-ecs.wasm")].map((p) => new WebAssembly.Module(readFileSync(p)));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/indicators/${name}`, import.meta.url));

interface Plain { source?: { ip?: string }; destination?: { ip?: string } }

function lines(t: FlowTransform, input: string): string[] {
  const r = t.push(Buffer.from(input));
  const e = t.end();
  return Buffer.concat([r.output, e.output]).toString("utf8").split("\n").filter((l) => l !== "");
}

/** A set from the events' own addresses (some exact, some as the /24 or /64 around them). */
function setFrom(addresses: string[], pick: number[]): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  pick.forEach((p, i) => {
    const a = addresses[p % Math.max(addresses.length, 1)];
    if (a === undefined) return;
    if (a.includes(".") && !a.includes(":") && i % 3 === 1) out.push([`${a.split(".").slice(0, 3).join(".")}.0/24`, `around ${a}`]);
    else if (i % 3 === 2 && a.includes(":") && !a.includes(".")) out.push(["::/0", undefined]);
    else out.push([a, undefined]);
  });
  out.push(["198.51.100.0/24", "unrelated"]);
  return out;
}

describe.each(["sekoia", "ecs"] as const)("the %s profile", (profile) => {
  test.each([0, 1])("unmatched events are unchanged, matched ones gain threat.enrichments (module %i)", (m) => {
    let matched = 0, unmatched = 0;
    fc.assert(fc.property(fc.array(mappedEvent, { minLength: 1, maxLength: 25 }), fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (events, pick) => {
      const options: MapOptions = profile === "ecs" ? { profile } : {};
      const input = events.join("\n") + "\n";
      const plain = lines(new FlowTransform(modules[m]!, options), input);
      const addresses = plain.flatMap((l) => {
        const e = JSON.parse(l) as Plain;
        return [e.source?.ip, e.destination?.ip].filter((a): a is string => typeof a === "string");
      });
      const spec = setFrom(addresses, pick);
      const sets: OracleSet[] = [oracleSet("cti", spec.filter(([t]) => t !== ""))];
      const t = new FlowTransform(modules[m]!, { ...options, indicators: [{ name: "cti", bytes: Buffer.from(listFile(spec)) }] });
      expect(t.indicatorReports).toHaveLength(1);
      const got = lines(t, input);
      expect(got).toHaveLength(plain.length);
      // The reference (host/reference/) with the same set gives the same bytes.
      const reference = new ReferenceIndicators();
      expect(reference.load("cti", Buffer.from(listFile(spec))).error).toBeUndefined();
      expect(got).toEqual(input.split("\n").filter((l) => l !== "").map((raw) => referenceMap(Buffer.from(raw), { ...options, indicatorSets: reference })));
      got.forEach((line, i) => {
        const p = plain[i]!;
        const e = JSON.parse(p) as Plain & { error?: unknown };
        const want = e.error ? [] : expected(sets, e.source?.ip ?? "", e.destination?.ip ?? "");
        if (want.length === 0) {
          unmatched++;
          expect(line).toBe(p);
        } else {
          matched++;
          expect(line).toBe(`${p.slice(0, -1)},"threat":{"enrichments":${JSON.stringify(want)}}}`);
        }
      });
    }), { numRuns: 40 });
    // Both kinds were seen: the property cannot pass on one alone.
    expect(matched).toBeGreaterThan(20);
    expect(unmatched).toBeGreaterThan(20);
  });
});

// The no-match filter (assembly/enrich/indicators/table.ts: a bit per IPv4 /24 and per IPv6 top
// 16-bit group, read inline for the tuple's own addresses) may only say "no" where nothing
// matches: addresses at and beside every edge of prefixes of each length (the /24 bits set one
// by one, by two and four for /22-/23, by whole bytes from /21), IPv6 beside a set's top group,
// and IPv4-mapped IPv6 in the spellings the filter reads as IPv4 and the others. Half the sets
// are big enough for /24 bits (32,768 IPv4 nodes: padded with exact addresses in 198.18.0.0/15,
// every third one, which the events also visit), the others get /16 bits.
describe("the no-match filter agrees with the oracle", () => {
  const PAD = 40_000, PAD_BASE = 0xc6120000n;
  const padLines: [string, undefined][] = Array.from({ length: PAD }, (_, k) => [v4Text(PAD_BASE + BigInt(3 * k)), undefined]);
  const padAddress = fc.integer({ min: 0, max: 3 * PAD + 2 }).map((i) => v4Text(PAD_BASE + BigInt(i)));
  const prefixV4 = fc.tuple(fc.bigInt({ min: 0n, max: 0xffffffffn }), fc.integer({ min: 0, max: 32 }))
    .map(([v, len]) => ({ net: len === 0 ? 0n : (v >> BigInt(32 - len)) << BigInt(32 - len), len }));
  const prefixV6 = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }))
    .map(([v, len]) => ({ net: len === 0 ? 0n : (v >> BigInt(128 - len)) << BigInt(128 - len), len }));
  const v4Near = (ps: { net: bigint; len: number }[]) => fc.tuple(fc.nat(), fc.constantFrom(-257n, -256n, -1n, 0n, 1n, 255n, 256n), fc.boolean())
    .map(([i, d, atEnd]) => {
      const p = ps[i % ps.length]!;
      const edge = atEnd ? p.net + (1n << BigInt(32 - p.len)) : p.net;
      return v4Text((edge + d) & 0xffffffffn);
    });
  const v6Near = (ps: { net: bigint; len: number }[]) => fc.tuple(fc.nat(), fc.constantFrom(-(1n << 112n), -1n, 0n, 1n, 1n << 112n), fc.boolean())
    .map(([i, d, atEnd]) => {
      const p = ps[i % ps.length]!;
      const edge = atEnd ? p.net + (1n << BigInt(128 - p.len)) : p.net;
      return v6Text((edge + d) & ((1n << 128n) - 1n));
    });
  const mapped = (v4: string, form: number): string =>
    [`::ffff:${v4}`, `::FFFF:${v4}`, `0:0:0:0:0:ffff:${v4}`, `::ffff:${v6Text(0xffff00000000n | v4ToBig(v4)).slice(7)}`][form]!;

  test.each([0, 1])("tuples around the set's edges (module %i)", (m) => {
    let matched = 0, unmatched = 0;
    fc.assert(fc.property(fc.tuple(fc.array(prefixV4, { minLength: 1, maxLength: 8 }), fc.array(prefixV6, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), fc.boolean())
      .chain(([p4, p6, with4, with6, big]) => fc.tuple(fc.constant(p4), fc.constant(p6), fc.constant(with4 || !with6), fc.constant(with6), fc.constant(big),
        fc.array(fc.oneof(v4Near(p4), v6Near(p6), fc.tuple(v4Near(p4), fc.integer({ min: 0, max: 3 })).map(([a, f]) => mapped(a, f)), padAddress), { minLength: 2, maxLength: 40 }))),
    ([p4, p6, with4, with6, big, addresses]) => {
      const spec: [string, string | undefined][] = [
        ...(with4 ? p4.map((p): [string, undefined] => [`${v4Text(p.net)}/${p.len}`, undefined]) : []),
        ...(with6 ? p6.map((p): [string, undefined] => [`${v6Text(p.net)}/${p.len}`, undefined]) : []),
      ];
      // The oracle walks every indicator for every address: of the padding it gets the ones an
      // event has (exact addresses: no other can match), in file order, after the prefixes.
      const visited = new Set(addresses);
      const oracleLines = big ? [...spec, ...padLines.filter(([a]) => visited.has(a))] : spec;
      const file = listFile(big ? [...spec, ...padLines] : spec);
      const events = addresses.map((a, i) => JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r",
        "flow.0": `1764583200,${a},${addresses[(i + 1) % addresses.length]},443,55000,T,O,A` }));
      const input = events.join("\n") + "\n";
      const plain = lines(new FlowTransform(modules[m]!), input);
      const got = lines(new FlowTransform(modules[m]!, { indicators: [{ name: "cti", bytes: Buffer.from(file) }] }), input);
      const sets: OracleSet[] = [oracleSet("cti", oracleLines)];
      expect(got).toHaveLength(plain.length);
      got.forEach((line, i) => {
        const e = JSON.parse(plain[i]!) as Plain;
        const want = expected(sets, e.source?.ip ?? "", e.destination?.ip ?? "");
        if (want.length === 0) {
          unmatched++;
          expect(line).toBe(plain[i]);
        } else {
          matched++;
          expect(line).toBe(`${plain[i]!.slice(0, -1)},"threat":{"enrichments":${JSON.stringify(want)}}}`);
        }
      });
    }), { numRuns: 60 });
    expect(matched).toBeGreaterThan(100);
    expect(unmatched).toBeGreaterThan(100);
  });
});

describe("the library option", () => {
  const wasm = modules[0]!;
  const raw = JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r", "flow.0": "1764583200,10.0.0.4,185.220.101.1,443,55000,T,O,A" });

  test("sets from files and from bytes, their reports, and a Tor exit matched on the destination", () => {
    const t = FlowTransform.fromFile(undefined, { indicators: [
      { name: "tor", path: fixture("exit-addresses.txt") },
      { name: "drop", bytes: readFileSync(fixture("drop.txt")) },
    ] });
    expect(t.indicatorReports.map((r) => [r.name, r.format, r.loaded, r.invalid])).toEqual([["tor", "tor", 3, 2], ["drop", "list", 3, 0]]);
    const out = JSON.parse(t.mapRecord(raw)) as { threat: { enrichments: { indicator: { provider: string }; matched: { field: string } }[] } };
    expect(out.threat.enrichments).toEqual([{ indicator: { type: "ipv4-addr", ip: "185.220.101.1", name: "185.220.101.1", provider: "tor" },
      matched: { atomic: "185.220.101.1", field: "destination.ip", type: "indicator_match_rule" } }]);
  });

  test("a set that cannot be read, or yields nothing, throws IndicatorError; bad arguments TypeError", () => {
    expect(() => FlowTransform.fromFile(undefined, { indicators: [{ name: "x", path: "/nonexistent/feed.txt" }] })).toThrow(IndicatorError);
    expect(() => FlowTransform.fromFile(undefined, { indicators: [{ name: "x", path: fixture("all-bad.txt") }] }))
      .toThrow("indicators x: no usable indicator (every entry was invalid)");
    expect(() => FlowTransform.fromFile(undefined, { indicators: [{ name: "", bytes: Buffer.from("1.2.3.4") }] })).toThrow(TypeError);
    expect(() => FlowTransform.fromFile(undefined, { indicators: [{ name: "a", bytes: Buffer.from("1.2.3.4") }, { name: "a", bytes: Buffer.from("1.2.3.5") }] })).toThrow("given twice");
    expect(() => FlowTransform.fromFile(undefined, { indicators: [{ name: "a" }] })).toThrow(TypeError);
  });
});

test("FlowPool: every thread loads the sets (from a file and from bytes) and maps as one transform does", async () => {
  const events = Array.from({ length: 6000 }, (_, i) => JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r",
    "flow.0": `1764583200,10.0.${(i >> 8) & 255}.${i & 255},${i % 7 === 0 ? "185.220.101.1" : i % 11 === 0 ? "1.10.16.9" : `203.0.113.${i & 255}`},443,${1024 + i},T,O,A` }));
  const input = Buffer.from(events.join("\n") + "\n");
  const options: MapOptions = { indicators: [{ name: "tor", path: fixture("exit-addresses.txt") }, { name: "drop", bytes: readFileSync(fixture("drop.txt")) }] };
  const one = new FlowTransform(modules[0]!, options);
  const expected = Buffer.concat([one.push(input).output, one.end().output]).toString("utf8");
  expect(expected.split(',"threat":{"enrichments":[').length - 1).toBe(events.filter((_, i) => i % 7 === 0 || i % 11 === 0).length);
  const pool = new FlowPool({ wasm: defaultWasmPath(), threads: 2, parallelFrom: 0, jobBytes: 16384, transformOptions: options });
  try {
    await pool.warm();
    const parts: Buffer[] = [];
    const totals = { records: 0, errors: 0 };
    async function* source() { for (let at = 0; at < input.length; at += 50_000) yield input.subarray(at, at + 50_000); }
    for await (const out of pool.transformInput(source(), totals, {})) parts.push(Buffer.from(out));
    expect(Buffer.concat(parts).toString("utf8") === expected).toBe(true);
    expect(totals).toEqual({ records: events.length, errors: 0 });
  } finally {
    await pool.close();
  }
});
