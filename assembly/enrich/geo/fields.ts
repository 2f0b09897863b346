// What a database gives for one address: the ECS geo and AS fields found in its record. The
// record's content decides (database_type only names the file): MaxMind's GeoIP2/GeoLite2 City
// and Country layouts (DB-IP's lite files use the same) nest names under `names.en`; the flat
// ip-location-db layouts have `country_code`, `state1`, `city`, `postcode`, `latitude`,
// `longitude`, `timezone`; the ASN files of all three have `autonomous_system_number` and
// `autonomous_system_organization`. Several databases fill one result, and a field already
// filled by an earlier database is kept (City before Country: the more precise file wins).
import { lit, Lit, spanEquals } from "../../base/bytes";
import {
  Mmdb, decode, decodeKey, keyPtr, keyLen, decodedUint, decodedFloat, decodedPtr, useData, vType, vSize, vAt, vNext, vPointer, skip, endOfDecoded,
  T_STRING, T_MAP, T_ARRAY, T_FLOAT,
} from "./mmdb";

// One string field: where its UTF-8 bytes are (inside a database file) and how many.
export const F_CONTINENT_CODE = 0;
export const F_CONTINENT_NAME = 1;
export const F_COUNTRY_ISO = 2;
export const F_COUNTRY_NAME = 3;
export const F_REGION_ISO = 4; // the subdivision's own code ("QC"); write.ts prefixes the country
export const F_REGION_NAME = 5;
export const F_CITY_NAME = 6;
export const F_POSTAL_CODE = 7;
export const F_TIMEZONE = 8;
export const F_AS_ORG = 9;
export const FIELD_COUNT = 10;

const fieldPtr = new StaticArray<usize>(FIELD_COUNT);
const fieldLen = new StaticArray<u32>(FIELD_COUNT);

export let hasLocation: bool = false;
export let latitude: f64 = 0;
export let longitude: f64 = 0;
/** Whether the location came from a 32-bit float (written with a float's shortest digits). */
export let locationIsFloat: bool = false;
export let hasAsNumber: bool = false;
export let asNumber: u64 = 0;

@inline export function fieldPointer(f: i32): usize {
  return unchecked(fieldPtr[f]);
}

@inline export function fieldLength(f: i32): u32 {
  return unchecked(fieldLen[f]);
}

/** Forgets the last address's fields. */
export function clearFields(): void {
  for (let f = 0; f < FIELD_COUNT; f++) unchecked(fieldLen[f] = 0);
  hasLocation = false;
  locationIsFloat = false;
  hasAsNumber = false;
}

/** Whether anything was found. */
export function anyField(): bool {
  if (hasLocation || hasAsNumber) return true;
  for (let f = 0; f < FIELD_COUNT; f++) if (unchecked(fieldLen[f]) != 0) return true;
  return false;
}

/** Whether any field of the fragment's `geo` part was found. */
export function anyGeoField(): bool {
  if (hasLocation) return true;
  for (let f = 0; f < F_AS_ORG; f++) if (unchecked(fieldLen[f]) != 0) return true;
  return false;
}

/** Whether any field of its `as` part was found. */
export function anyAsField(): bool {
  return hasAsNumber || unchecked(fieldLen[F_AS_ORG]) != 0;
}

const K_CONTINENT = lit("continent");
const K_COUNTRY = lit("country");
const K_SUBDIVISIONS = lit("subdivisions");
const K_CITY = lit("city");
const K_POSTAL = lit("postal");
const K_LOCATION = lit("location");
const K_CODE = lit("code");
const K_ISO_CODE = lit("iso_code");
const K_NAMES = lit("names");
const K_EN = lit("en");
const K_LATITUDE = lit("latitude");
const K_LONGITUDE = lit("longitude");
const K_TIME_ZONE = lit("time_zone");
const K_COUNTRY_CODE = lit("country_code");
const K_STATE1 = lit("state1");
const K_POSTCODE = lit("postcode");
const K_TIMEZONE = lit("timezone");
const K_ASN = lit("autonomous_system_number");
const K_AS_ORG = lit("autonomous_system_organization");

// Set by the helpers below when a decode failed: the record is corrupt.
let failed = false;

/** Whether the key decodeKey just read is k. */
@inline function keyIs(k: Lit): bool {
  return spanEquals(keyPtr, <i32>keyLen, k);
}

