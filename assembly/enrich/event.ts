// What the mapper calls once an event mapped: renders the enrichment fragments for its final
// addresses (write/extras.ts) apart from the output, for the writer to copy in. With no data
// loaded it only clears them: the event is written as it always was.
import { ByteBuffer, redirectOutput, restoreOutput } from "../base/output";
import { ecs } from "../write/sekoia";
import { clearExtras, setThreat } from "../write/extras";
import { facts } from "../flow/facts";
import { srcIpPtr, dstIpPtr, srcIpV4, dstIpV4 } from "../flow/tuple";
import { anyIndicators } from "./indicators/table";
import { matchAddresses, writeMatches } from "./indicators/write";

const threatBuffer = new ByteBuffer();

export function enrichEvent(): void {
  clearExtras();
  if (!anyIndicators) return;
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
