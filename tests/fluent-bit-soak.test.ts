// build/nsg-flow-ecs.wasm called a million times exactly as Fluent Bit's `filter wasm` calls it
// (host/check/fluent-bit-harness.ts): its linear memory stops growing. A soak, apart from
// tests/fluent-bit.test.ts so that npm run test:quick can leave it out; npm test runs it.
import { readFileSync } from "node:fs";
import { FluentBitFilter } from "../host/check/fluent-bit-harness.js";
import { builtWasm } from "../host/transform/loader.js";
import { loadDocumentedCases } from "../host/check/documented.js";

const module = new WebAssembly.Module(readFileSync(builtWasm("nsg-flow-ecs.wasm")));
const cases = loadDocumentedCases();

test("soak: 1,000,000 generated records, linear memory stops growing", () => {
  const filter = new FluentBitFilter(module);
  const templates = cases.map((c) => c.input);
  let settled = 0;
  const ports = (i: number) => `${1024 + (i % 60000)}`;
  for (let i = 0; i < 1_000_000; i++) {
    const t = templates[i % templates.length];
    // Vary the records so that nothing can be served from a cache of the previous one.
    const text = t.replace(/,(\d{1,5}),(\d{1,5}),/, `,${ports(i)},${ports(i * 7)},`).replace('"rule":"', `"rule":"r${i % 997}-`);
    const call = filter.callJson(i % 10 === 9 ? text.slice(0, 40 + (i % 50)) : text);
    if (i % 50_000 === 0) {
      expect(call.kept).toBe(true);
      expect(JSON.parse(call.text)).toBeInstanceOf(Object);
    }
    if (i === 100_000) settled = filter.memoryBytes;
  }
  expect(filter.memoryBytes).toBe(settled);
  expect(filter.memoryBytes).toBeLessThan(16 * 1024 * 1024);
});
