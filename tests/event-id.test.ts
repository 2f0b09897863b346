// event.id: the SHA-1 of a tuple's identifying fields (DEVELOPERS.md, "event.id"). The same
// tuple gets the same id on every path into the core (flattened NDJSON in any key order or
// escaping, wrapped, a blob through the splitter's shortcut or its full path); different tuples
// get different ids; and the option leaves the documented output alone when off.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { blob, flattenNsg, flattenVnet, nsgRecordJson, nsgTuple, vnetRecordJson, vnetTuple, type NsgRecord, type VnetRecord } from "./blob-builder.js";

const modules = ["nsg-flow-ecs.wasm", "nsg-flow-ecs-simd.wasm"].map((f) => new WebAssembly.Module(readFileSync(builtWasm(f))));

const idOf = (line: string): string | undefined => JSON.parse(line).event?.id;

/** The hash input as DEVELOPERS.md words it, written out independently of the reference. */
function expectedId(fields: Record<string, string | undefined>): string {
  const order = ["resourceId", "flowLogResourceID", "targetResourceID", "flowLogGUID", "macAddress", "time", "aclID", "rule", "flow.0"];
  const parts = order.map((k) => {
    const v = fields[k];
    if (v === undefined) return Buffer.of(0);
    const b = Buffer.from(v);
    const head = Buffer.alloc(5);
    head[0] = 1;
    head.writeUInt32BE(b.length, 1);
    return Buffer.concat([head, b]);
  });
  return createHash("sha1").update(Buffer.concat(parts)).digest("hex");
}

const nsgRecord: NsgRecord = {
  time: "2026-11-30T03:01:00.1234567Z",
  macAddress: "000D3AF87856",
  resourceId: "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1",
  version: 2,
  rules: [
    { rule: "DefaultRule_DenyAllInBound", flows: [{ mac: "000D3AF87856", flowTuples: [nsgTuple(1, true), nsgTuple(2, true), nsgTuple(3, true)] }] },
    { rule: "UserRule_web", flows: [{ mac: "000D3AF87856", flowTuples: [nsgTuple(1, true), nsgTuple(4, true, true)] }] },
  ],
};
const vnetRecord: VnetRecord = {
  time: "2026-11-30T03:02:00.0000000Z",
  flowLogGUID: "66aa66aa-6d6e-4f39-8e3e-1c56fe3d7d0b",
  macAddress: "00224871C205",
  flowLogResourceID: "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL",
  targetResourceID: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
  acls: [{ aclID: "acl-1", flowGroups: [{ rule: "DefaultRule_AllowInternetOutBound", flowTuples: [vnetTuple(1), vnetTuple(2), vnetTuple(3, true)] }] }],
};

for (const [i, module] of modules.entries()) {
  describe(i === 0 ? "portable build" : "SIMD build", () => {
    const withId = new FlowTransform(module, { eventId: true });
    const plain = new FlowTransform(module);

    test("the id is the SHA-1 of the documented hash input, for every length of tuple", () => {
      // Tuples of 0-300 bytes put the message's end at every offset of a SHA-1 block.
      fc.assert(fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 300 }), fc.boolean(), (tuple, withRule) => {
        const raw: Record<string, string> = { time: "2024-03-18T13:21:42Z", "flow.0": tuple };
        if (withRule) raw.rule = "R";
        expect(idOf(withId.mapRecord(JSON.stringify(raw)))).toBe(expectedId(raw));
      }), { numRuns: 400 });
    });

    test("off by default: the documented output has no event.id and is otherwise the same", () => {
      for (const raw of flattenNsg(nsgRecord)) {
        const a = JSON.parse(plain.mapRecord(raw));
        const b = JSON.parse(withId.mapRecord(raw));
        expect(a.event.id).toBeUndefined();
        expect(b.event.id).toMatch(/^[0-9a-f]{40}$/);
        delete b.event.id;
        expect(b).toEqual(a);
      }
    });

    test("the same tuple has the same id on every path", () => {
      for (const [record, flat] of [[nsgRecordJson(nsgRecord), flattenNsg(nsgRecord)], [vnetRecordJson(vnetRecord), flattenVnet(vnetRecord)]] as const) {
        const direct = flat.map((raw) => idOf(withId.mapRecord(raw)));
        // Keys in another order, some characters escaped, whitespace: the same values.
        const reordered = flat.map((raw) => {
          const o = JSON.parse(raw) as Record<string, unknown>;
          const text = JSON.stringify(Object.fromEntries(Object.entries(o).reverse()), null, 1).replace(/\//g, "\\/");
          return idOf(withId.mapRecord(text));
        });
        const wrapped = flat.map((raw) => idOf(withId.mapRecord(JSON.stringify({ log: raw }))));
        withId.startBlob();
        const fromBlob = withId.pushBlob(Buffer.from(blob([record]))).output.toString().trim().split("\n").map(idOf);
        // A blob whose strings have escapes goes through the full path, not the shortcut.
        withId.startBlob();
        const escaped = blob([record]).replace(/\//g, "\\/");
        const fromEscapedBlob = withId.pushBlob(Buffer.from(escaped)).output.toString().trim().split("\n").map(idOf);
        expect(direct.every((id) => /^[0-9a-f]{40}$/.test(id ?? ""))).toBe(true);
        expect(reordered).toEqual(direct);
        expect(wrapped).toEqual(direct);
        expect(fromBlob).toEqual(direct);
        expect(fromEscapedBlob).toEqual(direct);
      }
    });

    test("different tuples, or the same tuple under another rule, record or NIC, have different ids", () => {
      const raws = [...flattenNsg(nsgRecord), ...flattenVnet(vnetRecord),
        ...flattenNsg({ ...nsgRecord, time: "2026-11-30T03:03:00.1234567Z" }),
        ...flattenNsg({ ...nsgRecord, macAddress: undefined, rules: [{ rule: "DefaultRule_DenyAllInBound", flows: [{ mac: "000D3AF87857", flowTuples: [nsgTuple(1, true)] }] }] })];
      const ids = raws.map((raw) => idOf(withId.mapRecord(raw)));
      expect(new Set(ids).size).toBe(raws.length);
    });

    test("alternating groups (the cached prefix changes back and forth) give each its own id", () => {
      const a = flattenNsg(nsgRecord);
      const b = flattenVnet(vnetRecord);
      const expected = [...a, ...b].map((raw) => idOf(new FlowTransform(module, { eventId: true }).mapRecord(raw)));
      const interleaved = [a[0], b[0], a[1], b[1], a[0]].map((raw) => idOf(withId.mapRecord(raw)));
      expect(interleaved).toEqual([expected[0], expected[a.length], expected[1], expected[a.length + 1], expected[0]]);
    });

    test("error events carry no id", () => {
      for (const raw of ['{"time":"never","flow.0":"x"}', "not json", '{"rule":5}']) {
        const out = JSON.parse(withId.mapRecord(raw));
        expect(out.event).toEqual({ kind: "pipeline_error" });
      }
    });
  });
}

test("an option the library does not know is refused, not ignored", () => {
  expect(() => new FlowTransform(modules[0], { eventID: true } as never)).toThrow(/unknown option "eventID"/);
  expect(() => new FlowTransform(modules[0], { eventId: "yes" } as never)).toThrow(/eventId must be a boolean/);
});
