// What the mapper calls once an event mapped, while some data is loaded: renders the enrichment
// fragments for its final addresses (write/extras.ts) apart from the output, for the writer to
// copy in. With no data loaded the mapper does not call it and the extras stay empty: the event
// is written as it always was.
import { ByteBuffer, redirectOutput, restoreOutput } from "../base/output";
import { ecs } from "../write/sekoia";
import { clearExtras, setThreat } from "../write/extras";
import { facts } from "../flow/facts";
import { srcIpPtr, dstIpPtr, srcIpV4, dstIpV4 } from "../flow/tuple";
import { matchAddresses, writeMatches } from "./indicators/write";

const threatBuffer = new ByteBuffer();

/** Called only while some data is loaded (map/mapper.ts checks anyIndicators). */
export function enrichEvent(): void {
  clearExtras();
  const s = ecs.source.ip;
  const d = ecs.destination.ip;
  // The tuple's own addresses were checked when it parsed; an override may be any text.
  const parsed = facts.tupleParsed;
  if (!matchAddresses(s.ptr, s.len, parsed && s.ptr == srcIpPtr, srcIpV4, d.ptr, d.len, parsed && d.ptr == dstIpPtr, dstIpV4)) return;
  threatBuffer.len = 0;
  redirectOutput(threatBuffer);
  writeMatches();
  restoreOutput(threatBuffer);
  setThreat(threatBuffer.ptr, threatBuffer.len);
}