/** Keeps the string at `off` as field f, unless f is filled already or the value is not a
 * non-empty string (a field of another type is left out, not an error). */
function takeString(off: i64, f: i32): void {
  if (off < 0 || unchecked(fieldLen[f]) != 0) return;
  if (!decode(<u32>off)) {
    failed = true;
    return;
  }
  if (vType != T_STRING || vSize == 0) return;
  unchecked(fieldPtr[f] = decodedPtr());
  unchecked(fieldLen[f] = vSize);
}

// Where scanMap found the values of the keys it looked for (-1: not in the map).
let found0: i64 = -1;
let found1: i64 = -1;
let found2: i64 = -1;

/** Walks the map at `off` once, noting where the values of k0, k1 and k2 are (found0-2; a null
 * key is not looked for). Returns the offset after the value at `off` (just past it when it is
 * a pointer, else past the map's last entry), 0 when `needEnd` is false and every key was
 * found early, or -1 when corrupt (failed is set). A value that is not a map has none of the
 * keys. One walk per map: looking each key up apart and then skipping the map would read an
 * inline map two or three times. */
function scanMap(off: u32, k0: Lit | null, k1: Lit | null, k2: Lit | null, needEnd: bool): i64 {
  found0 = -1;
  found1 = -1;
  found2 = -1;
  if (!decode(off)) {
    failed = true;
    return -1;
  }
  if (vType != T_MAP) {
    const e = endOfDecoded(off);
    if (e < 0) failed = true;
    return e;
  }
  const viaPointer = vPointer;
  const after = <i64>vNext;
  const n = vSize;
  let at = vAt;
  let wanted = (k0 != null ? 1 : 0) + (k1 != null ? 1 : 0) + (k2 != null ? 1 : 0);
  for (let i: u32 = 0; i < n; i++) {
    const valueAt = decodeKey(at);
    if (valueAt < 0) {
      failed = true;
      return -1;
    }
    if (k0 != null && found0 < 0 && keyIs(k0)) {
      found0 = valueAt;
      wanted--;
    } else if (k1 != null && found1 < 0 && keyIs(k1)) {
      found1 = valueAt;
      wanted--;
    } else if (k2 != null && found2 < 0 && keyIs(k2)) {
      found2 = valueAt;
      wanted--;
    }
    if (wanted == 0 && (viaPointer || !needEnd)) return viaPointer ? after : 0;
    const next = skip(<u32>valueAt, 1);
    if (next < 0) {
      failed = true;
      return -1;
    }
    at = <u32>next;
  }
  return viaPointer ? after : <i64>at;
}

/** names.en of the names map at `namesAt` (or -1), as field f. */
function takeEnglishName(namesAt: i64, f: i32): void {
  if (namesAt < 0 || unchecked(fieldLen[f]) != 0) return;
  if (scanMap(<u32>namesAt, K_EN, null, null, false) < 0) return;
  takeString(found0, f);
}

function coordinate(off: u32): f64 {
  if (!decode(off)) {
    failed = true;
    return NaN;
  }
  locationIsFloat = vType == T_FLOAT;
  return decodedFloat();
}

/** A location from two offsets (or -1), kept when both are finite and in range. */
function takeLocation(latAt: i64, lonAt: i64): void {
  if (hasLocation || latAt < 0 || lonAt < 0) return;
  const lat = coordinate(<u32>latAt);
  const latFloat = locationIsFloat;
  const lon = coordinate(<u32>lonAt);
  // NaN fails both comparisons.
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return;
  latitude = lat;
  longitude = lon;
  locationIsFloat = latFloat && locationIsFloat;
  hasLocation = true;
}

// The record's top-level keys this file knows, told apart by length first: one or two byte
// comparisons for a key, where trying each name in turn took a dozen.
const KEY_OTHER = 0;
const KEY_CONTINENT = 1;
const KEY_COUNTRY = 2;
const KEY_SUBDIVISIONS = 3;
const KEY_CITY = 4;
const KEY_POSTAL = 5;
const KEY_LOCATION = 6;
const KEY_COUNTRY_CODE = 7;
const KEY_STATE1 = 8;
const KEY_POSTCODE = 9;
const KEY_TIMEZONE = 10;
const KEY_LATITUDE = 11;
const KEY_LONGITUDE = 12;
const KEY_ASN = 13;
const KEY_AS_ORG = 14;

