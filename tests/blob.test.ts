// PT1H.json blobs through the core's streaming splitter (both builds): one correct event per
// tuple in blob order, any chunking, incremental reads of a growing blob, bad records.
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { FlowTransform, builtWasm, looksLikeBlob, type BlobOptions } from "../host/transform/loader.js";
import { referenceMap } from "../host/reference/map.js";
import {
  blob, blobBlocks, flattenNsg, flattenVnet, nsgRecordJson, vnetRecordJson, nsgTuple, vnetTuple,
  type NsgRecord, type VnetRecord,
} from "./blob-builder.js";
import { blobRecord } from "./generators.js";

const modules = Object.fromEntries(["nsg-flow-ecs.wasm", "nsg-flow-ecs-simd.wasm"].map(
  (f) => [f, new WebAssembly.Module(readFileSync(builtWasm(f)))],
));
const utf8 = new TextEncoder();
const RESOURCE = "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG";

const nsgV2: NsgRecord = {
  time: "2018-11-13T12:00:35.3899262Z", macAddress: "000D3AF87856", resourceId: RESOURCE, version: 2,
  rules: [
    { rule: "DefaultRule_DenyAllInBound", flows: [{ mac: "000D3AF87856", flowTuples: [nsgTuple(1, true), nsgTuple(2, true), nsgTuple(3, true, true)] }] },
    { rule: "DefaultRule_AllowVnetInBound", flows: [] },
    { rule: "UserRule_default-allow-rdp", flows: [{ mac: "000D3AF87857", flowTuples: [nsgTuple(4, true)] }, { flowTuples: [nsgTuple(5, true)] }] },
  ],
};
const nsgV1NoMac: NsgRecord = {
  time: "2017-02-16T22:00:32.8950000Z", resourceId: RESOURCE, version: 1,
  rules: [{ rule: "DefaultRule_AllowInternetOutBound", flows: [{ mac: "00224871C205", flowTuples: [nsgTuple(6, false), nsgTuple(7, false, true)] }] },
    { rule: "DefaultRule_DenyAllInBound", flows: [{ flowTuples: [nsgTuple(8, false)] }] }],
};
const vnet: VnetRecord = {
  time: "2022-09-14T09:00:02.3456789Z", flowLogGUID: "66aa66aa-6a6a-6a6a-6a6a-66aa66aa66aa", macAddress: "112233445566",
  flowLogResourceID: "/SUBSCRIPTIONS/X/RESOURCEGROUPS/Y/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL",
  targetResourceID: "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/vnet",
  acls: [
    { aclID: "00000000-1234-abcd-ef00-c1c2c3c4c5c6", flowGroups: [{ rule: "DefaultRule_AllowInternetOutBound", flowTuples: [vnetTuple(1), vnetTuple(2, true)] }, { rule: "BlockHighRiskTCPPortsFromInternet", flowTuples: [vnetTuple(3)] }] },
    { aclID: "acl-2", flowGroups: [{ rule: "Internet", flowTuples: [vnetTuple(4)] }] },
  ],
};

/** What each tuple must become: the reference mapping of its flattened event. */
function expectedFor(flattened: string[]): unknown[] {
  return flattened.map((f) => JSON.parse(referenceMap(utf8.encode(f))));
}

