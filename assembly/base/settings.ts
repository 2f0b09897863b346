// What the host chose for this instance (abi/options.ts decodes it; the Fluent Bit ABI picks the
// profile by the function it calls): read by the mapping on every record, so plain globals. The
// defaults are the documented intake's output.

/** Write `event.id` (hash/event-id.ts) in the documented profile too. */
export let eventIdEnabled: bool = false;

/** The full-ECS profile (write/ecs.ts) instead of the documented one. */
export let fullProfile: bool = false;

/** The Community ID seed (0-65535) of the full profile. */
export let communityIdSeed: u32 = 0;

export function setEventIdEnabled(on: bool): void {
  eventIdEnabled = on;
}

export function setFullProfile(on: bool): void {
  fullProfile = on;
}

export function setCommunityIdSeed(seed: u32): void {
  communityIdSeed = seed;
}