function knownKey(): i32 {
  switch (keyLen) {
    case 4: return keyIs(K_CITY) ? KEY_CITY : KEY_OTHER;
    case 6: return keyIs(K_POSTAL) ? KEY_POSTAL : keyIs(K_STATE1) ? KEY_STATE1 : KEY_OTHER;
    case 7: return keyIs(K_COUNTRY) ? KEY_COUNTRY : KEY_OTHER;
    case 8: return keyIs(K_LOCATION) ? KEY_LOCATION : keyIs(K_POSTCODE) ? KEY_POSTCODE : keyIs(K_TIMEZONE) ? KEY_TIMEZONE : keyIs(K_LATITUDE) ? KEY_LATITUDE : KEY_OTHER;
    case 9: return keyIs(K_CONTINENT) ? KEY_CONTINENT : keyIs(K_LONGITUDE) ? KEY_LONGITUDE : KEY_OTHER;
    case 12: return keyIs(K_SUBDIVISIONS) ? KEY_SUBDIVISIONS : keyIs(K_COUNTRY_CODE) ? KEY_COUNTRY_CODE : KEY_OTHER;
    case 24: return keyIs(K_ASN) ? KEY_ASN : KEY_OTHER;
    case 30: return keyIs(K_AS_ORG) ? KEY_AS_ORG : KEY_OTHER;
  }
  return KEY_OTHER;
}

/** Adds what the record at `off` of `db` gives. Returns false (mmdbError says why) when the
 * record is corrupt; the caller then puts back the fields saved before (saveFields). */
export function readRecord(db: Mmdb, off: u32): bool {
  useData(db);
  failed = false;
  if (!decode(off)) return false;
  if (vType != T_MAP) return true; // a record of another shape gives nothing we know
  const n = vSize;
  let at = vAt;
  let flatLat: i64 = -1;
  let flatLon: i64 = -1;
  for (let i: u32 = 0; i < n; i++) {
    const key = decodeKey(at);
    if (key < 0) return false;
    const v = <u32>key;
    // Where the next key starts, when reading the value found it; else skip finds it.
    let end: i64 = -2;
    // Which key: decided on the decoded key before any other decode moves the state.
    switch (knownKey()) {
      case KEY_CONTINENT: {
        end = scanMap(v, K_CODE, K_NAMES, null, true);
        const names = found1;
        takeString(found0, F_CONTINENT_CODE);
        takeEnglishName(names, F_CONTINENT_NAME);
        break;
      }
      case KEY_COUNTRY: {
        end = scanMap(v, K_ISO_CODE, K_NAMES, null, true);
        const names = found1;
        takeString(found0, F_COUNTRY_ISO);
        takeEnglishName(names, F_COUNTRY_NAME);
        break;
      }
      case KEY_SUBDIVISIONS: {
        // The first subdivision is the largest (state, province): ECS's region.
        if (!decode(v)) return false;
        if (vType == T_ARRAY && vSize > 0 && unchecked(fieldLen[F_REGION_NAME]) == 0 && unchecked(fieldLen[F_REGION_ISO]) == 0) {
          if (scanMap(vAt, K_ISO_CODE, K_NAMES, null, false) >= 0) {
            const names = found1;
            takeString(found0, F_REGION_ISO);
            takeEnglishName(names, F_REGION_NAME);
          }
        }
        break;
      }
      case KEY_CITY: {
        if (!decode(v)) return false;
        if (vType == T_MAP) {
          end = scanMap(v, K_NAMES, null, null, true);
          takeEnglishName(found0, F_CITY_NAME);
        } else takeString(v, F_CITY_NAME);
        break;
      }
      case KEY_POSTAL: {
        end = scanMap(v, K_CODE, null, null, true);
        takeString(found0, F_POSTAL_CODE);
        break;
      }
      case KEY_LOCATION: {
        end = scanMap(v, K_LATITUDE, K_LONGITUDE, K_TIME_ZONE, true);
        const la = found0;
        const lo = found1;
        takeString(found2, F_TIMEZONE);
        takeLocation(la, lo);
        break;
      }
      case KEY_COUNTRY_CODE: takeString(v, F_COUNTRY_ISO); break;
      case KEY_STATE1: takeString(v, F_REGION_NAME); break;
      case KEY_POSTCODE: takeString(v, F_POSTAL_CODE); break;
      case KEY_TIMEZONE: takeString(v, F_TIMEZONE); break;
      case KEY_LATITUDE: flatLat = <i64>v; break;
      case KEY_LONGITUDE: flatLon = <i64>v; break;
      case KEY_ASN: {
        if (!hasAsNumber) {
          if (!decode(v)) return false;
          const num = decodedUint();
          if (num >= 0) {
            asNumber = <u64>num;
            hasAsNumber = true;
          }
        }
        break;
      }
      case KEY_AS_ORG: takeString(v, F_AS_ORG); break;
    }
    if (failed) return false;
    if (end <= 0) end = skip(v, 1);
    if (end < 0) return false;
    at = <u32>end;
  }
  takeLocation(flatLat, flatLon);
  return !failed;
}

