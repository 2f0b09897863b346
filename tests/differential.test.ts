// Property tests: the WASM core (both builds) and the plain-TypeScript reference agree, byte
// for byte, on generated flow events, and on mutated and random bytes, where the core must also never trap
// and always answer with exactly one JSON object.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { FlowTransform, builtWasm } from "../host/loader.js";
import { referenceMap, type ReferenceOptions } from "../host/reference.js";
import type { MapOptions } from "../host/loader.js";

const modules = ["nsg-flow-ecs.wasm", "nsg-flow-ecs-simd.wasm"].map(
  (f) => [f, new WebAssembly.Module(readFileSync(builtWasm(f)))] as const,
);
// One pair of transforms per set of options, made on first use.
const builds = new Map<string, (readonly [string, FlowTransform])[]>();
const transforms = (options: MapOptions) => {
  const key = JSON.stringify(options);
  if (!builds.has(key)) builds.set(key, modules.map(([f, m]) => [f, new FlowTransform(m, options)] as const));
  return builds.get(key)!;
};

/** Maps with every implementation; fails the property on any disagreement or trap. */
function agree(raw: Uint8Array, options: ReferenceOptions = {}): void {
  const expected = referenceMap(raw, options);
  const expectedValue = JSON.parse(expected);
  for (const [name, t] of transforms(options)) {
    const before = t.traps;
    const got = t.mapRecord(raw);
    if (t.traps !== before) throw new Error(`${name} trapped on ${JSON.stringify(Buffer.from(raw).toString("latin1"))}`);
    if (/[\n\r]/.test(got)) throw new Error(`${name}: output is not one line`);
    const value = JSON.parse(got);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${name}: not an object`);
    expect({ build: name, input: Buffer.from(raw).toString("latin1"), out: value })
      .toEqual({ build: name, input: Buffer.from(raw).toString("latin1"), out: expectedValue });
    // Not only the same JSON: the same bytes, so outputs can be compared with cmp.
    expect(got).toBe(expected);
  }
}

// ─── Generators ─────────────────────────────────────────────────────────────────────────────

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{1,${n}}$`));
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((p) => p.join("."));
const ipv6 = fc.oneof(
  fc.array(hex(4), { minLength: 8, maxLength: 8 }).map((g) => g.join(":")),
  fc.tuple(fc.array(hex(4), { maxLength: 3 }), fc.array(hex(4), { maxLength: 3 })).map(([a, b]) => `${a.join(":")}::${b.join(":")}`),
  fc.tuple(fc.array(hex(4), { maxLength: 2 }), ipv4).map(([a, v4]) => `${a.join(":")}::ffff:${v4}`),
);
const notQuiteIp = fc.constantFrom("01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4.", "1.2.3.1000",
  "1:2:3:4:5:6:7", "1::2::3", "::ffff:1.2.3", "fe80::1%eth0", "12345::", ":::");
const ip = fc.oneof({ weight: 6, arbitrary: ipv4 }, { weight: 2, arbitrary: ipv6 }, { weight: 1, arbitrary: notQuiteIp });
const port = fc.oneof(fc.integer({ min: 0, max: 65535 }).map(String), fc.constantFrom("00080", "65536", "", "x"));
const counter = fc.oneof(
  fc.constant(""),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
  fc.constantFrom("0", "007", "4294967296", "18446744073709551615", "18446744073709551616", "-1"),
);
const counters = fc.array(counter, { minLength: 4, maxLength: 4 });

const nsgTuple = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), ip, ip, port, port, fc.constantFrom("T", "U", "X"), fc.constantFrom("I", "O"), fc.constantFrom("A", "D"))
    .map((f) => f.join(",")),
  fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), ip, ip, port, port, fc.constantFrom("T", "U"), fc.constantFrom("I", "O", "Q"), fc.constantFrom("A", "D"),
    fc.constantFrom("B", "C", "E", "", "Z"), counters).map(([...f]) => [...f.slice(0, 9), ...(f[9] as string[])].join(",")),
);
const vnetTuple = fc.tuple(
  fc.oneof(fc.bigInt({ min: 0n, max: 253402300799999n }).map(String), fc.constantFrom("253402300800000", "99999999999999999999", "")),
  ip, ip, port, port, fc.constantFrom("6", "17", "1", "58", "47", "132", "006", "0", "255", "146", "147", "256", "999", "tcp", ""), fc.constantFrom("I", "O", "X"),
  fc.constantFrom("B", "C", "E", "D", "A"), fc.constantFrom("NX", "X", "NX_HW_NOT_SUPPORTED", ""), counters,
).map(([...f]) => [...f.slice(0, 9), ...(f[9] as string[])].join(","));
const tuple = fc.oneof(nsgTuple, vnetTuple, fc.constantFrom("", "garbage", "1,2,3", "1,1.1.1.1,2.2.2.2,1,2,T,I,A,B,1,2,3,4,5"));

