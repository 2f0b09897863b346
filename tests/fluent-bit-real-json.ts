// JSON compared as JSON, for the real-Fluent-Bit tests: objects without regard to key order,
// arrays in order, and numbers by their text (JSON.parse would round 64-bit counters to doubles,
// hiding a counter that Fluent Bit or the filter changed).

export type Value = null | boolean | string | NumberText | Value[] | { [key: string]: Value };

export class NumberText {
  constructor(readonly text: string) {}
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Parses JSON text, keeping each number as its text. Throws on invalid JSON. */
export function parseJsonKeepingNumbers(text: string): Value {
  let p = 0;
  const ws = () => {
    while (p < text.length && " \t\n\r".includes(text[p]!)) p++;
  };
  const fail = (): never => {
    throw new SyntaxError(`invalid JSON at ${p}: ${text.slice(p, p + 40)}`);
  };
  const value = (): Value => {
    ws();
    const c = text[p];
    if (c === "{") {
      p++;
      const o: { [key: string]: Value } = {};
      ws();
      if (text[p] === "}") {
        p++;
        return o;
      }
      for (;;) {
        ws();
        const k = value();
        if (typeof k !== "string") fail();
        ws();
        if (text[p++] !== ":") fail();
        o[k as string] = value();
        ws();
        const d = text[p++];
        if (d === "}") return o;
        if (d !== ",") fail();
      }
    }
    if (c === "[") {
      p++;
      const a: Value[] = [];
      ws();
      if (text[p] === "]") {
        p++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        const d = text[p++];
        if (d === "]") return a;
        if (d !== ",") fail();
      }
    }
    const token = c === '"' ? STRING : SCALAR;
    token.lastIndex = p;
    const m = token.exec(text);
    if (!m) fail();
    if (c === '"') {
      p += m![0].length;
      return JSON.parse(m![0]) as string;
    }
    p += m![0].length;
    if (m![0] === "true") return true;
    if (m![0] === "false") return false;
    if (m![0] === "null") return null;
    return new NumberText(m![0]);
  };
  const v = value();
  ws();
  if (p !== text.length) fail();
  return v;
}

export function sameJson(a: Value, b: Value): boolean {
  if (a instanceof NumberText || b instanceof NumberText) {
    return a instanceof NumberText && b instanceof NumberText && a.text === b.text;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]!));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k]!, b[k]!));
  }
  return a === b;
}

/** The value as Fluent Bit keeps it after parsing it: its strings are UTF-8, so a lone surrogate
 * (a `\ud800` escape, which JSON allows) becomes U+FFFD. */
export function asFluentBitKeepsIt(v: Value): Value {
  if (typeof v === "string") return wellFormed(v);
  if (Array.isArray(v)) return v.map(asFluentBitKeepsIt);
  if (v !== null && typeof v === "object" && !(v instanceof NumberText)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormed(k), asFluentBitKeepsIt(x)]));
  }
  return v;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, "\ufffd");
}
