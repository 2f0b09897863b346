// What the mapper calls once an event mapped, while some data is loaded: renders the enrichment
// fragments for its final addresses (write/extras.ts) apart from the output, for the writer to
// copy in. With no data loaded the mapper does not call it and the extras stay empty: the event
// is written as it always was.
import { ByteBuffer, redirectOutput, restoreOutput } from "../base/output";
import { ecs } from "../write/sekoia";
import { clearExtras, setThreat, setSourceExtra, setDestinationExtra } from "../write/extras";
import { facts } from "../flow/facts";
import { srcIpPtr, dstIpPtr, srcIpV4, dstIpV4 } from "../flow/tuple";
import { ipToBytes, knownIpToBytes, knownIpv6FirstGroup } from "../flow/ip-bytes";
import { matchAddresses, writeMatches } from "./indicators/write";
import { databaseCount, geoLookup, fragmentAt, mayHoldV6 } from "./geo/databases";

const threatBuffer = new ByteBuffer();
// The source's geo fragment, kept apart: the destination's lookup may overwrite where a lookup
// leaves its bytes (the cache slot or the fragment buffer). The lookup puts it there itself.
const sourceGeo = new ByteBuffer();
const addr: usize = heap.alloc(16);

/** Events that matched at least one indicator, over the instance's life: the ABIs report the
 * difference across a call, as for the lines written. */
export let eventsMatched: i32 = 0;

/** Called only while some data is loaded (map/mapper.ts checks write/extras.ts anyEnrichment). */
export function enrichEvent(): void {
  clearExtras();
  const s = ecs.source.ip;
  const d = ecs.destination.ip;
  const srcLen = s.present ? s.len : 0;
  const dstLen = d.present ? d.len : 0;
  // The tuple's own addresses were checked when it parsed; an override may be any text.
  const parsed = facts.tupleParsed;
  const srcKnown = parsed && s.ptr == srcIpPtr;
  const dstKnown = parsed && d.ptr == dstIpPtr;
  if (matchAddresses(s.ptr, srcLen, srcKnown, srcIpV4, d.ptr, dstLen, dstKnown, dstIpV4)) {
    eventsMatched++;
    threatBuffer.len = 0;
    redirectOutput(threatBuffer);
    writeMatches();
    restoreOutput(threatBuffer);
    setThreat(threatBuffer.ptr, threatBuffer.len);
  }
  // The lookups render their fragments by redirecting the output (geo/write.ts): here, before
  // the writer starts, and never while anything else has it redirected.
  if (databaseCount() == 0) return;
  let n = geoOf(s.ptr, srcLen, srcKnown, srcIpV4, sourceGeo);
  if (n > 0) setSourceExtra(fragmentAt, n);
  n = geoOf(d.ptr, dstLen, dstKnown, dstIpV4, null);
  if (n > 0) setDestinationExtra(fragmentAt, n);
}

/** The geo fragment's length for an address text (0: none, or not an address); its bytes at
 * fragmentAt (in `keep` when given). `known`: the tuple's own text, whose IPv4 value `v4` its
 * parser read (above 0xffffffff for IPv6). */
function geoOf(p: usize, n: i32, known: bool, v4: u64, keep: ByteBuffer | null): i32 {
  if (n == 0) return 0;
  let size = 0;
  if (known) {
    if (v4 <= 0xffffffff) {
      store<u32>(addr, bswap<u32>(<u32>v4));
      size = 4;
    } else {
      // An IPv6 address in no database's /16 (fd00::/8, private) is not worth parsing whole.
      const first = knownIpv6FirstGroup(p, n);
      if (first != 0 && !mayHoldV6(first)) return 0;
      size = knownIpToBytes(p, n, addr);
    }
  } else size = ipToBytes(p, n, addr);
  if (size == 0) return 0;
  return geoLookup(addr, size == 4, keep);
}
