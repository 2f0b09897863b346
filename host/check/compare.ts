// How documented cases are compared (the conformance NOTICE): every list sorted, key order
// free, and `message` byte for byte.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function canon(v: Json): Json {
  if (Array.isArray(v)) {
    return v.map(canon).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  }
  return v;
}

/** Field-level differences of `got` from `expected`, as `path: got …, expected …` lines. */
export function ecsDiff(got: Json, expected: Json): string[] {
  const problems: string[] = [];
  const g = got as Record<string, Json>;
  const e = expected as Record<string, Json>;
  if (g?.message !== e?.message) problems.push(`.message: not the raw event byte for byte`);
  const { message: _g, ...gRest } = g ?? {};
  const { message: _e, ...eRest } = e ?? {};
  walk(canon(gRest), canon(eRest), "", problems);
  return problems;
}

function walk(a: Json, b: Json, path: string, out: string[]): void {
  const isObj = (x: Json) => x !== null && typeof x === "object" && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, Json>;
    const bo = b as Record<string, Json>;
    // A key whose value is undefined is absent, as in JSON.
    const keys = (o: Record<string, Json>) => Object.keys(o).filter((k) => o[k] !== undefined);
    for (const k of [...new Set([...keys(ao), ...keys(bo)])].sort()) {
      if (ao[k] === undefined) out.push(`${path}.${k}: missing, expected ${JSON.stringify(bo[k])}`);
      else if (bo[k] === undefined) out.push(`${path}.${k}: unexpected ${JSON.stringify(ao[k])}`);
      else walk(ao[k], bo[k], `${path}.${k}`, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(`${path}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
  }
}