function run(module: WebAssembly.Module, text: string | Uint8Array, chunk = 1 << 20, options: BlobOptions = {}) {
  const t = new FlowTransform(module);
  t.startBlob(options);
  const bytes = typeof text === "string" ? utf8.encode(text) : text;
  const outs: Buffer[] = [];
  let records = 0;
  let errors = 0;
  for (let i = 0; i < bytes.length; i += chunk) {
    const r = t.pushBlob(bytes.subarray(i, i + chunk));
    outs.push(r.output);
    records += r.records;
    errors += r.errors;
  }
  const r = t.endBlob();
  outs.push(r.output);
  records += r.records;
  errors += r.errors;
  const lines = Buffer.concat(outs).toString("utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  return { lines, records, errors, offset: t.blobOffset };
}

describe.each(Object.entries(modules))("%s", (_name, module) => {
  const records = [nsgRecordJson(nsgV2), nsgRecordJson(nsgV1NoMac)];
  const flattened = [...flattenNsg(nsgV2), ...flattenNsg(nsgV1NoMac)];

  test("an NSG v2 + v1 blob: one correct event per tuple, in blob order, compact and pretty, any chunking", () => {
    expect(flattened).toHaveLength(8);
    const expected = expectedFor(flattened);
    for (const pretty of [false, true]) {
      for (const chunk of [1, 7, 100, 4096, 1 << 20]) {
        const r = run(module, blob(records, pretty), chunk);
        expect(r.errors).toBe(0);
        expect(r.records).toBe(8);
        expect(r.lines).toEqual(expected);
      }
    }
  });

  test("every tuple's message is the flattened event a collector forwards; missing record macAddress falls back to the group's", () => {
    const r = run(module, blob(records));
    expect(r.lines.map((l) => l.message)).toEqual(flattened);
    // The v1 record has no record-level macAddress and its second group no mac: no source.mac.
    expect(r.lines[7].source.mac).toBeUndefined();
    expect(r.lines[6].source.mac).toBe("00224871C205");
    expect(r.lines[4].source.mac).toBe("000D3AF87856");
    expect(r.lines[2].source.ip).toBe("2001:db8::3");
  });

  test("a VNet blob: one correct event per tuple, in order", () => {
    const r = run(module, blob([vnetRecordJson(vnet), vnetRecordJson({ ...vnet, macAddress: "AABBCCDDEEFF" })], true), 333);
    const f = [...flattenVnet(vnet), ...flattenVnet({ ...vnet, macAddress: "AABBCCDDEEFF" })];
    expect(r.records).toBe(8);
    expect(r.errors).toBe(0);
    expect(r.lines).toEqual(expectedFor(f));
    expect(r.lines[0]["@timestamp"]).toBe("2022-09-14T09:00:00.037000Z");
    expect(r.lines[1].source.ip).toBe("fe80::2");
  });

  test("NSG and VNet records mixed in one blob, with escapes and non-ASCII in the values", () => {
    const odd: NsgRecord = { ...nsgV2, resourceId: "/SUBS/é/\"quoted\"/日本", rules: [{ rule: "rule\\with/slash", flows: [{ mac: "AA", flowTuples: [nsgTuple(9, true)] }] }] };
    const text = blob([nsgRecordJson(odd), vnetRecordJson(vnet)]).replace(/\//g, "\\/").replace(/é/g, "\\u00e9");
    const r = run(module, text, 50);
    expect(r.lines).toEqual(expectedFor([...flattenNsg(odd), ...flattenVnet(vnet)]));
  });

  test("flattenOnly writes the flattened events themselves", () => {
    const t = new FlowTransform(module);
    t.startBlob({ flattenOnly: true });
    const out = Buffer.concat([t.pushBlob(utf8.encode(blob(records, true))).output, t.endBlob().output]);
    expect(out.toString("utf8")).toBe(flattened.join("\n") + "\n");
  });

  describe("a growing blob read incrementally: no duplicates, no gaps", () => {
    const recs = [1, 2, 3, 4].map((n) => ({ ...nsgV2, time: `2018-11-13T12:0${n}:00Z`, rules: [{ rule: `r${n}`, flows: [{ mac: "M", flowTuples: [nsgTuple(n * 10, true), nsgTuple(n * 10 + 1, true)] }] }] }));
    const blocks = blobBlocks(recs.map(nsgRecordJson));
    const head = blocks[0];
    const tail = blocks[blocks.length - 1];
    const after = (k: number) => head + blocks.slice(1, 1 + k).join("") + tail; // the blob with k records committed

    test("head only: nothing yet, offset after the head", () => {
      const r = run(module, after(0), 5, { fromOffset: 0, incremental: true });
      expect(r.records).toBe(0);
      expect(r.offset).toBe(12);
    });

    test("read, grow, read again from the reported offset: every tuple exactly once, in order", () => {
      const seen: string[] = [];
      let offset = 0;
      for (let k = 0; k <= 4; k++) {
        const bytes = utf8.encode(after(k)).subarray(offset);
        const r = run(module, bytes, 17, { fromOffset: offset, incremental: true });
        expect(r.errors).toBe(0);
        seen.push(...r.lines.map((l) => l.message));
        offset = r.offset;
      }
      expect(seen).toEqual(recs.flatMap(flattenNsg));
    });

    test("a read cut mid-record gives the complete records only; the next read picks up the rest", () => {
      const full = utf8.encode(after(3));
      const cutAt = utf8.encode(head + blocks[1] + blocks[2]).length + 30; // inside record 3
      const first = run(module, full.subarray(0, cutAt), 64, { fromOffset: 0, incremental: true });
      expect(first.errors).toBe(0);
      expect(first.lines.map((l) => l.message)).toEqual([...flattenNsg(recs[0]), ...flattenNsg(recs[1])]);
      expect(first.offset).toBe(utf8.encode(head + blocks[1] + blocks[2]).length);
      const second = run(module, full.subarray(first.offset), 64, { fromOffset: first.offset });
      expect(second.lines.map((l) => l.message)).toEqual(flattenNsg(recs[2]));
      expect(second.offset).toBe(full.length - 2);
    });
  });

  describe("bad records: an error event says which and why, the rest still comes out", () => {
    const good = nsgRecordJson(nsgV2);
    const errorOf = (l: any) => [l.error?.type, l.error?.message];

    test("a malformed record, a tuple list that is not an array, a record with no tuples, a tuple that is not a string", () => {
      const text = blob([
        good,
        { ...(good as object), properties: { Version: 2, flows: "nope" } },
        { time: "2018-11-13T12:00:35Z", properties: { Version: 2, flows: [{ rule: "r", flows: [{ mac: "M", flowTuples: "x" }, { mac: "N", flowTuples: [nsgTuple(1, true), 42] }] }] } },
        { time: "2018-11-13T12:00:35Z", properties: { Version: 2, flows: [{ rule: "r", flows: [] }] } },
        good,
      ]).replace('"flows":"nope"', '"flows":"nope", "broken": tru');
      const r = run(module, text, 256);
      const lines = r.lines;
      expect(lines).toHaveLength(5 + 1 + 2 + 1 + 1 + 5);
      expect(lines.slice(0, 5).every((l) => !l.error)).toBe(true);
      expect(errorOf(lines[5])).toEqual(["invalid_record", expect.stringMatching(/^record at byte \d+: the record is not valid JSON \(at its byte \d+\)$/)]);
      expect(errorOf(lines[6])).toEqual(["invalid_record", expect.stringMatching(/properties\.flows\[0\]\.flows\[0\]\.flowTuples is missing or not an array$/)]);
      expect(lines[7].error).toBeUndefined();
      expect(errorOf(lines[8])).toEqual(["invalid_record", expect.stringMatching(/properties\.flows\[0\]\.flows\[1\]\.flowTuples\[1\] is not a string$/)]);
      expect(lines[8].message).toBe("42");
      expect(errorOf(lines[9])).toEqual(["invalid_record", expect.stringMatching(/the record has no flow tuples$/)]);
      expect(lines.slice(10).map((l) => l.message)).toEqual(flattenNsg(nsgV2));
      expect(r.errors).toBe(4);
      lines.filter((l) => l.error).forEach((l) => expect(l.event).toEqual({ kind: "pipeline_error" }));
    });

    test("a truncated document: the complete records, then one truncated_blob error, no crash", () => {
      const full = blob([good, good, good]);
      for (const cut of [5, 13, full.length / 2, full.length - 1]) {
        const text = full.slice(0, Math.floor(cut));
        const r = run(module, text, 7);
        const errors = r.lines.filter((l) => l.error);
        expect(errors).toHaveLength(1);
        expect(errors[0].error.type).toBe("truncated_blob");
        expect(r.lines[r.lines.length - 1]).toBe(errors[0]);
        expect(r.lines.filter((l) => !l.error).map((l) => l.message)).toEqual(
          flattenNsg(nsgV2).concat(flattenNsg(nsgV2), flattenNsg(nsgV2)).slice(0, r.lines.length - 1));
      }
    });

    test("not a blob at all, and junk between records", () => {
      expect(run(module, '{"foo":1}').lines.map(errorOf)).toEqual([["invalid_blob", "not an Azure flow-log blob: expected {\"records\":[ at byte 2"]]);
      const r = run(module, blob([good]).replace('{"records":[', '{"records":[ x '));
      expect(errorOf(r.lines[0])).toEqual(["invalid_blob", "unexpected data between records at byte 13"]);
      expect(r.lines.slice(1).map((l) => l.message)).toEqual(flattenNsg(nsgV2));
    });
  });
});

test("format detection: a blob head, pretty or compact, against NDJSON", () => {
  expect(looksLikeBlob(utf8.encode('{"records":['))).toBe(true);
  expect(looksLikeBlob(utf8.encode('\n{\n  "records" : [\n'))).toBe(true);
  expect(looksLikeBlob(utf8.encode('{"macAddress":"x"}'))).toBe(false);
  expect(looksLikeBlob(utf8.encode('{"rec'))).toBeUndefined();
  expect(looksLikeBlob(utf8.encode("  "))).toBeUndefined();
  expect(looksLikeBlob(utf8.encode('{"records":{'))).toBe(false);
});

describe("property: mutated blobs never trap, every line is a JSON object, chunking does not matter", () => {
  const module = modules["nsg-flow-ecs.wasm"];
  const base = blob([nsgRecordJson(nsgV2), vnetRecordJson(vnet), nsgRecordJson(nsgV1NoMac)], true);
  const splitOut = (bytes: Uint8Array, chunk: number, options: BlobOptions) => {
    const t = new FlowTransform(module);
    t.startBlob(options);
    const outs: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunk) outs.push(t.pushBlob(bytes.subarray(i, i + chunk)).output);
    outs.push(t.endBlob().output);
    return { text: Buffer.concat(outs).toString("utf8"), traps: t.traps, offset: t.blobOffset };
  };

  test("random byte edits of a valid blob", async () => {
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete")), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(edits, fc.integer({ min: 1, max: 700 }), fc.boolean(), (ops, chunk, flattenOnly) => {
      const b = Array.from(utf8.encode(base));
      for (const [at, byte, op] of ops) {
        const i = at % b.length;
        if (op === "set") b[i] = byte;
        else if (op === "insert") b.splice(i, 0, byte);
        else b.splice(i, 1);
      }
      const bytes = Uint8Array.from(b);
      const whole = splitOut(bytes, 1 << 20, { flattenOnly });
      const chunked = splitOut(bytes, chunk, { flattenOnly });
      expect(whole.traps).toBe(0);
      expect(chunked.traps).toBe(0);
      expect(chunked.text).toBe(whole.text);
      for (const line of whole.text.split("\n").filter((l) => l !== "")) {
        const o = JSON.parse(line);
        expect(typeof o === "object" && o !== null && !Array.isArray(o)).toBe(true);
      }
    }), { numRuns: 400 });
  });

  test("reads cut anywhere and resumed from the reported offsets give the whole read's events, once each", async () => {
    const bytes = utf8.encode(base);
    const whole = splitOut(bytes, 1 << 20, { flattenOnly: true }).text;
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 8 }), (cuts) => {
      let offset = 0;
      let text = "";
      for (const cut of [...cuts.sort((a, b) => a - b), bytes.length]) {
        if (cut <= offset) continue;
        const r = splitOut(bytes.subarray(offset, cut), 97, { fromOffset: offset, incremental: true, flattenOnly: true });
        text += r.text;
        expect(r.offset).toBeGreaterThanOrEqual(offset);
        offset = r.offset;
      }
      expect(text).toBe(whole);
    }), { numRuns: 300 });
  });
});

