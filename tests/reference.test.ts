// The TypeScript reference mapping (host/reference/): the shared rule suite, plus unit tests
// of the helpers it is built from.
import { referenceMap } from "../host/reference/map.js";
import { parseTime, formatTime, isIPv4, isIPv6, parsePort, parseNsgTuple, parseVnetTuple } from "../host/reference/flow.js";
import { firstInvalidUtf8, jsonErrorOffset, tooDeepOffset } from "../host/reference/json.js";
import { canon, ecsDiff } from "../host/check/compare.js";
import { mappingRules } from "./mapping-rules.js";

const utf8 = new TextEncoder();

describe("the mapping rules", () => mappingRules(referenceMap));

describe("the comparison helpers", () => {
  test("canon sorts keys and every list, recursively", () => {
    const a = canon({ b: [3, 1, { d: 1, c: [2, 1] }], a: "x" });
    expect(JSON.stringify(a)).toBe(JSON.stringify(canon({ a: "x", b: [{ c: [1, 2], d: 1 }, 1, 3] })));
    expect(Object.keys(a as object)).toEqual(["a", "b"]);
  });

  test("ecsDiff ignores key and list order, names each differing field", () => {
    expect(ecsDiff({ message: "m", a: { b: [2, 1] } }, { a: { b: [1, 2] }, message: "m" })).toEqual([]);
    expect(ecsDiff({ message: "m", a: 1, c: 3 }, { message: "m", a: 2, b: 2 })).toEqual([
      ".a: got 1, expected 2", ".b: missing, expected 2", ".c: unexpected 3",
    ]);
  });

  test("ecsDiff compares message as the same string, unit for unit", () => {
    expect(ecsDiff({ message: "a\u00e9" }, { message: "ae\u0301" })).toHaveLength(1);
    expect(ecsDiff({ message: "\ud800" }, { message: "\ufffd" })).toHaveLength(1);
  });
});

describe("reference internals", () => {
  test("formatTime and parseTime", () => {
    expect(formatTime({ seconds: 0, micros: 0 })).toBe("1970-01-01T00:00:00Z");
    expect(formatTime({ seconds: -1, micros: 999999 })).toBe("1969-12-31T23:59:59.999999Z");
    expect(formatTime({ seconds: 951782400, micros: 10 })).toBe("2000-02-29T00:00:00.000010Z");
    expect(parseTime("1970-01-01T00:00:00Z")).toEqual({ seconds: 0, micros: 0 });
    expect(parseTime("1970-01-01T01:00:00.0680749+01:00")).toEqual({ seconds: 0, micros: 68074 });
    expect(parseTime("2023-02-29T00:00:00Z")).toBeUndefined();
  });
  test("jsonErrorOffset on its own", () => {
    expect(jsonErrorOffset(utf8.encode('[1,{"a":[true,false,null,-0.5e+3]},"\\ud800"] x'))).toBe(45);
    expect(jsonErrorOffset(utf8.encode("[".repeat(100)))).toBe(100);
  });
  test("tooDeepOffset on its own", () => {
    expect(tooDeepOffset(utf8.encode("{}"))).toBe(-1);
    expect(tooDeepOffset(utf8.encode(`{"\\"[":` + "[".repeat(64) + "]".repeat(64) + "}"))).toBe(70);
  });
  test("a Buffer works as well as a Uint8Array", () => {
    expect(referenceMap(Buffer.from("[]"))).toBe(referenceMap(utf8.encode("[]")));
  });
});

// ─── Helpers exported for tests ─────────────────────────────────────────────────────────────

describe("address and port helpers", () => {
  test.each([
    "0.0.0.0", "255.255.255.255", "1.2.3.4", "10.0.0.1",
  ])("IPv4 %s", (ip) => {
    expect(isIPv4(ip)).toBe(true);
    expect(isIPv6(ip)).toBe(false);
  });

  test.each([
    "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8",
    "2001:DB8::Ab:cD", "2001:0db8:0000:0000:0000:ff00:0042:8329", "::ffff:1.2.3.4", "::1.2.3.4",
    "1::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5::1.2.3.4",
  ])("IPv6 %s", (ip) => {
    expect(isIPv6(ip)).toBe(true);
    expect(isIPv4(ip)).toBe(false);
  });

  test.each([
    "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.04", "1.2.3.-1", " 1.2.3.4", "1.2.3.4 ", "1..3.4",
    ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1::2::3",
    ":1::", "1:", ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:", "12345::", "g::1", "fe80::1%eth0", "fe80::1%1",
    "1.2.3.4::", "1.2.3.4::1", "::1.2.3", "::01.2.3.4", "::256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4:5:6:7::1.2.3.4", "[::1]", "::1/128", "1::2:", "１::1",
  ])("not an IP: %j", (s) => {
    expect(isIPv4(s) || isIPv6(s)).toBe(false);
  });

  test("parsePort", () => {
    expect(parsePort("0")).toBe(0);
    expect(parsePort("00443")).toBe(443);
    expect(parsePort("65535")).toBe(65535);
    for (const bad of ["", "65536", "000000", "-1", "+1", "1.0", " 1", "1e3"]) expect(parsePort(bad)).toBeUndefined();
  });

  test("parseNsgTuple and parseVnetTuple", () => {
    expect(parseNsgTuple("1,1.1.1.1,::1,1,2,U,O,D")).toEqual({
      epochSeconds: "1", sourceIp: "1.1.1.1", destinationIp: "::1", sourcePort: 1, destinationPort: 2,
      protocol: "U", direction: "O", decision: "D",
    });
    expect(parseVnetTuple("1,1.1.1.1,::1,1,2,6,I,D,NX,,,00,18446744073709551615")).toEqual({
      epochMilliseconds: 1, sourceIp: "1.1.1.1", destinationIp: "::1", sourcePort: 1, destinationPort: 2,
      protocol: "6", direction: "I", state: "D", encryption: "NX",
      destinationPackets: "0", destinationBytes: "18446744073709551615",
    });
  });

  test("firstInvalidUtf8", () => {
    expect(firstInvalidUtf8(utf8.encode("aé日\u{1F600}"))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xf0, 0x9f, 0x98]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xc1, 0xbf]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0xf5, 0x80, 0x80, 0x80]))).toBe(0);
  });
});
