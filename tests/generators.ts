// Generators of flattened flow events for property tests and the fuzzer (bench/fuzz.ts):
// generated events (every mapped field, usually of the right type, sometimes not), wrappers,
// byte-level mutations of them, and random bytes. fast-check arbitraries.
import fc from "fast-check";
import { nsgTuple as nsgTupleOf, vnetTuple as vnetTupleOf } from "./blob-builder.js";

export const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{1,${n}}$`));
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((p) => p.join("."));
const ipv6 = fc.oneof(
  fc.array(hex(4), { minLength: 8, maxLength: 8 }).map((g) => g.join(":")),
  fc.tuple(fc.array(hex(4), { maxLength: 3 }), fc.array(hex(4), { maxLength: 3 })).map(([a, b]) => `${a.join(":")}::${b.join(":")}`),
  fc.tuple(fc.array(hex(4), { maxLength: 2 }), ipv4).map(([a, v4]) => `${a.join(":")}::ffff:${v4}`),
);
const notQuiteIp = fc.constantFrom("01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4.", "1.2.3.1000",
  "1:2:3:4:5:6:7", "1::2::3", "::ffff:1.2.3", "fe80::1%eth0", "12345::", ":::");
export const ip = fc.oneof({ weight: 6, arbitrary: ipv4 }, { weight: 2, arbitrary: ipv6 }, { weight: 1, arbitrary: notQuiteIp });
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
export const tuple = fc.oneof(nsgTuple, vnetTuple, fc.constantFrom("", "garbage", "1,2,3", "1,1.1.1.1,2.2.2.2,1,2,T,I,A,B,1,2,3,4,5"));

const pad = (n: number, w: number) => String(n).padStart(w, "0");
const isoTime = fc.tuple(
  fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }),
  fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }),
  fc.stringMatching(/^[0-9]{0,9}$/), fc.constantFrom("Z", "z", "+00:00", "+02:00", "-05:30", "+0530", "+14:00", "", "+24:00", "Q"),
  fc.constantFrom("T", " ", "t"),
).map(([y, mo, d, h, mi, s, frac, zone, sep]) =>
  `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${sep}${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac ? "." + frac : ""}${zone}`);
export const time = fc.oneof({ weight: 4, arbitrary: isoTime }, { weight: 1, arbitrary: fc.constantFrom("", "yesterday", "2024-03-18") });

export const text = fc.oneof(
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
export const event = fc.tuple(
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

export const wrapped = event.map((raw) => JSON.stringify({ message: raw }));

/** Events that map (NSG with or without address overrides, VNet), and some of any kind: what
 * enrichment sees most (the generated `event` above rarely maps: its fields are random). */
const flowPort = fc.integer({ min: 1, max: 65535 });
export const mappedEvent = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(ip, ip, flowPort, flowPort, fc.option(ip, { nil: undefined }), fc.option(ip, { nil: undefined })).map(([s, d, sp, dp, so, dov]) => JSON.stringify({
    time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r", operationName: "NetworkSecurityGroupFlowEvents",
    "flow.0": `1764583200,${s},${d},${sp},${dp},T,O,A,B,1,2,3,4`, ...(so !== undefined ? { source_addr: so } : {}), ...(dov !== undefined ? { destination_addr: dov } : {}),
  })) },
  { weight: 3, arbitrary: fc.tuple(ip, ip, flowPort, flowPort).map(([s, d, sp, dp]) => JSON.stringify({
    time: "2026-12-01T10:00:00Z", flowLogVersion: 4, macAddress: "000D3AF87856", operationName: "FlowLogFlowEvent", rule: "r",
    "flow.0": `1764583200000,${s},${d},${sp},${dp},6,I,E,NX,1,2,3,4`,
  })) },
  { weight: 1, arbitrary: event },
);

const utf8 = new TextEncoder();

export type Edit = [at: number, byte: number, op: "set" | "insert" | "delete" | "cut"];

/** Replaces, inserts, deletes bytes or cuts the input short, at the given positions. */
export function mutate(bytes: Uint8Array, edits: Edit[]): Uint8Array {
  let b = Array.from(bytes);
  for (const [at, byte, op] of edits) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (op === "set") b[i] = byte;
    else if (op === "insert") b.splice(i, 0, byte);
    else if (op === "delete") b.splice(i, 1);
    else b = b.slice(0, i);
  }
  return Uint8Array.from(b);
}

export const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete", "cut")), { minLength: 1, maxLength: 4 }) as fc.Arbitrary<Edit[]>;

/** Generated events with a few bytes replaced, inserted, deleted, or cut short. */
export const mutated = fc.tuple(event, edits).map(([raw, e]) => mutate(utf8.encode(raw), e));

/** Random bytes, and random runs of JSON's own characters (and bytes of broken UTF-8). */
export const randomBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.array(fc.constantFrom(..."{}[]\":,\\ute0123456789.-+ \n\tabcnull".split("").map((c) => c.charCodeAt(0)), 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0xff), { maxLength: 120 })
    .map((a) => Uint8Array.from(a)),
);

/** Hostile shapes: deep nesting, huge strings, many keys, binary. */
export function hostileCases(): Uint8Array[] {
  const cases = [
    "[".repeat(10_000) + "]".repeat(10_000),
    '{"a":' + "[".repeat(10_000) + "]".repeat(10_000) + "}",
    '{"a":' + "{\"b\":".repeat(5000) + "1" + "}".repeat(5000) + "}",
    "[".repeat(10_000),
    `{"rule":"${"x".repeat(1_000_000)}"}`,
    `{${Array.from({ length: 4000 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
    "\u0000".repeat(100),
  ].map((s) => utf8.encode(s));
  cases.push(Uint8Array.from({ length: 4096 }, (_, i) => (i * 131) & 255));
  return cases;
}

// ─── Blob records ───────────────────────────────────────────────────────────────────────────
// Flow-log records as Azure writes them into PT1H.json blobs, with odd values (escapes, control
// characters, wrong types) where the splitter copies values into the flattened events.

const blobText = fc.oneof(fc.constantFrom("", "x", "a\"b", "é", "back\\slash", "\u0001", "DefaultRule_DenyAllInBound"), fc.string({ maxLength: 8 }));
const blobValue = fc.oneof({ weight: 6, arbitrary: blobText }, { weight: 1, arbitrary: fc.constantFrom(null, 5, true) });
const blobTuple = fc.oneof(fc.integer({ min: 0, max: 99 }).map((n) => nsgTupleOf(n, n % 2 === 0, n % 5 === 0)), fc.integer({ min: 0, max: 99 }).map((n) => vnetTupleOf(n, n % 3 === 0)), blobText);
const nsgRec = fc.record({ time: fc.oneof(fc.constant("2018-11-13T12:00:35.3899262Z"), blobValue), macAddress: blobValue, resourceId: blobValue, version: fc.constantFrom(1, 2, "2", null),
  rule: blobValue, mac: fc.oneof(fc.constant(undefined), blobValue), tuples: fc.array(blobTuple, { minLength: 1, maxLength: 3 }) })
  .map((r) => ({ time: r.time, macAddress: r.macAddress, resourceId: r.resourceId, operationName: "NetworkSecurityGroupFlowEvents",
    properties: { Version: r.version, flows: [{ rule: r.rule, flows: [{ ...(r.mac === undefined ? {} : { mac: r.mac }), flowTuples: r.tuples }] }] } }));
const blobResourceId = fc.oneof(blobValue, fc.constant("/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v"));
const vnetRec = fc.record({ time: blobValue, macAddress: blobValue, rule: blobValue, aclID: blobValue, flowLogResourceID: blobResourceId, targetResourceID: blobResourceId,
  tuples: fc.array(blobTuple, { minLength: 1, maxLength: 3 }) })
  .map((r) => ({ time: r.time, flowLogVersion: 4, flowLogGUID: "g", macAddress: r.macAddress, flowLogResourceID: r.flowLogResourceID,
    targetResourceID: r.targetResourceID, operationName: "FlowLogFlowEvent",
    flowRecords: { flows: [{ aclID: r.aclID, flowGroups: [{ rule: r.rule, flowTuples: r.tuples }] }] } }));

/** One NSG or VNet record of a blob. */
export const blobRecord = fc.oneof(nsgRec, vnetRec);
