// Property tests: the WASM core (both builds) and the plain-TypeScript reference agree, byte
// for byte, on generated flow events, and on mutated and random bytes, where the core must also never trap
// and always answer with exactly one JSON object.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { FlowTransform, builtWasm } from "../host/transform/loader.js";
import { referenceMap, type ReferenceOptions } from "../host/reference/map.js";
import type { MapOptions } from "../host/transform/loader.js";
import { event, hostileCases, mutated, randomBytes, wrapped } from "./generators.js";

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

// ─── Properties ─────────────────────────────────────────────────────────────────────────────

const utf8 = new TextEncoder();

test("generated flow events: the WASM core and the reference agree", () => {
  fc.assert(fc.property(event, (raw) => agree(utf8.encode(raw))), { numRuns: 3000 });
});

test("wrapped generated events agree too", () => {
  fc.assert(fc.property(wrapped, (raw) => agree(utf8.encode(raw))), { numRuns: 500 });
});

test("mutated events (bytes replaced, inserted, deleted, cut) never trap and agree", () => {
  fc.assert(fc.property(mutated, (raw) => agree(raw)), { numRuns: 3000 });
});

test("random bytes never trap, always give one JSON object, and agree", () => {
  fc.assert(fc.property(randomBytes, (raw) => agree(raw)), { numRuns: 3000 });
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
  for (const raw of hostileCases()) agree(raw);
});

test("a key one byte away from a mapped key, anywhere in it, is not that key (found by npm run fuzz)", () => {
  const names = ["macAddress", "operationName", "flow_state", "source_addr", "source_port", "destination_addr", "destination_port",
    "flowLogVersion", "resourceId", "flowLogResourceID", "targetResourceID", "flowLogGUID", "version", "message"];
  for (const name of names) {
    for (let i = 0; i < name.length; i++) {
      const key = name.slice(0, i) + (name[i] === "x" ? "y" : "x") + name.slice(i + 1);
      const raw = utf8.encode(`{"time":"2024-03-18T13:21:42Z","flow.0":"1710768066,1.1.1.1,2.2.2.2,1,2,T,I,A","${key}":"v"}`);
      agree(raw);
      agree(raw, { eventId: true });
      agree(raw, { profile: "ecs" });
    }
  }
});

test("a 20-character counter is a number only when all 20 are digits (found by npm run fuzz)", () => {
  const twenty = "12345678901234567890";
  for (let i = 0; i < 20; i++) {
    for (const bad of ["x", "?", "/", ":", " "]) {
      const counter = twenty.slice(0, i) + bad + twenty.slice(i + 1);
      agree(utf8.encode(`{"time":"2024-03-18T13:21:42Z","flow.0":"1,1.1.1.1,2.2.2.2,3,4,U,I,A,B,5,6,${counter},7"}`));
      agree(utf8.encode(`{"flow.0":"1663146000000,10.0.0.1,192.0.2.180,1024,443,6,O,B,NX,5,${counter},7,8"}`));
    }
  }
  for (const edge of ["18446744073709551615", "18446744073709551616", "18446744073709551609", "09999999999999999999", "99999999999999999999"]) {
    agree(utf8.encode(`{"time":"2024-03-18T13:21:42Z","flow.0":"1,1.1.1.1,2.2.2.2,3,4,U,I,A,B,${edge},6,7,8"}`));
  }
});
