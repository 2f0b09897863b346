// Azure resource ids, `/subscriptions/<sub>/resourceGroups/<group>/providers/<namespace>/<type>/
// <name>…`, split into the parts Elastic's integrations put in azure.subscription_id and
// azure.resource.{group,provider,name} — but with the keywords matched case-insensitively: NSG
// flow logs write ids in upper case, VNet flow logs in both cases, and Elastic's grok, which
// knows only the two spellings `/SUBSCRIPTIONS/…/RESOURCEGROUPS/` and `/subscriptions/…/
// resourceGroups/`, loses the group of any other. As Elastic does, the provider is
// `<namespace>/<type>` and the name everything after it (a child resource's name keeps its
// path, `NW/FLOWLOGS/FL`); `leaf` is the last segment of the name.
//
// A part that is not there has length 0. Parts are sub-spans of the id's decoded text.

export class ResourceId {
  ptr: usize = 0;
  len: i32 = 0;
  subscriptionPtr: usize = 0;
  subscriptionLen: i32 = 0;
  groupPtr: usize = 0;
  groupLen: i32 = 0;
  providerPtr: usize = 0;
  providerLen: i32 = 0;
  namePtr: usize = 0;
  nameLen: i32 = 0;
  leafPtr: usize = 0;
  leafLen: i32 = 0;

  /** No id: every part absent. */
  clear(): void {
    this.len = 0;
    this.subscriptionLen = 0;
    this.groupLen = 0;
    this.providerLen = 0;
    this.nameLen = 0;
    this.leafLen = 0;
  }
}

/** The keywords in lower case; matched ASCII-case-insensitively. */
const SUBSCRIPTIONS = memory.data<u8>([0x73,0x75,0x62,0x73,0x63,0x72,0x69,0x70,0x74,0x69,0x6f,0x6e,0x73]);
const RESOURCE_GROUPS = memory.data<u8>([0x72,0x65,0x73,0x6f,0x75,0x72,0x63,0x65,0x67,0x72,0x6f,0x75,0x70,0x73]);
const PROVIDERS = memory.data<u8>([0x70,0x72,0x6f,0x76,0x69,0x64,0x65,0x72,0x73]);

function keywordIs(p: usize, n: i32, keyword: usize, keywordLen: i32): bool {
  if (n != keywordLen) return false;
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u8>(p + <usize>i);
    if (c - 0x41 < 26) c |= 0x20;
    if (c != <u32>load<u8>(keyword + <usize>i)) return false;
  }
  return true;
}

let end: usize = 0;

/** The end of the segment starting at p (the next '/' or the end). */
@inline function segmentEnd(p: usize): usize {
  while (p < end && load<u8>(p) != 0x2f) p++;
  return p;
}

/** Splits the id [ptr, ptr+len) into `into`. Parts are taken left to right while the id has the
 * documented shape: the subscription, then optionally the group, then optionally the provider
 * and the name (`/subscriptions/<sub>/providers/…` is a subscription-level resource). */
export function parseResourceId(ptr: usize, len: i32, into: ResourceId): void {
  into.clear();
  into.ptr = ptr;
  into.len = len;
  end = ptr + <usize>len;
  if (len < 1 || load<u8>(ptr) != 0x2f) return;
  // /subscriptions/<sub>
  let p = ptr + 1;
  let q = segmentEnd(p);
  if (!keywordIs(p, <i32>(q - p), SUBSCRIPTIONS, 13) || q >= end) return;
  p = q + 1;
  q = segmentEnd(p);
  if (q == p) return;
  into.subscriptionPtr = p;
  into.subscriptionLen = <i32>(q - p);
  if (q >= end) return;
  // /resourceGroups/<group>
  p = q + 1;
  q = segmentEnd(p);
  if (keywordIs(p, <i32>(q - p), RESOURCE_GROUPS, 14)) {
    if (q >= end) return;
    const g = q + 1;
    const gEnd = segmentEnd(g);
    if (gEnd == g) return;
    into.groupPtr = g;
    into.groupLen = <i32>(gEnd - g);
    if (gEnd >= end) return;
    p = gEnd + 1;
    q = segmentEnd(p);
  }
  // /providers/<namespace>/<type>[/<name…>]
  if (!keywordIs(p, <i32>(q - p), PROVIDERS, 9) || q >= end) return;
  const ns = q + 1;
  const nsEnd = segmentEnd(ns);
  if (nsEnd == ns || nsEnd >= end) return;
  const type = nsEnd + 1;
  const typeEnd = segmentEnd(type);
  if (typeEnd == type) return;
  into.providerPtr = ns;
  into.providerLen = <i32>(typeEnd - ns);
  if (typeEnd + 1 >= end) return;
  const name = typeEnd + 1;
  into.namePtr = name;
  into.nameLen = <i32>(end - name);
  let leaf = end;
  while (leaf > name && load<u8>(leaf - 1) != 0x2f) leaf--;
  into.leafPtr = leaf;
  into.leafLen = <i32>(end - leaf);
}
