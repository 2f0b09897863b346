// Typed access to the values the scanner found, with the contract's rules for each kind of
// field (DEVELOPERS.md, "Field values"), and the outcome codes the mappings return.
import { isDigit, parseSmallUint } from "../base/bytes";
import {
  kindOf, ptrOf, lenOf, orderOf, V_ABSENT, V_STRING, V_NUMBER, V_NULL, F_MAC, F_OPERATION, F_RULE,
  F_TIME, F_FLOW0,
} from "./json";

export const MAP_OK = 0;
export const MAP_INVALID_FIELD = 1;
export const MAP_INVALID_TIME = 2;
export const MAP_NO_TIMESTAMP = 3;

/** The field that made a mapping return MAP_INVALID_FIELD, and what it had to be. All mapped
 * fields are checked; the one named is the first in the record, so a user fixing a collector
 * is shown the offending keys in the order they appear. */
export let badField: i32 = -1;

export const EXPECT_STRING = 0;
export const EXPECT_VERSION = 1;
export const EXPECT_PORT = 2;
export let badFieldExpected: i32 = EXPECT_STRING;

function invalid(f: i32, expected: i32): bool {
  if (badField < 0 || orderOf(f) < orderOf(badField)) {
    badField = f;
    badFieldExpected = expected;
  }
  return false;
}

/** A string field may be a string, null or absent. */
@inline export function stringFieldOk(f: i32): bool {
  const k = kindOf(f);
  return k == V_STRING || k == V_ABSENT || k == V_NULL || invalid(f, EXPECT_STRING);
}

/** NSG `version`: a string, or an integer written with digits only (its text is kept). */
export function versionFieldOk(f: i32): bool {
  const k = kindOf(f);
  if (k == V_STRING || k == V_ABSENT || k == V_NULL) return true;
  if (k == V_NUMBER) {
    const p = ptrOf(f);
    const n = lenOf(f);
    let digitsOnly = true;
    for (let i = 0; i < n; i++) if (!isDigit(load<u8>(p + i))) digitsOnly = false;
    if (digitsOnly) return true;
  }
  return invalid(f, EXPECT_VERSION);
}

/** Starts a mapping's field checks with the string fields both intakes read. Inlined (two call
 * sites): a call costs WAMR's interpreter about ten instructions' time. */
@inline export function checkCommonFields(): void {
  badField = -1;
  stringFieldOk(F_MAC);
  stringFieldOk(F_OPERATION);
  stringFieldOk(F_RULE);
  stringFieldOk(F_TIME);
  stringFieldOk(F_FLOW0);
}

/** Port overrides: -1 for "no override" (absent, null, ""), the port, or -2 when invalid. The
 * common case, absent, is told inline, without a call. */
@inline export function portOverride(f: i32): i32 {
  return kindOf(f) == V_ABSENT ? -1 : presentPortOverride(f);
}

function presentPortOverride(f: i32): i32 {
  const k = kindOf(f);
  if (k == V_NULL || (k == V_STRING && lenOf(f) == 0)) return -1;
  if (k == V_STRING || k == V_NUMBER) {
    const v = parseSmallUint(ptrOf(f), lenOf(f), 5);
    if (v >= 0 && v <= 65535) return <i32>v;
  }
  invalid(f, EXPECT_PORT);
  return -2;
}

/** Text of a string field, or of a number field (version), for copying into a Span. */
@inline export function textLen(f: i32): i32 {
  const k = kindOf(f);
  return k == V_STRING || k == V_NUMBER ? lenOf(f) : 0;
}
