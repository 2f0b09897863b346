// What a mapping (nsg.ts, vnet.ts) found out about the record beyond the ECS fields themselves,
// for the writers: which intake, whether the tuple parsed, and the instants (epoch microseconds,
// -1 when there is none). The writers format what they need: the documented profile one
// timestamp, the full profile up to three.
export class FlowFacts {
  vnet: bool = false;
  tupleParsed: bool = false;
  /** `time`, when present (it parsed, or the record is an error event). */
  recordMicros: i64 = -1;
  /** The tuple's epoch, when the tuple parsed and its epoch is within years 1-9999. */
  tupleMicros: i64 = -1;
  /** The documented profile's @timestamp. */
  timestampMicros: i64 = -1;

  clear(): void {
    this.vnet = false;
    this.tupleParsed = false;
    this.recordMicros = -1;
    this.tupleMicros = -1;
    this.timestampMicros = -1;
  }
}

export const facts = new FlowFacts();
