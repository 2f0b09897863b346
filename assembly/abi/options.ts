// The host's choices for this instance arrive as one small JSON object, decoded with json-as
// (not the hot path: once per instance). The host (host/transform/loader.ts) validates and writes it, so a
// key or a value this module does not know is a version mismatch worth reporting, not ignoring.
import { JSON } from "json-as";
import { setEventIdEnabled, setFullProfile, setCommunityIdSeed } from "../base/settings";

@json
class Options {
  eventId: bool = false;
  profile: string = "sekoia";
  communityIdSeed: i32 = 0;
}

const KNOWN_KEYS = ["eventId", "profile", "communityIdSeed"];

export const OPTIONS_APPLIED = 0;
export const OPTIONS_UNKNOWN_KEY = 1;
export const OPTIONS_BAD_VALUE = 2;

/** Applies the options in [ptr, ptr+len). Nothing is applied unless all of them are good. */
export function applyOptions(ptr: usize, len: i32): i32 {
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  const keys = JSON.parse<Map<string, JSON.Raw>>(text).keys();
  for (let i = 0; i < keys.length; i++) if (!KNOWN_KEYS.includes(keys[i])) return OPTIONS_UNKNOWN_KEY;
  const o = JSON.parse<Options>(text);
  if (o.profile != "sekoia" && o.profile != "ecs") return OPTIONS_BAD_VALUE;
  if (o.communityIdSeed < 0 || o.communityIdSeed > 65535) return OPTIONS_BAD_VALUE;
  setEventIdEnabled(o.eventId);
  setFullProfile(o.profile == "ecs");
  setCommunityIdSeed(<u32>o.communityIdSeed);
  return OPTIONS_APPLIED;
}
