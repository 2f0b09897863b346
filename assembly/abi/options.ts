// The host's choices for this instance arrive as one small JSON object, decoded with json-as
// (not the hot path: once per instance). The host (host/loader.ts) validates and writes it, so a
// key this module does not know is a version mismatch worth reporting, not ignoring.
import { JSON } from "json-as";
import { setEventIdEnabled } from "../settings";

@json
class Options {
  eventId: bool = false;
}

const KNOWN_KEYS = ["eventId"];

/** Applies the options in [ptr, ptr+len): 0 when applied, 1 when the JSON names an option this
 * module does not have (nothing is applied then). */
export function applyOptions(ptr: usize, len: i32): i32 {
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  const keys = JSON.parse<Map<string, JSON.Raw>>(text).keys();
  for (let i = 0; i < keys.length; i++) if (!KNOWN_KEYS.includes(keys[i])) return 1;
  const o = JSON.parse<Options>(text);
  setEventIdEnabled(o.eventId);
  return 0;
}