const pad = (n: number, w: number) => String(n).padStart(w, "0");
const isoTime = fc.tuple(
  fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }),
  fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }),
  fc.stringMatching(/^[0-9]{0,9}$/), fc.constantFrom("Z", "z", "+00:00", "+02:00", "-05:30", "+0530", "+14:00", "", "+24:00", "Q"),
  fc.constantFrom("T", " ", "t"),
).map(([y, mo, d, h, mi, s, frac, zone, sep]) =>
  `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${sep}${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac ? "." + frac : ""}${zone}`);
const time = fc.oneof({ weight: 4, arbitrary: isoTime }, { weight: 1, arbitrary: fc.constantFrom("", "yesterday", "2024-03-18") });

const text = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_\-.]{0,24}$/),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom("", "a\"b", "back\\slash", "tab\there", "é日本", "\u{1F600}", "\ud800", "\u0000", "\u2028"),
);

/** A JSON value for a field: usually of the right type, sometimes not. */
function valueOf(good: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: good },
    { weight: 1, arbitrary: fc.constantFrom(null, 5, 2.5, true, [], { a: 1 }) },
  );
}

/** Azure resource ids: the documented shape with keywords in any case, and ids cut short, with
 * empty or extra segments, or not ids at all. */
const segment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.\-]{1,12}$/), fc.constantFrom("", "é", "a b", "\"q\""));
const anyCase = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length })
  .map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(""));
const resourceId = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(anyCase("subscriptions"), segment, fc.boolean(), anyCase("resourceGroups"), segment, fc.boolean(), anyCase("providers"),
    segment, segment, fc.array(segment, { maxLength: 4 }), fc.integer({ min: 2, max: 12 }))
    .map(([sub, s, withGroup, rg, g, withProvider, pr, ns, type, names, keep]) =>
      ["", sub, s, ...(withGroup ? [rg, g] : []), ...(withProvider ? [pr, ns, type, ...names] : [])].slice(0, keep).join("/")) },
  { weight: 1, arbitrary: fc.constantFrom("/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N", "subscriptions/s", "/", "/subscriptions/", "/subscriptionsX/s") },
  { weight: 1, arbitrary: text },
);
const mac = fc.oneof(hex(12), fc.stringMatching(/^([0-9a-fA-F]{2}[-:]){5}[0-9a-fA-F]{2}$/), fc.constantFrom("00-0D-3A-F8-78:56", "000D3AF8785G", "000D3AF8785"));

const fields: Record<string, fc.Arbitrary<unknown>> = {
  macAddress: valueOf(fc.oneof(mac, text)),
  operationName: valueOf(fc.constantFrom("NetworkSecurityGroupFlowEvents", "FlowLogFlowEvent", "Other")),
  rule: valueOf(fc.oneof(fc.constantFrom("DefaultRule_DenyAllInBound", "UserRule_allow"), text)),
  time: valueOf(time),
  "flow.0": valueOf(tuple),
  version: fc.oneof(fc.constantFrom("1", "2", 2, 2.0, -1, "", null), text),
  flow_state: valueOf(fc.constantFrom("begin", "end", "", "weird")),
  source_addr: valueOf(fc.oneof(ip, fc.constant(""))),
  destination_addr: valueOf(fc.oneof(ip, fc.constant(""))),
  source_port: fc.oneof(port, fc.integer({ min: -1, max: 70000 }), fc.constantFrom(null, 1.5, "8e1")),
  destination_port: fc.oneof(port, fc.integer({ min: 0, max: 65535 })),
  flowLogVersion: fc.constantFrom(4, "4", null, 2, 4.5, "", true),
  resourceId: valueOf(resourceId),
  flowLogResourceID: valueOf(resourceId),
  targetResourceID: valueOf(resourceId),
  flowLogGUID: valueOf(text),
  aclID: valueOf(text),
  nested: fc.jsonValue({ maxDepth: 3 }),
};

/** A flattened event: a random subset of the fields in random order, some keys and characters
 * escaped, whitespace anywhere JSON allows it, sometimes a duplicate key. */
