// What a mapping (map/nsg.ts, map/vnet.ts) found out about the record beyond the ECS fields themselves,
// for the writers: which intake, whether the tuple parsed, and the instants (epoch microseconds,
// NO_TIME when there is none: `time` may precede 1970). The writers format what they need: the documented profile one
// timestamp, the full profile up to three.
export const NO_TIME: i64 = i64.MIN_VALUE;

export class FlowFacts {
  vnet: bool = false;
  tupleParsed: bool = false;
  /** `time`, when present (it parsed, or the record is an error event). */
  recordMicros: i64 = NO_TIME;
  /** The tuple's epoch, when the tuple parsed and its epoch is within years 1-9999. */
  tupleMicros: i64 = NO_TIME;
  /** The documented profile's @timestamp. */
  timestampMicros: i64 = NO_TIME;

  clear(): void {
    this.vnet = false;
    this.tupleParsed = false;
    this.recordMicros = NO_TIME;
    this.tupleMicros = NO_TIME;
    this.timestampMicros = NO_TIME;
  }
}

export const facts = new FlowFacts();
