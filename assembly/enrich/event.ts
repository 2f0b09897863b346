// What the mapper calls once an event mapped: renders the enrichment fragments for its final
// addresses (write/extras.ts) apart from the output, for the writer to copy in. With no data
// loaded it only clears them: the event is written as it always was.
import { ByteBuffer, redirectOutput, restoreOutput } from "../base/output";
import { ecs } from "../write/sekoia";
import { clearExtras, setThreat } from "../write/extras";
import { anyIndicators } from "./indicators/table";
import { writeThreat } from "./indicators/write";

const threatBuffer = new ByteBuffer();

export function enrichEvent(): void {
  clearExtras();
  if (!anyIndicators) return;
  const s = ecs.source.ip;
  const d = ecs.destination.ip;
  threatBuffer.len = 0;
  redirectOutput(threatBuffer);
  const matched = writeThreat(s.ptr, s.len, d.ptr, d.len);
  restoreOutput(threatBuffer);
  if (matched) setThreat(threatBuffer.ptr, threatBuffer.len);
}
