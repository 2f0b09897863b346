// The ECS fragment of one address, written once per (address, databases) and then only copied:
// `,"geo":{…},"as":{…}` as it goes inside `source` or `destination`, after a field the writer
// has already put there (hence the leading comma). Each key only when the databases had it; an
// address with nothing gives no bytes at all. Strings come from a file, so they are escaped,
// and any byte sequence that is not UTF-8 is replaced as TextDecoder does: the event stays
// valid JSON whatever the file holds. The output's put* primitives are borrowed by redirecting
// them into `fragment`; base/output.ts keeps a single saved target, so a lookup must not run
// while the output is already redirected (the blob splitter's flattening): the mapper looks both
// addresses up before it starts writing the event.
import { dtoa_buffered } from "util/number";
import { lit, Lit } from "../../base/bytes";
import { ByteBuffer, outPos, redirectOutput, restoreOutput, reserve, put, putLit, putU64, putEscapedRepaired } from "../../base/output";
import {
  fieldPointer, fieldLength, hasLocation, latitude, longitude, locationIsFloat, hasAsNumber, asNumber,
  F_CONTINENT_CODE, F_CONTINENT_NAME, F_COUNTRY_ISO, F_COUNTRY_NAME, F_REGION_ISO, F_REGION_NAME,
  F_CITY_NAME, F_POSTAL_CODE, F_TIMEZONE, F_AS_ORG,
} from "./fields";

const GEO_OPEN = lit(',"geo":{');
const AS_OPEN = lit(',"as":{');
const AS_NUMBER = lit('"number":');
const AS_ORG_OPEN = lit('"organization":{"name":"');
const LOCATION_OPEN = lit('"location":{"lat":');
const LON = lit(',"lon":');

const GEO_KEYS: StaticArray<Lit> = [
  lit('"continent_code":"'), lit('"continent_name":"'), lit('"country_iso_code":"'), lit('"country_name":"'),
  lit('"region_iso_code":"'), lit('"region_name":"'), lit('"city_name":"'), lit('"postal_code":"'),
  lit('"timezone":"'),
];
const GEO_FIELDS: StaticArray<i32> = [
  F_CONTINENT_CODE, F_CONTINENT_NAME, F_COUNTRY_ISO, F_COUNTRY_NAME, F_REGION_ISO, F_REGION_NAME,
  F_CITY_NAME, F_POSTAL_CODE, F_TIMEZONE,
];

/** The last fragment written. */
export const fragment = new ByteBuffer();
/** Where its `,"geo":{…}` part ends (its `,"as":{…}` part, if any, follows). */
export let geoPartEnd: i32 = 0;

// dtoa writes UTF-16; at most 28 characters for a double.
const digits16: usize = heap.alloc(64);

function putString(f: i32): void {
  const len = <i32>fieldLength(f);
  reserve(len * 6 + 16);
  putEscapedRepaired(fieldPointer(f), len);
}

function putCoordinate(v: f64): void {
  const n = locationIsFloat ? dtoa_buffered<f32>(digits16, <f32>v) : dtoa_buffered<f64>(digits16, v);
  for (let i: u32 = 0; i < n; i++) put(<u32>load<u16>(digits16 + <usize>(i << 1)));
}

/** Writes the fragment for the fields read (fields.ts) into `fragment`; returns its length. */
export function writeFragment(): i32 {
  fragment.len = 0;
  redirectOutput(fragment);
  reserve(512);
  let opened = false;
  for (let k = 0; k < GEO_KEYS.length; k++) {
    const f = unchecked(GEO_FIELDS[k]);
    if (fieldLength(f) == 0) continue;
    // "CA-QC": ECS's region code is the country's and the subdivision's together.
    if (f == F_REGION_ISO && fieldLength(F_COUNTRY_ISO) == 0) continue;
    reserve(64);
    if (!opened) {
      putLit(GEO_OPEN);
      opened = true;
    } else put(0x2c);
    putLit(unchecked(GEO_KEYS[k]));
    if (f == F_REGION_ISO) {
      putString(F_COUNTRY_ISO);
      put(0x2d);
    }
    putString(f);
    put(0x22);
  }
  if (hasLocation) {
    reserve(128);
    if (!opened) {
      putLit(GEO_OPEN);
      opened = true;
    } else put(0x2c);
    putLit(LOCATION_OPEN);
    putCoordinate(latitude);
    putLit(LON);
    putCoordinate(longitude);
    put(0x7d);
  }
  if (opened) put(0x7d);
  geoPartEnd = outPos;
  const org = fieldLength(F_AS_ORG) != 0;
  if (hasAsNumber || org) {
    reserve(64);
    putLit(AS_OPEN);
    if (hasAsNumber) {
      putLit(AS_NUMBER);
      putU64(asNumber);
      if (org) put(0x2c);
    }
    if (org) {
      putLit(AS_ORG_OPEN);
      putString(F_AS_ORG);
      reserve(8);
      put(0x22);
      put(0x7d);
    }
    put(0x7d);
  }
  restoreOutput(fragment);
  return fragment.len;
}
