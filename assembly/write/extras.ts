// Fragments that enrich/ renders before a writer runs, and that both writers copy in: `threat`
// (indicator matches) at the end of the event, and a span at the end of the `source` and
// `destination` objects (for the geo lookups to come). Each is JSON members with a leading
// comma, or nothing. They are set per event by the mapper (map/mapper.ts) after a successful
// mapping and cleared before it; an event with none is written byte for byte as without them.
export let threatPtr: usize = 0;
export let threatLen: i32 = 0;
export let sourceExtraPtr: usize = 0;
export let sourceExtraLen: i32 = 0;
export let destinationExtraPtr: usize = 0;
export let destinationExtraLen: i32 = 0;

export function clearExtras(): void {
  threatLen = 0;
  sourceExtraLen = 0;
  destinationExtraLen = 0;
}

export function setThreat(ptr: usize, len: i32): void {
  threatPtr = ptr;
  threatLen = len;
}

export function setSourceExtra(ptr: usize, len: i32): void {
  sourceExtraPtr = ptr;
  sourceExtraLen = len;
}

export function setDestinationExtra(ptr: usize, len: i32): void {
  destinationExtraPtr = ptr;
  destinationExtraLen = len;
}

/** Bytes the extras add to the event: the room a writer reserves for them. */
export function extrasLength(): i32 {
  return threatLen + sourceExtraLen + destinationExtraLen;
}

// Whether any enrichment data is loaded (indicator sets, geo databases): the mapper's one test
// per event, so that an instance with nothing loaded pays nothing. Each kind says when it
// changes; when the last goes, the extras of the last enriched event must not stay for the
// writers (the mapper stops clearing them).
export let anyEnrichment: bool = false;
let indicatorsLoaded: bool = false;
let geoLoaded: bool = false;

export function setIndicatorsLoaded(on: bool): void {
  indicatorsLoaded = on;
  enrichmentChanged();
}

export function setGeoLoaded(on: bool): void {
  geoLoaded = on;
  enrichmentChanged();
}

function enrichmentChanged(): void {
  anyEnrichment = indicatorsLoaded || geoLoaded;
  if (!anyEnrichment) clearExtras();
}