const event = fc.tuple(
  fc.shuffledSubarray(Object.keys(fields), { minLength: 0 }),
  fc.array(fc.constantFrom("", " ", "\t", "\n  "), { minLength: 40, maxLength: 40 }),
  fc.boolean(),
  fc.boolean(),
).chain(([keys, spaces, escapeSome, duplicate]) =>
  fc.tuple(...keys.map((k) => fields[k])).map((values) => {
    let i = 0;
    const ws = () => spaces[i++ % spaces.length];
    const members = keys.map((k, j) => {
      let key = JSON.stringify(k);
      let value = JSON.stringify(values[j]) ?? "null";
      if (escapeSome) {
        key = key.replace(/[aeiou]/, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
        value = value.replace(/[\/.é]/g, (c) => (c === "/" ? "\\/" : "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")));
      }
      return `${ws()}${key}${ws()}:${ws()}${value}${ws()}`;
    });
    if (duplicate && members.length > 0) members.push(members[0].replace(/:.*$/s, ':"dup"'));
    return `{${members.join(",")}}`;
  }),
);

const wrapped = event.map((raw) => JSON.stringify({ message: raw }));

// ─── Properties ─────────────────────────────────────────────────────────────────────────────

const utf8 = new TextEncoder();

test("generated flow events: the WASM core and the reference agree", () => {
  fc.assert(fc.property(event, (raw) => agree(utf8.encode(raw))), { numRuns: 3000 });
});

test("wrapped generated events agree too", () => {
  fc.assert(fc.property(wrapped, (raw) => agree(utf8.encode(raw))), { numRuns: 500 });
});

test("mutated events (bytes replaced, inserted, deleted, cut) never trap and agree", () => {
  const mutated = fc.tuple(event, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete", "cut")), { minLength: 1, maxLength: 4 }))
    .map(([raw, edits]) => {
      let b = Array.from(utf8.encode(raw));
      for (const [at, byte, op] of edits) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (op === "set") b[i] = byte;
        else if (op === "insert") b.splice(i, 0, byte);
        else if (op === "delete") b.splice(i, 1);
        else b = b.slice(0, i);
      }
      return Uint8Array.from(b);
    });
  fc.assert(fc.property(mutated, (raw) => agree(raw)), { numRuns: 3000 });
});

test("random bytes never trap, always give one JSON object, and agree", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(fc.constantFrom(..."{}[]\":,\\ute0123456789.-+ \n\tabcnull".split("").map((c) => c.charCodeAt(0)), 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0xff), { maxLength: 120 })
      .map((a) => Uint8Array.from(a)),
  );
  fc.assert(fc.property(bytes, (raw) => agree(raw)), { numRuns: 3000 });
});

test("with event.id: generated, wrapped and mutated events agree", () => {
  const withId = (raw: Uint8Array) => agree(raw, { eventId: true });
  fc.assert(fc.property(event, (raw) => withId(utf8.encode(raw))), { numRuns: 2000 });
  fc.assert(fc.property(wrapped, (raw) => withId(utf8.encode(raw))), { numRuns: 300 });
  const cut = fc.tuple(event, fc.nat()).map(([raw, at]) => utf8.encode(raw).subarray(0, at % (raw.length + 1)));
  fc.assert(fc.property(cut, withId), { numRuns: 500 });
});

test("the full-ECS profile: generated, wrapped, mutated and cut events agree", () => {
  const ecs = (raw: Uint8Array) => agree(raw, { profile: "ecs" });
  fc.assert(fc.property(event, (raw) => ecs(utf8.encode(raw))), { numRuns: 3000 });
  fc.assert(fc.property(wrapped, (raw) => ecs(utf8.encode(raw))), { numRuns: 300 });
  const cut = fc.tuple(event, fc.nat()).map(([raw, at]) => utf8.encode(raw).subarray(0, at % (raw.length + 1)));
  fc.assert(fc.property(cut, ecs), { numRuns: 500 });
});

test("the full-ECS profile with a Community ID seed agrees", () => {
  fc.assert(fc.property(event, fc.integer({ min: 1, max: 65535 }), (raw, seed) => agree(utf8.encode(raw), { profile: "ecs", communityIdSeed: seed })), { numRuns: 300 });
});

test("hostile shapes: 10,000-deep nesting, a 1 MB string, a huge number of keys, binary", () => {
  const cases = [
    "[".repeat(10_000) + "]".repeat(10_000),
    '{"a":' + "[".repeat(10_000) + "]".repeat(10_000) + "}",
    '{"a":' + "{\"b\":".repeat(5000) + "1" + "}".repeat(5000) + "}",
    "[".repeat(10_000),
    `{"rule":"${"x".repeat(1_000_000)}"}`,
    `{${Array.from({ length: 4000 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
    "\u0000".repeat(100),
  ];
  for (const raw of cases) agree(utf8.encode(raw));
  agree(Uint8Array.from({ length: 4096 }, (_, i) => (i * 131) & 255));
});
