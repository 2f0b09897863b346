// What the host chose for this instance (abi/configure.ts decodes it): read by the mapping on
// every record, so plain globals. The defaults are the documented intake's output.

/** Write `event.id` (event-id.ts) in the documented profile too. */
export let eventIdEnabled: bool = false;

export function setEventIdEnabled(on: bool): void {
  eventIdEnabled = on;
}