test("property: every event of a generated blob is the reference mapping of its flattened event", async () => {
  // The splitter maps its own flattened events without scanning them again when it can; this
  // checks that shortcut against the full path, on odd values as well as plain ones.
  const t = new FlowTransform(modules["nsg-flow-ecs-simd.wasm"]);
  const full = new FlowTransform(modules["nsg-flow-ecs-simd.wasm"], { profile: "ecs" });
  const run = (bytes: Uint8Array, flattenOnly: boolean, transform = t) => {
    transform.startBlob({ flattenOnly });
    const out = Buffer.concat([transform.pushBlob(bytes).output, transform.endBlob().output]).toString("utf8");
    return out.split("\n").filter((l) => l !== "");
  };
  fc.assert(fc.property(fc.array(blobRecord, { minLength: 1, maxLength: 4 }), (records) => {
    const bytes = utf8.encode(blob(records));
    const flattened = run(bytes, true);
    const mapped = run(bytes, false);
    expect(mapped).toHaveLength(flattened.length);
    mapped.forEach((line, i) => {
      const f = flattened[i];
      expect(line).toBe(f.startsWith('{"message":') ? f : referenceMap(Buffer.from(f)));
    });
    // The full-ECS profile through the same shortcut.
    run(bytes, false, full).forEach((line, i) => {
      const f = flattened[i];
      expect(line).toBe(f.startsWith('{"message":') ? f : referenceMap(Buffer.from(f), { profile: "ecs" }));
    });
  }), { numRuns: 300 });
});