// A copy of the result before a database is read, put back when its record turns out corrupt:
// a database gives all of its fields for an address or none.
const savedPtr = new StaticArray<usize>(FIELD_COUNT);
const savedLen = new StaticArray<u32>(FIELD_COUNT);
let savedHasLocation = false;
let savedLat: f64 = 0;
let savedLon: f64 = 0;
let savedFloat = false;
let savedHasAs = false;
let savedAs: u64 = 0;

export function saveFields(): void {
  memory.copy(changetype<usize>(savedPtr), changetype<usize>(fieldPtr), FIELD_COUNT * sizeof<usize>());
  memory.copy(changetype<usize>(savedLen), changetype<usize>(fieldLen), FIELD_COUNT * sizeof<u32>());
  savedHasLocation = hasLocation;
  savedLat = latitude;
  savedLon = longitude;
  savedFloat = locationIsFloat;
  savedHasAs = hasAsNumber;
  savedAs = asNumber;
}

export function restoreFields(): void {
  memory.copy(changetype<usize>(fieldPtr), changetype<usize>(savedPtr), FIELD_COUNT * sizeof<usize>());
  memory.copy(changetype<usize>(fieldLen), changetype<usize>(savedLen), FIELD_COUNT * sizeof<u32>());
  hasLocation = savedHasLocation;
  latitude = savedLat;
  longitude = savedLon;
  locationIsFloat = savedFloat;
  hasAsNumber = savedHasAs;
  asNumber = savedAs;
}

// The fields as bytes, for the first database's records cache (cache.ts): pointers, lengths,
// the location, the AS number, the three flags.
const LENS_AT: usize = <usize>FIELD_COUNT * sizeof<usize>();
const NUMBERS_AT: usize = LENS_AT + <usize>FIELD_COUNT * 4;
export const SNAPSHOT_BYTES: usize = NUMBERS_AT + 27;

export function snapshotFields(to: usize): void {
  memory.copy(to, changetype<usize>(fieldPtr), LENS_AT);
  memory.copy(to + LENS_AT, changetype<usize>(fieldLen), <usize>FIELD_COUNT * 4);
  store<f64>(to + NUMBERS_AT, latitude);
  store<f64>(to + NUMBERS_AT, longitude, 8);
  store<u64>(to + NUMBERS_AT, asNumber, 16);
  store<u8>(to + NUMBERS_AT, <u8>hasLocation, 24);
  store<u8>(to + NUMBERS_AT, <u8>locationIsFloat, 25);
  store<u8>(to + NUMBERS_AT, <u8>hasAsNumber, 26);
}

export function fieldsFromSnapshot(from: usize): void {
  memory.copy(changetype<usize>(fieldPtr), from, LENS_AT);
  memory.copy(changetype<usize>(fieldLen), from + LENS_AT, <usize>FIELD_COUNT * 4);
  latitude = load<f64>(from + NUMBERS_AT);
  longitude = load<f64>(from + NUMBERS_AT, 8);
  asNumber = load<u64>(from + NUMBERS_AT, 16);
  hasLocation = load<u8>(from + NUMBERS_AT, 24) != 0;
  locationIsFloat = load<u8>(from + NUMBERS_AT, 25) != 0;
  hasAsNumber = load<u8>(from + NUMBERS_AT, 26) != 0;
}
