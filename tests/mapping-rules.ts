// The mapping rules of DEVELOPERS.md, as tests that any implementation must pass: the plain
// TypeScript reference (tests/reference.test.ts) and the WASM core, both builds
// (tests/wasm-rules.test.ts). Every expected value here is written by hand from the contract.
import { loadDocumentedCases } from "../host/check/documented.js";
import { ecsDiff } from "../host/check/compare.js";

/** One raw record in, exactly one line of JSON out. */
export type MapRecord = (raw: Uint8Array) => string;

export function mappingRules(map: MapRecord): void {
  const utf8 = new TextEncoder();

  function run(raw: string | Uint8Array): string {
    return map(typeof raw === "string" ? utf8.encode(raw) : raw);
  }

  /** Maps and parses, checking what holds for every output: one line, one JSON object. */
  function mapped(raw: string | Uint8Array): any {
    const line = run(raw);
    expect(line).not.toMatch(/[\n\r]/);
    return JSON.parse(line);
  }

  /** Maps an event that must give an ECS event equal to `expected` (plus `message` = the raw event). */
  function expectEcs(raw: string, expected: object): string {
    const line = run(raw);
    expect(line.startsWith('{"@timestamp":"')).toBe(true);
    expect(line).not.toMatch(/[\n\r]/);
    expect(ecsDiff(JSON.parse(line), { message: raw, ...expected })).toEqual([]);
    return line;
  }

  /** Maps a record that must give the error event, in exactly the documented shape. */
  function expectError(raw: string | Uint8Array, type: string, message: string): string {
    const line = run(raw);
    expect(line).not.toMatch(/[\n\r]/);
    const o = JSON.parse(line);
    expect(Object.keys(o)).toEqual(["message", "error", "event"]);
    expect(Object.keys(o.error)).toEqual(["type", "message"]);
    expect(o.event).toEqual({ kind: "pipeline_error" });
    expect(o.error.type).toBe(type);
    expect(typeof o.error.message).toBe("string");
    expect(o.error.message.length).toBeGreaterThan(0);
    expect(o.message).toBe(message);
    return o.error.message;
  }

  /** A JSON string literal. */
  const q = (s: string) => JSON.stringify(s);

  /** A flat record from raw JSON member values, in the order given; undefined drops a member. */
  function rec(members: Record<string, string | undefined>): string {
    const parts = Object.entries(members).filter(([, v]) => v !== undefined).map(([k, v]) => `${q(k)}:${v}`);
    return `{${parts.join(",")}}`;
  }

  // ─── NSG fixtures ───────────────────────────────────────────────────────────────────────────

  const MAC = "DB831EFEC376";
  const OP = "NetworkSecurityGroupFlowEvents";
  const RULE = "DefaultRule_AllowInternetOutBound";
  const TIME = "2021-03-24T10:55:03.0680749Z";
  const TS = "2021-03-24T10:55:03.068074Z";
  const FLOW = "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,";

  function nsg(flow: string | undefined, more: Record<string, string | undefined> = {}): string {
    return rec({ macAddress: q(MAC), operationName: q(OP), rule: q(RULE), time: q(TIME), "flow.0": flow === undefined ? undefined : q(flow), ...more });
  }

  /** What FLOW gives with the NSG envelope above. */
  const NSG_FULL = {
    "@timestamp": TS,
    event: { category: ["network"], code: OP, start: TS, action: "accept", type: ["allowed"], outcome: "success" },
    action: { name: "accept", outcome: "success", type: RULE, target: "network-traffic", properties: { OperationName: OP, FlowState: "begin" } },
    rule: { name: RULE },
    source: { ip: "10.0.0.1", address: "10.0.0.1", port: 1234, mac: MAC },
    destination: { ip: "10.0.0.2", address: "10.0.0.2", port: 22 },
    network: { transport: "tcp", direction: "inbound" },
    related: { ip: ["10.0.0.1", "10.0.0.2"] },
  };

  /** The NSG envelope alone: what a tuple that is not the documented shape leaves. */
  const NSG_ENVELOPE = {
    "@timestamp": TS,
    event: { category: ["network"], code: OP, start: TS },
    action: { type: RULE, target: "network-traffic", properties: { OperationName: OP } },
    rule: { name: RULE },
    source: { mac: MAC },
  };

  // ─── VNet fixtures ──────────────────────────────────────────────────────────────────────────

  const VMAC = "112233445566";
  const VOP = "FlowLogFlowEvent";
  const VRULE = "BlockHighRiskTCPPortsFromInternet";
  const VTIME = "2025-04-30T09:07:40.986182+00:00";
  const VTS_FROM_TIME = "2025-04-30T09:07:40.986182Z";
  const VFLOW = "1663146003599,10.1.0.4,2001:db8::5,50000,443,17,O,C,NX_ENC,3,767,2,1580";

  function vnet(flow: string | undefined, more: Record<string, string | undefined> = {}): string {
    return rec({ time: q(VTIME), flowLogVersion: "4", macAddress: q(VMAC), operationName: q(VOP), rule: q(VRULE), "flow.0": flow === undefined ? undefined : q(flow), ...more });
  }

  const VNET_FULL = {
    "@timestamp": "2022-09-14T09:00:03.599000Z",
    event: { category: ["network"], code: VOP, type: ["info"] },
    action: { target: "network-traffic", properties: { OperationName: VOP, FlowEncryption: "NX_ENC" } },
    rule: { name: VRULE },
    observer: { mac: VMAC },
    network: { iana_number: "17", direction: "outbound" },
    source: { ip: "10.1.0.4", address: "10.1.0.4", port: 50000, packets: 3, bytes: 767 },
    destination: { ip: "2001:db8::5", address: "2001:db8::5", port: 443, packets: 2, bytes: 1580 },
    related: { ip: ["10.1.0.4", "2001:db8::5"] },
  };

  const VNET_ENVELOPE = {
    "@timestamp": VTS_FROM_TIME,
    event: { category: ["network"], code: VOP },
    action: { target: "network-traffic", properties: { OperationName: VOP } },
    rule: { name: VRULE },
    observer: { mac: VMAC },
  };

  // ─── The documented cases ───────────────────────────────────────────────────────────────────

  describe("documented cases", () => {
    const cases = loadDocumentedCases();

    test("all 14 are found, 4 of them with a pretty raw sample", () => {
      expect(cases.map((c) => c.name)).toEqual([
        "seed/begin.json", "seed/continue.json", "seed/end.json", "seed/short.json",
        "sekoia-nsg/continue.json", "sekoia-nsg/test_begin.json", "sekoia-nsg/test_end.json", "sekoia-nsg/test_short.json",
        "sekoia-vnet/test_1.json", "sekoia-vnet/test_2.json", "sekoia-vnet/test_3.json",
        "sekoia-vnet/test_4.json", "sekoia-vnet/test_5.json", "sekoia-vnet/test_6.json",
      ]);
      expect(cases.filter((c) => c.prettyRawSample !== undefined).map((c) => c.name)).toEqual([
        "seed/begin.json", "seed/continue.json", "seed/end.json", "seed/short.json",
      ]);
    });

    test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
      const line = run(c.input);
      expect(line.startsWith('{"@timestamp":"')).toBe(true);
      const got = JSON.parse(line);
      expect(got.message).toBe(c.input);
      expect(ecsDiff(got, c.expected)).toEqual([]);
    });

    test.each(cases.filter((c) => c.prettyRawSample !== undefined).map((c) => [c.name, c] as const))(
      "%s: the pretty raw sample, compacted, maps the same apart from message", (_name, c) => {
        const compact = JSON.stringify(JSON.parse(c.prettyRawSample!));
        const got = mapped(compact);
        expect(got.message).toBe(compact);
        expect(ecsDiff(got, { ...c.expected, message: compact })).toEqual([]);
      });

    test.each(cases.map((c) => [c.name, c] as const))("%s, wrapped in {\"message\": …} and in {\"log\": …}", (_name, c) => {
      for (const key of ["message", "log"]) {
        const got = mapped(rec({ [key]: q(c.input) }));
        expect(got.message).toBe(c.input);
        expect(ecsDiff(got, c.expected)).toEqual([]);
      }
    });
  });

  // ─── NSG ────────────────────────────────────────────────────────────────────────────────────

  describe("NSG", () => {
    test("an accepted 13-field flow, every field", () => {
      expectEcs(nsg(FLOW), NSG_FULL);
    });

    test("denied: reject, [denied], and still outcome success", () => {
      expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,D,B,,,,"), {
        ...NSG_FULL,
        event: { ...NSG_FULL.event, action: "reject", type: ["denied"], outcome: "success" },
        action: { ...NSG_FULL.action, name: "reject", outcome: "success" },
      });
    });

    test("UDP outbound", () => {
      expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,53,U,O,A,E,,,,"), {
        ...NSG_FULL,
        action: { ...NSG_FULL.action, properties: { OperationName: OP, FlowState: "end" } },
        destination: { ...NSG_FULL.destination, port: 53 },
        network: { transport: "udp", direction: "outbound" },
      });
    });

    test("8-field tuple: no state, no counters; FlowState from flow_state, else none", () => {
      const flow = "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A";
      expectEcs(nsg(flow, { flow_state: q("continue") }), {
        ...NSG_FULL,
        action: { ...NSG_FULL.action, properties: { OperationName: OP, FlowState: "continue" } },
      });
      expectEcs(nsg(flow), { ...NSG_FULL, action: { ...NSG_FULL.action, properties: { OperationName: OP } } });
    });

    test("IPv6 addresses: compressed, full, with an embedded IPv4, mixed with IPv4", () => {
      const cases: [string, string][] = [
        ["2001:db8::1", "fe80::a:b:c:d"],
        ["2001:0db8:0000:0000:0000:ff00:0042:8329", "::1"],
        ["::ffff:192.0.2.1", "10.0.0.2"],
        ["10.0.0.1", "64:ff9b::198.51.100.7"],
        ["::", "1:2:3:4:5:6:1.2.3.4"],
      ];
      for (const [src, dst] of cases) {
        expectEcs(nsg(`1493763938,${src},${dst},1234,22,T,I,A,B,,,,`), {
          ...NSG_FULL,
          source: { ip: src, address: src, port: 1234, mac: MAC },
          destination: { ip: dst, address: dst, port: 22 },
          related: { ip: [src, dst] },
        });
      }
    });

    test("the same address at both ends is listed once in related.ip", () => {
      expectEcs(nsg("1493763938,10.0.0.1,10.0.0.1,1234,22,T,I,A,B,,,,"), {
        ...NSG_FULL,
        destination: { ip: "10.0.0.1", address: "10.0.0.1", port: 22 },
        related: { ip: ["10.0.0.1"] },
      });
    });

    test("ports: leading zeros, 0 and 65535", () => {
      expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,00080,0,T,I,A,B,,,,"), {
        ...NSG_FULL,
        source: { ...NSG_FULL.source, port: 80 },
        destination: { ...NSG_FULL.destination, port: 0 },
      });
      const line = expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,65535,1,T,I,A,B,,,,"), {
        ...NSG_FULL,
        source: { ...NSG_FULL.source, port: 65535 },
        destination: { ...NSG_FULL.destination, port: 1 },
      });
      expect(line).toContain('"port":65535');
    });

    test("empty counters are absent, zero counters are kept, leading zeros dropped", () => {
      const line = expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,C,,0,000,7"), {
        ...NSG_FULL,
        action: { ...NSG_FULL.action, properties: { OperationName: OP, FlowState: "continue" } },
        source: { ...NSG_FULL.source, bytes: 0 },
        destination: { ...NSG_FULL.destination, packets: 0, bytes: 7 },
      });
      expect(line).toMatch(/"source":\{[^}]*"bytes":0[,}]/);
      expect(line).toMatch(/"destination":\{[^}]*"packets":0[,}]/);
      expect(line).not.toMatch(/"source":\{[^}]*"packets"/);
    });

    test("counters above 2^32 and at 2^64-1 are written as exact JSON numbers", () => {
      const line = run(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,C,4294967296,18446744073709551615,007,09999999999999999999"));
      expect(line).toMatch(/"source":\{[^}]*"packets":4294967296[,}]/);
      expect(line).toMatch(/"source":\{[^}]*"bytes":18446744073709551615[,}]/);
      expect(line).toMatch(/"destination":\{[^}]*"packets":7[,}]/);
      expect(line).toMatch(/"destination":\{[^}]*"bytes":9999999999999999999[,}]/);
    });

    test("a counter of 2^64, or of 21 digits, makes the tuple not the documented shape", () => {
      expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,C,18446744073709551616,1,1,1"), NSG_ENVELOPE);
      expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,C,1,000000000000000000001,1,1"), NSG_ENVELOPE);
    });

    test.each([
      ["empty", ""],
      ["7 fields", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I"],
      ["9 fields", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,B"],
      ["12 fields", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,"],
      ["14 fields", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,,"],
      ["protocol X", "1493763938,10.0.0.1,10.0.0.2,1234,22,X,I,A,B,,,,"],
      ["protocol in lowercase", "1493763938,10.0.0.1,10.0.0.2,1234,22,t,I,A,B,,,,"],
      ["a VNet protocol number", "1493763938,10.0.0.1,10.0.0.2,1234,22,6,I,A,B,,,,"],
      ["direction X", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,X,A,B,,,,"],
      ["decision X", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,X,B,,,,"],
      ["state D (VNet only)", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,D,,,,"],
      ["state X", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,X,,,,"],
      ["IPv4 part over 255", "1493763938,10.0.0.256,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["IPv4 leading zero", "1493763938,010.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["IPv6 zone id", "1493763938,fe80::1%eth0,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["a space", "1493763938, 10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["a hostname", "1493763938,example.com,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["port 65536", "1493763938,10.0.0.1,10.0.0.2,65536,22,T,I,A,B,,,,"],
      ["port of 6 digits", "1493763938,10.0.0.1,10.0.0.2,000022,22,T,I,A,B,,,,"],
      ["empty port", "1493763938,10.0.0.1,10.0.0.2,,22,T,I,A,B,,,,"],
      ["negative port", "1493763938,10.0.0.1,10.0.0.2,-1,22,T,I,A,B,,,,"],
      ["empty epoch", ",10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["epoch of 20 digits", "12345678901234567890,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["fractional epoch", "1493763938.5,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,"],
      ["counter not digits", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,x,,,"],
      ["negative counter", "1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,-1,,,"],
    ])("a tuple of the wrong shape (%s) keeps the envelope only", (_what, flow) => {
      expectEcs(nsg(flow), NSG_ENVELOPE);
    });

    test("no flow.0 at all, or flow.0 null, keeps the envelope only", () => {
      expectEcs(nsg(undefined), NSG_ENVELOPE);
      expectEcs(nsg(undefined, { "flow.0": "null" }), NSG_ENVELOPE);
    });

    test("the envelope keeps version and flow_state, and the overrides", () => {
      expectEcs(nsg("garbage", { version: q("2"), flow_state: q("begin"), source_addr: q("1.3.4.2"), destination_port: "443" }), {
        ...NSG_ENVELOPE,
        action: { ...NSG_ENVELOPE.action, properties: { OperationName: OP, Version: "2", FlowState: "begin" } },
        source: { mac: MAC, ip: "1.3.4.2", address: "1.3.4.2" },
        destination: { port: 443 },
        related: { ip: ["1.3.4.2"] },
      });
    });

    describe("overrides", () => {
      test("source_addr replaces the tuple's source IP (and in related.ip)", () => {
        expectEcs(nsg(FLOW, { source_addr: q("9.9.9.9") }), {
          ...NSG_FULL,
          source: { ...NSG_FULL.source, ip: "9.9.9.9", address: "9.9.9.9" },
          related: { ip: ["9.9.9.9", "10.0.0.2"] },
        });
      });

      test("destination_addr replaces the tuple's destination IP", () => {
        expectEcs(nsg(FLOW, { destination_addr: q("2001:db8::2") }), {
          ...NSG_FULL,
          destination: { ...NSG_FULL.destination, ip: "2001:db8::2", address: "2001:db8::2" },
          related: { ip: ["10.0.0.1", "2001:db8::2"] },
        });
      });

      test("an override equal to the other end's IP is listed once in related.ip", () => {
        expectEcs(nsg(FLOW, { source_addr: q("10.0.0.2") }), {
          ...NSG_FULL,
          source: { ...NSG_FULL.source, ip: "10.0.0.2", address: "10.0.0.2" },
          related: { ip: ["10.0.0.2"] },
        });
      });

      test("source_port as a number and as a string", () => {
        const expected = { ...NSG_FULL, source: { ...NSG_FULL.source, port: 8080 } };
        expect(expectEcs(nsg(FLOW, { source_port: "8080" }), expected)).toContain('"port":8080');
        expect(expectEcs(nsg(FLOW, { source_port: q("8080") }), expected)).toContain('"port":8080');
        expectEcs(nsg(FLOW, { source_port: q("08080") }), expected);
      });

      test("destination_port as a number and as a string, 0 and 65535 included", () => {
        expectEcs(nsg(FLOW, { destination_port: "0" }), { ...NSG_FULL, destination: { ...NSG_FULL.destination, port: 0 } });
        expectEcs(nsg(FLOW, { destination_port: q("65535") }), { ...NSG_FULL, destination: { ...NSG_FULL.destination, port: 65535 } });
      });

      test("an empty or null override is no override", () => {
        expectEcs(nsg(FLOW, { source_addr: q(""), destination_addr: "null", source_port: q(""), destination_port: "null" }), NSG_FULL);
      });

      test.each([
        ["source_port", "65536"],
        ["source_port", q("65536")],
        ["source_port", q("123456")],
        ["source_port", q("80a")],
        ["source_port", q(" 80")],
        ["source_port", q("-1")],
        ["source_port", "-1"],
        ["source_port", "-0"],
        ["source_port", "80.0"],
        ["source_port", "8e1"],
        ["source_port", "true"],
        ["source_port", "[80]"],
        ["destination_port", "{}"],
        ["destination_port", "1E2"],
        ["source_addr", "1234"],
        ["source_addr", "false"],
        ["destination_addr", '["10.0.0.1"]'],
        ["destination_addr", "{}"],
      ])("invalid override %s: %s → invalid_field", (key, value) => {
        const raw = nsg(FLOW, { [key]: value });
        expect(expectError(raw, "invalid_field", raw)).toContain(q(key));
      });
    });

    describe("FlowState", () => {
      test("the tuple's state wins over a conflicting flow_state", () => {
        expectEcs(nsg(FLOW, { flow_state: q("end") }), NSG_FULL);
        expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,C,,,,", { flow_state: q("begin") }), {
          ...NSG_FULL,
          action: { ...NSG_FULL.action, properties: { OperationName: OP, FlowState: "continue" } },
        });
      });

      test("an empty tuple state keeps flow_state, as given", () => {
        expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,,,,,", { flow_state: q("Whatever") }), {
          ...NSG_FULL,
          action: { ...NSG_FULL.action, properties: { OperationName: OP, FlowState: "Whatever" } },
        });
        expectEcs(nsg("1493763938,10.0.0.1,10.0.0.2,1234,22,T,I,A,,,,,"), {
          ...NSG_FULL,
          action: { ...NSG_FULL.action, properties: { OperationName: OP } },
        });
      });
    });

    describe("version", () => {
      const withVersion = (v: string) => ({ ...NSG_FULL, action: { ...NSG_FULL.action, properties: { ...NSG_FULL.action.properties, Version: v } } });

      test("a string, or an integer written with digits only, becomes a string", () => {
        expectEcs(nsg(FLOW, { version: q("2") }), withVersion("2"));
        expectEcs(nsg(FLOW, { version: "2" }), withVersion("2"));
        expectEcs(nsg(FLOW, { version: "0" }), withVersion("0"));
        expectEcs(nsg(FLOW, { version: "12345678901234567890" }), withVersion("12345678901234567890"));
        expectEcs(nsg(FLOW, { version: q("2.1-beta") }), withVersion("2.1-beta"));
      });

      test("null and \"\" are absent", () => {
        expectEcs(nsg(FLOW, { version: "null" }), NSG_FULL);
        expectEcs(nsg(FLOW, { version: q("") }), NSG_FULL);
      });

      test.each(["2.0", "2e0", "-2", "true", "[2]", "{}"])("version %s → invalid_field", (value) => {
        const raw = nsg(FLOW, { version: value });
        expect(expectError(raw, "invalid_field", raw)).toContain('"version"');
      });
    });

    describe("@timestamp", () => {
      test("without time, the tuple's epoch seconds give @timestamp and event.start", () => {
        const ts = "2017-05-02T22:25:38Z";
        const expected = { ...NSG_FULL, "@timestamp": ts, event: { ...NSG_FULL.event, start: ts } };
        expectEcs(nsg(FLOW, { time: undefined }), expected);
        expectEcs(nsg(FLOW, { time: "null" }), expected);
        expectEcs(nsg(FLOW, { time: q("") }), expected);
      });

      test("epoch 0, and the last second of 9999", () => {
        const at = (epoch: string, ts: string) =>
          expectEcs(nsg(`${epoch},10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,`, { time: undefined }),
            { ...NSG_FULL, "@timestamp": ts, event: { ...NSG_FULL.event, start: ts } });
        at("0", "1970-01-01T00:00:00Z");
        at("0000000000000000000", "1970-01-01T00:00:00Z");
        at("253402300799", "9999-12-31T23:59:59Z");
      });

      test("an epoch past 9999 gives no timestamp, but with time the tuple still maps", () => {
        const flow = "253402300800,10.0.0.1,10.0.0.2,1234,22,T,I,A,B,,,,";
        const raw = nsg(flow, { time: undefined });
        expectError(raw, "no_timestamp", raw);
        expectEcs(nsg(flow), NSG_FULL);
      });

      test("neither time nor a documented tuple → no_timestamp", () => {
        for (const raw of [
          nsg("not a tuple", { time: undefined }),
          nsg(undefined, { time: undefined }),
          nsg(undefined, { time: q("") }),
          rec({}),
          nsg("not a tuple", { time: undefined, source_addr: q("1.2.3.4"), source_port: "1" }),
        ]) expectError(raw, "no_timestamp", raw);
      });
    });
  });

  // ─── Field values (both intakes) ────────────────────────────────────────────────────────────

  describe("field values", () => {
    test.each([
      ["macAddress", "12"], ["rule", "true"], ["operationName", "{}"], ["flow_state", "[]"],
      ["flow.0", "1493763938"], ["time", "1616583277"], ["source_addr", "0"],
    ])("%s of another type than string → invalid_field (even time)", (key, value) => {
      const raw = nsg(FLOW, { [key]: value });
      expect(expectError(raw, "invalid_field", raw)).toContain(q(key));
    });

    test("an empty string is absent for every string field", () => {
      expectEcs(nsg(FLOW, { rule: q(""), macAddress: q(""), operationName: q(""), flow_state: q("") }), {
        ...NSG_FULL,
        event: { category: ["network"], start: TS, action: "accept", type: ["allowed"], outcome: "success" },
        action: { name: "accept", outcome: "success", target: "network-traffic", properties: { FlowState: "begin" } },
        rule: undefined,
        source: { ip: "10.0.0.1", address: "10.0.0.1", port: 1234 },
      });
    });

    test("null is absent", () => {
      expectEcs(nsg(FLOW, { rule: "null", macAddress: "null", operationName: "null" }), {
        ...NSG_FULL,
        event: { category: ["network"], start: TS, action: "accept", type: ["allowed"], outcome: "success" },
        action: { name: "accept", outcome: "success", target: "network-traffic", properties: { FlowState: "begin" } },
        rule: undefined,
        source: { ip: "10.0.0.1", address: "10.0.0.1", port: 1234 },
      });
    });

    test("the first offending key of the record is the one named", () => {
      const a = rec({ rule: "1", macAddress: "2", time: q(TIME) });
      expect(expectError(a, "invalid_field", a)).toContain('"rule"');
      const b = rec({ macAddress: "2", rule: "1", time: q(TIME) });
      expect(expectError(b, "invalid_field", b)).toContain('"macAddress"');
      const c = rec({ version: "2.5", source_port: "true", time: "5" });
      expect(expectError(c, "invalid_field", c)).toContain('"version"');
    });

    test("duplicate keys: the last one wins, for values and for which key offends first", () => {
      const fixed = `{"rule":5,"time":"${TIME}","flow.0":"${FLOW}","macAddress":"${MAC}","operationName":"${OP}","rule":"${RULE}"}`;
      expectEcs(fixed, NSG_FULL);
      const broken = `{"rule":"${RULE}","time":7,"rule":false}`;
      const why = expectError(broken, "invalid_field", broken);
      expect(why).toContain('"time"');
      expect(why).not.toContain('"rule"');
    });

    test("keys are compared after unescaping", () => {
      const raw = String.raw`{"m\u0061cAddress":"M","operationN\u0061me":"Op","r\u0075le":"R","\u0074ime":"2021-06-01T12:00:00Z","flow\u002e0":"1,1.1.1.1,2.2.2.2,1,2,U,O,A","\u0073ource_port":"7"}`;
      expectEcs(raw, {
        "@timestamp": "2021-06-01T12:00:00Z",
        event: { category: ["network"], code: "Op", start: "2021-06-01T12:00:00Z", action: "accept", type: ["allowed"], outcome: "success" },
        action: { name: "accept", outcome: "success", type: "R", target: "network-traffic", properties: { OperationName: "Op" } },
        rule: { name: "R" },
        source: { ip: "1.1.1.1", address: "1.1.1.1", port: 7, mac: "M" },
        destination: { ip: "2.2.2.2", address: "2.2.2.2", port: 2 },
        network: { transport: "udp", direction: "outbound" },
        related: { ip: ["1.1.1.1", "2.2.2.2"] },
      });
    });

    test("unknown keys are ignored, whatever their type", () => {
      expectEcs(nsg(FLOW, { resourceId: q("/SUBSCRIPTIONS/X"), extra: '{"a":[1,{"b":null}]}', n: "-1.5e300", Rule: "5" }), NSG_FULL);
    });

    test("escapes in values are unescaped, then re-escaped as JSON.stringify does", () => {
      const raw = nsg(FLOW, { rule: String.raw`"q\"b\\s\/e\u00e9x\ud83d\ude00y\ud800z\uDC00\u0001\t\u007f"` });
      const line = run(raw);
      const value = 'q"b\\s/e\u00e9x\u{1F600}y\ud800z\udc00\u0001\t\u007f';
      expect(line).toContain(String.raw`"name":"q\"b\\s/e` + "\u00e9x\u{1F600}" + String.raw`y\ud800z\udc00\u0001\t` + "\u007f\"");
      expect(ecsDiff(JSON.parse(line), { ...NSG_FULL, message: raw, rule: { name: value }, action: { ...NSG_FULL.action, type: value } })).toEqual([]);
    });

    test("raw UTF-8 in values is written as raw UTF-8, and message is the raw event", () => {
      const raw = nsg(FLOW, { rule: q("règle-日本-\u{1F600}") });
      const line = run(raw);
      expect(line).toContain('"name":"règle-日本-\u{1F600}"');
      expect(JSON.parse(line).message).toBe(raw);
    });

    test("message keeps escapes and whitespace exactly as received", () => {
      const raw = ` {\n\t"r\\u0075le" : "a\\/b" ,"time":"${TIME}"}\r\n`;
      const got = mapped(raw);
      expect(got.message).toBe(raw);
      expect(got.rule).toEqual({ name: "a/b" });
    });
  });

  // ─── Time ───────────────────────────────────────────────────────────────────────────────────

  describe("time", () => {
    test.each([
      ["2020-12-14T22:16:46.3528160Z", "2020-12-14T22:16:46.352816Z"],
      ["2021-03-24T10:55:03.0680749Z", "2021-03-24T10:55:03.068074Z"],
      ["2021-12-31T23:59:59.9999999Z", "2021-12-31T23:59:59.999999Z"],
      ["2021-06-01T12:00:00Z", "2021-06-01T12:00:00Z"],
      ["2021-06-01T12:00:00.000Z", "2021-06-01T12:00:00Z"],
      ["2021-06-01T12:00:00.0000009Z", "2021-06-01T12:00:00Z"],
      ["2021-06-01T12:00:00.5Z", "2021-06-01T12:00:00.500000Z"],
      ["2021-06-01T12:00:00.000001Z", "2021-06-01T12:00:00.000001Z"],
      ["2021-06-01T12:00:00.123456789012Z", "2021-06-01T12:00:00.123456Z"],
      ["2021-06-01 12:00:00Z", "2021-06-01T12:00:00Z"],
      ["2021-06-01T12:00:00z", "2021-06-01T12:00:00Z"],
      ["2021-06-01T12:00:00", "2021-06-01T12:00:00Z"],
      ["2021-06-01T12:00:00.25", "2021-06-01T12:00:00.250000Z"],
      ["2020-12-14T22:16:46+02:00", "2020-12-14T20:16:46Z"],
      ["2020-12-14T22:16:46.5-0530", "2020-12-15T03:46:46.500000Z"],
      ["2020-12-31T23:30:00-01:00", "2021-01-01T00:30:00Z"],
      ["2021-01-01T00:30:00+01:00", "2020-12-31T23:30:00Z"],
      ["2021-01-01T01:59:59.9999999+0200", "2020-12-31T23:59:59.999999Z"],
      ["2024-02-28T23:00:00-02:00", "2024-02-29T01:00:00Z"],
      ["2023-02-28T23:00:00-02:00", "2023-03-01T01:00:00Z"],
      ["2023-01-02T00:00:00+23:59", "2023-01-01T00:01:00Z"],
      ["2025-04-30T09:07:40.986182+00:00", "2025-04-30T09:07:40.986182Z"],
      ["2021-06-01T12:00:00-00:00", "2021-06-01T12:00:00Z"],
      ["2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"],
      ["1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500000Z"],
      ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
      ["9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999999Z"],
    ])("%s → %s", (time, ts) => {
      expectEcs(nsg(FLOW, { time: q(time) }), { ...NSG_FULL, "@timestamp": ts, event: { ...NSG_FULL.event, start: ts } });
    });

    test.each([
      "2023-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2023-04-31T00:00:00Z",
      "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z", "2023-01-00T00:00:00Z",
      "2023-01-01T24:00:00Z", "2023-01-01T00:60:00Z", "2023-01-01T00:00:60Z",
      "2023-01-01T00:00Z", "2023-1-01T00:00:00Z", "2023-01-01t00:00:00Z", "2023-01-01T00:00:00.Z",
      "2023-01-01T00:00:00+02", "2023-01-01T00:00:00+2:00", "2023-01-01T00:00:00+02:60", "2023-01-01T00:00:00+24:00",
      "2023-01-01T00:00:00 Z", " 2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z ", "2023-01-01T00:00:00UTC",
      "2023-01-01T00:00:00,5Z", "+2023-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "0000-12-31T23:30:00-01:00",
      "0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-01:00", "1616583277", "yesterday",
      "\uff12\uff10\uff12\uff13-01-01T00:00:00Z",
    ])("%j → invalid_time", (time) => {
      const raw = nsg(FLOW, { time: q(time) });
      expect(expectError(raw, "invalid_time", raw)).toContain(q(time));
    });

    test("a bad time is an error in VNet too, even when the tuple gives @timestamp", () => {
      const raw = vnet(VFLOW, { time: q("2023-02-29T00:00:00Z") });
      expectError(raw, "invalid_time", raw);
    });

  });

  // ─── VNet ───────────────────────────────────────────────────────────────────────────────────

  describe("VNet", () => {
    test("a 13-field flow, every field, IPv6 destination", () => {
      expectEcs(vnet(VFLOW), VNET_FULL);
    });

    test.each([["B", "start"], ["C", "info"], ["E", "end"], ["D", "denied"]])("state %s → event.type [%s]", (state, type) => {
      expectEcs(vnet(`1663146003599,10.1.0.4,2001:db8::5,50000,443,17,O,${state},NX_ENC,3,767,2,1580`), {
        ...VNET_FULL,
        event: { ...VNET_FULL.event, type: [type] },
      });
    });

    test("a zero-millisecond epoch prints no fraction; epoch 0; the last millisecond of 9999", () => {
      const at = (epochMs: string, ts: string) =>
        expectEcs(vnet(`${epochMs},10.1.0.4,2001:db8::5,50000,443,17,O,C,NX_ENC,3,767,2,1580`), { ...VNET_FULL, "@timestamp": ts });
      at("1663146003000", "2022-09-14T09:00:03Z");
      at("1663146003001", "2022-09-14T09:00:03.001000Z");
      at("0", "1970-01-01T00:00:00Z");
      at("253402300799999", "9999-12-31T23:59:59.999000Z");
    });

    test("empty counters absent, zeros kept, 2^64-1 exact, protocol kept as written", () => {
      const line = expectEcs(vnet("1663146003599,10.1.0.4,2001:db8::5,50000,443,006,I,E,X,,0,18446744073709551615,"), {
        ...VNET_FULL,
        event: { ...VNET_FULL.event, type: ["end"] },
        action: { ...VNET_FULL.action, properties: { OperationName: VOP, FlowEncryption: "X" } },
        network: { iana_number: "006", direction: "inbound" },
        source: { ip: "10.1.0.4", address: "10.1.0.4", port: 50000, bytes: 0 },
        destination: { ip: "2001:db8::5", address: "2001:db8::5", port: 443, packets: 18446744073709551615 },
      });
      expect(line).toMatch(/"destination":\{[^}]*"packets":18446744073709551615[,}]/);
    });

    test.each([
      ["8 fields", "1663146003599,10.1.0.4,2001:db8::5,50000,443,17,O,C"],
      ["an NSG tuple", "1663146003,10.1.0.4,10.1.0.5,50000,443,T,O,A,B,,,,"],
      ["protocol of 4 digits", "1663146003599,10.1.0.4,2001:db8::5,50000,443,1234,O,C,NX,1,1,1,1"],
      ["empty protocol", "1663146003599,10.1.0.4,2001:db8::5,50000,443,,O,C,NX,1,1,1,1"],
      ["direction X", "1663146003599,10.1.0.4,2001:db8::5,50000,443,6,X,C,NX,1,1,1,1"],
      ["state A", "1663146003599,10.1.0.4,2001:db8::5,50000,443,6,O,A,NX,1,1,1,1"],
      ["empty encryption", "1663146003599,10.1.0.4,2001:db8::5,50000,443,6,O,C,,1,1,1,1"],
      ["a counter of 2^64", "1663146003599,10.1.0.4,2001:db8::5,50000,443,6,O,C,NX,18446744073709551616,1,1,1"],
      ["an epoch after 9999-12-31", "253402300800000,10.1.0.4,2001:db8::5,50000,443,6,O,C,NX,1,1,1,1"],
      ["a bad IPv6", "1663146003599,10.1.0.4,2001:db8:::5,50000,443,6,O,C,NX,1,1,1,1"],
      ["empty", ""],
    ])("a tuple of the wrong shape (%s): envelope only, @timestamp from time", (_what, flow) => {
      expectEcs(vnet(flow), VNET_ENVELOPE);
    });

    test("no documented tuple and no time → no_timestamp", () => {
      for (const raw of [vnet("bad", { time: undefined }), vnet(undefined, { time: undefined }), vnet("", { time: q("") })]) {
        expectError(raw, "no_timestamp", raw);
      }
    });

    test("NSG-only keys are not read: overrides, flow_state and version, valid or not", () => {
      expectEcs(vnet(VFLOW, { source_addr: q("9.9.9.9"), destination_port: "80", flow_state: q("begin"), version: q("2") }), VNET_FULL);
      expectEcs(vnet(VFLOW, { source_addr: "1", source_port: "true", flow_state: "[]", version: "2.5" }), VNET_FULL);
    });

    test("intake: flowLogVersion with any non-null value, or operationName FlowLogFlowEvent", () => {
      const vnetWithOp = (op: string, flv: string | undefined) =>
        rec({ time: q(VTIME), flowLogVersion: flv, macAddress: q(VMAC), operationName: q(op), rule: q(VRULE), "flow.0": q(VFLOW) });
      const opEvent = (op: string) => ({ ...VNET_FULL, event: { ...VNET_FULL.event, code: op }, action: { ...VNET_FULL.action, properties: { OperationName: op, FlowEncryption: "NX_ENC" } } });
      expectEcs(vnetWithOp("Other", q("")), opEvent("Other"));
      expectEcs(vnetWithOp("Other", "false"), opEvent("Other"));
      expectEcs(vnetWithOp("Other", "{}"), opEvent("Other"));
      expectEcs(vnetWithOp(VOP, undefined), VNET_FULL);
      expectEcs(vnetWithOp(VOP, "null"), VNET_FULL);
      // flowLogVersion null and another operationName: NSG, where this tuple is the wrong shape.
      expectEcs(vnetWithOp("Other", "null"), {
        "@timestamp": VTS_FROM_TIME,
        event: { category: ["network"], code: "Other", start: VTS_FROM_TIME },
        action: { type: VRULE, target: "network-traffic", properties: { OperationName: "Other" } },
        rule: { name: VRULE },
        source: { mac: VMAC },
      });
    });

    test("a non-string operationName is invalid_field in VNet too", () => {
      const raw = vnet(VFLOW, { operationName: "7" });
      expect(expectError(raw, "invalid_field", raw)).toContain('"operationName"');
    });
  });

  // ─── Wrapped events ─────────────────────────────────────────────────────────────────────────

  describe("wrapped events", () => {
    const inner = nsg(FLOW);

    test("message, or log, holding the raw event: mapped as that event", () => {
      expectEcs(inner, NSG_FULL);
      expect(ecsDiff(mapped(rec({ message: q(inner) })), { ...NSG_FULL, message: inner })).toEqual([]);
      expect(ecsDiff(mapped(rec({ log: q(inner), stream: q("stdout") })), { ...NSG_FULL, message: inner })).toEqual([]);
    });

    test("leading whitespace in the string is allowed and kept in message", () => {
      const padded = " \n\t" + inner;
      expect(ecsDiff(mapped(rec({ date: "1.5", message: q(padded) })), { ...NSG_FULL, message: padded })).toEqual([]);
    });

    test("message that is not an event string falls back to log", () => {
      expect(ecsDiff(mapped(rec({ message: q("hello"), log: q(inner) })), { ...NSG_FULL, message: inner })).toEqual([]);
      expect(ecsDiff(mapped(rec({ message: "5", log: q(inner) })), { ...NSG_FULL, message: inner })).toEqual([]);
    });

    test("flow.0 or operationName non-empty, or flowLogVersion not null: not a wrapper", () => {
      for (const [key, value] of [["flow.0", q("garbage")], ["operationName", q("X")], ["flowLogVersion", q("")], ["flowLogVersion", "0"]] as const) {
        const raw = rec({ message: q(inner), [key]: value, time: q(TIME) });
        const got = mapped(raw);
        expect(got.message).toBe(raw);
        expect(got["@timestamp"]).toBe(TS);
        expect(got.rule).toBeUndefined();
      }
    });

    test("flow.0 or operationName null or \"\", or flowLogVersion null: still a wrapper", () => {
      for (const [key, value] of [["flow.0", "null"], ["flow.0", q("")], ["operationName", "null"], ["operationName", q("")], ["flowLogVersion", "null"]] as const) {
        expect(ecsDiff(mapped(rec({ [key]: value, message: q(inner) })), { ...NSG_FULL, message: inner })).toEqual([]);
      }
    });

    test("a non-string flow.0 beside a message is no wrapper but an invalid field", () => {
      const raw = rec({ message: q(inner), "flow.0": "5" });
      expect(expectError(raw, "invalid_field", raw)).toContain('"flow.0"');
    });

    test("a message string not starting with { is not a wrapper", () => {
      const raw = rec({ message: q("x" + inner), time: q(TIME) });
      expect(mapped(raw).message).toBe(raw);
    });

    test("unwrapped once only: a wrapper inside a wrapper maps as a (timeless) event", () => {
      const twice = rec({ message: q(rec({ log: q(inner) })) });
      const once = rec({ log: q(inner) });
      expectError(twice, "no_timestamp", once);
    });

    test("errors in the inner event name the inner event as message", () => {
      const badJson = '{"rule":}';
      expect(expectError(rec({ message: q(badJson) }), "invalid_json", badJson)).toMatch(/\bbyte 8\b/);
      const notTimed = rec({ rule: q("x") });
      expectError(rec({ log: q(notTimed) }), "no_timestamp", notTimed);
      const deep = '{"a":' + "[".repeat(64) + "]".repeat(64) + "}";
      expectError(rec({ message: q(deep) }), "too_deep", deep);
    });

    test("a lone surrogate in the inner event is invalid_utf8; message keeps it (as the \\ud800 escape)", () => {
      const raw = String.raw`{"message":"{\"rule\":\"a\ud800b\"}"}`;
      expect(expectError(raw, "invalid_utf8", '{"rule":"a\ud800b"}')).toMatch(/\bbyte 10\b/);
      expect(run(raw)).toContain(String.raw`"message":"{\"rule\":\"a\ud800b\"}"`);
      const pair = String.raw`{"message":"{\"rule\":\"\ud83d\ude00\",\"time\":\"2021-06-01T12:00:00Z\"}"}`;
      expect(mapped(pair).rule).toEqual({ name: "\u{1F600}" });
    });
  });

  // ─── Error events ───────────────────────────────────────────────────────────────────────────

  describe("error events", () => {
    describe("too_large", () => {
      test("a record of 65,537 bytes; message is its first 65,536", () => {
        const raw = '{"pad":"' + "a".repeat(65537 - 10) + '"}';
        expect(utf8.encode(raw).length).toBe(65537);
        const why = expectError(raw, "too_large", raw.slice(0, 65536));
        expect(why).toContain("65537");
        expect(why).toContain("65536");
      });

      test("65,536 bytes is within the limit", () => {
        const base = nsg(FLOW, { pad: q("") });
        const raw = nsg(FLOW, { pad: q("a".repeat(65536 - base.length)) });
        expect(utf8.encode(raw).length).toBe(65536);
        expectEcs(raw, NSG_FULL);
      });

      test("the cut moves back to a character boundary", () => {
        // é (2 bytes) at offset 65535 and 😀 (4 bytes) at 65534 would be cut in two.
        const e = '{"pad":"' + "a".repeat(65535 - 8) + "\u00e9" + "a".repeat(10) + '"}';
        expectError(e, "too_large", '{"pad":"' + "a".repeat(65535 - 8));
        const g = '{"pad":"' + "a".repeat(65534 - 8) + "\u{1F600}" + "a".repeat(10) + '"}';
        expectError(g, "too_large", '{"pad":"' + "a".repeat(65534 - 8));
        // A character that ends exactly at the limit stays.
        const h = '{"pad":"' + "a".repeat(65532 - 8) + "\u{1F600}" + "a".repeat(10) + '"}';
        expectError(h, "too_large", '{"pad":"' + "a".repeat(65532 - 8) + "\u{1F600}");
      });

      test("comes before invalid UTF-8 and invalid JSON", () => {
        const bytes = new Uint8Array(70000).fill(0x61);
        bytes[0] = 0xff;
        expectError(bytes, "too_large", "\ufffd" + "a".repeat(65535));
      });
    });

    describe("invalid_utf8", () => {
      const withBytes = (...parts: (string | number[])[]) =>
        Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...utf8.encode(p)] : p)));

      test.each([
        ["a stray 0xFF", [0xff], "\ufffd"],
        ["a lone continuation byte", [0x80], "\ufffd"],
        ["an overlong /", [0xc0, 0xaf], "\ufffd\ufffd"],
        ["an overlong 3-byte form", [0xe0, 0x80, 0xaf], "\ufffd\ufffd\ufffd"],
        ["an encoded surrogate", [0xed, 0xa0, 0x80], "\ufffd\ufffd\ufffd"],
        ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], "\ufffd\ufffd\ufffd\ufffd"],
        ["a truncated sequence", [0xe2, 0x82], "\ufffd"],
      ])("%s, with the offset of its first byte", (_what, bad, replaced) => {
        const raw = withBytes('{"rule":"', bad, '"}');
        expect(expectError(raw, "invalid_utf8", `{"rule":"${replaced}"}`)).toMatch(/\bbyte 9\b/);
      });

      test("anywhere: after a JSON error too, and outside strings", () => {
        const raw = withBytes('{"rule":}', [0xff]);
        expect(expectError(raw, "invalid_utf8", '{"rule":}\ufffd')).toMatch(/\bbyte 9\b/);
        const end = withBytes('{"rule":"x"}', [0xe2, 0x82]);
        expect(expectError(end, "invalid_utf8", '{"rule":"x"}\ufffd')).toMatch(/\bbyte 12\b/);
      });

      test("offsets count bytes, not characters", () => {
        const raw = withBytes('{"é":"日', [0xff], '"}');
        expect(expectError(raw, "invalid_utf8", '{"é":"日\ufffd"}')).toMatch(/\bbyte 10\b/);
      });
    });

    describe("invalid_json", () => {
      test.each([
        ["", 0],
        [" ", 1],
        ['{"rule":}', 8],
        ['{"rule":"x"', 11],
        ['{"rule":"x",}', 12],
        ['{"rule" "x"}', 8],
        ["{'rule':1}", 1],
        ['{"rule":"x"}x', 12],
        ['{"rule":"x"}{}', 12],
        ['{"a":01}', 6],
        ['{"a":1.}', 7],
        ['{"a":-}', 6],
        ['{"a":NaN}', 5],
        ['{"a":tru}', 8],
        ['{"a":"\\x"}', 7],
        ['{"a":"\\u12G4"}', 10],
        ['{"a":"\u0001"}', 6],
        ['{"a":"x\ny"}', 7],
        ['{"a":[1,]}', 8],
        ['{"a":[1}', 7],
        ['{"é":1,}', 8],
        ["\ufeff{}", 0],
      ])("%j at byte %d", (raw, at) => {
        expect(expectError(raw, "invalid_json", raw)).toMatch(new RegExp(`\\bbyte ${at}\\b`));
      });

    });

    describe("too_deep", () => {
      test("64 levels are fine, 65 are not (the top-level object is level 1)", () => {
        const ok = rec({ a: "[".repeat(63) + "]".repeat(63), time: q(TIME) });
        expectEcs(ok, { "@timestamp": TS, event: { category: ["network"], start: TS }, action: { target: "network-traffic" } });
        const deep = '{"a":' + "[".repeat(64) + "]".repeat(64) + "}";
        expect(expectError(deep, "too_deep", deep)).toMatch(/\bbyte 68\b/);
      });

      test("brackets inside strings do not count", () => {
        const raw = rec({ a: q("[{".repeat(100)), time: q(TIME) });
        expect(mapped(raw)["@timestamp"]).toBe(TS);
      });

      test("comes before not_an_object, after invalid_json", () => {
        const arrays = "[".repeat(65) + "]".repeat(65);
        expect(expectError(arrays, "too_deep", arrays)).toMatch(/\bbyte 64\b/);
        expectError("[".repeat(64) + "]".repeat(64), "not_an_object", "[".repeat(64) + "]".repeat(64));
        expectError("[".repeat(100), "invalid_json", "[".repeat(100));
      });

    });

    test.each(["[]", '["{}"]', '"{}"', "1", "-0.5", "null", "true", " false "])("not_an_object: %j", (raw) => {
      expectError(raw, "not_an_object", raw);
    });

    test("invalid_field, with the key in the error message", () => {
      const raw = nsg(FLOW, { rule: "42" });
      expect(expectError(raw, "invalid_field", raw)).toContain('"rule"');
    });

    test("invalid_time, with the value in the error message", () => {
      const raw = nsg(FLOW, { time: q("2023-02-30T00:00:00Z") });
      expect(expectError(raw, "invalid_time", raw)).toContain("2023-02-30T00:00:00Z");
    });

    test("precedence: invalid_field before invalid_time before no_timestamp", () => {
      const both = rec({ time: q("bad"), rule: "5" });
      expectError(both, "invalid_field", both);
      const timeOnly = rec({ time: q("bad") });
      expectError(timeOnly, "invalid_time", timeOnly);
      const none = rec({ rule: q("x") });
      expectError(none, "no_timestamp", none);
    });

    test("the error event is exactly the documented line", () => {
      expect(run("[]")).toBe('{"message":"[]","error":{"type":"not_an_object","message":"the record is an array, not an object"},"event":{"kind":"pipeline_error"}}');
      expect(run('{"rule":"a\\nb"}')).toBe('{"message":"{\\"rule\\":\\"a\\\\nb\\"}","error":{"type":"no_timestamp","message":"no \\"time\\" and no epoch from a documented \\"flow.0\\" tuple"},"event":{"kind":"pipeline_error"}}');
    });

  });
}
