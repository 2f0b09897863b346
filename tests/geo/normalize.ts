// The maxmind package's values in the form the core's test module dumps them (see
// tests/fixtures/geo-module.ts): bytes as {"bytes":"hex"}, uint64 and uint128 (bigint) as
// {"big":"hex"}, NaN and the infinities (which JSON cannot hold) as their names, so that one
// toEqual compares the two readers.
export function normalize(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === "bigint") return { big: v.toString(16) };
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { bytes: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === "object") return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, normalize(x)]));
  return v;
}
