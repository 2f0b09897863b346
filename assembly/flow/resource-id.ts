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

/** A part of the id: a span of its text, length 0 when absent. */
export class Part {
  ptr: usize = 0;
  len: i32 = 0;
  @inline set(ptr: usize, len: i32): void {
    this.ptr = ptr;
    this.len = len;
  }
}

export class ResourceId {
  /** The whole id (length 0: no id). */
  id: Part = new Part();
  subscription: Part = new Part();
  group: Part = new Part();
  provider: Part = new Part();
  name: Part = new Part();
  leaf: Part = new Part();

  /** No id: every part absent. */
  clear(): void {
    this.id.len = 0;
    this.subscription.len = 0;
    this.group.len = 0;
    this.provider.len = 0;
    this.name.len = 0;
    this.leaf.len = 0;
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

// The id's first segments (after its leading '/'): the keywords and parts are among the first
// seven, and the name starts at the eighth at the latest.
const MAX_SEGMENTS = 8;
const starts = new StaticArray<usize>(MAX_SEGMENTS);
const ends = new StaticArray<usize>(MAX_SEGMENTS);
let count = 0;
let end: usize = 0;

function splitSegments(p: usize): void {
  count = 0;
  while (count < MAX_SEGMENTS) {
    let e = p;
    while (e < end && load<u8>(e) != 0x2f) e++;
    unchecked(starts[count] = p);
    unchecked(ends[count] = e);
    count++;
    if (e >= end) return;
    p = e + 1;
  }
}

@inline function segmentLength(i: i32): i32 {
  return <i32>(unchecked(ends[i]) - unchecked(starts[i]));
}

@inline function segmentIs(i: i32, keyword: usize, keywordLen: i32): bool {
  return keywordIs(unchecked(starts[i]), segmentLength(i), keyword, keywordLen);
}

/** Splits the id [ptr, ptr+len) into `into`. Parts are taken left to right while the id has the
 * documented shape: the subscription, then optionally the group, then optionally the provider
 * and the name (`/subscriptions/<sub>/providers/…` is a subscription-level resource). */
export function parseResourceId(ptr: usize, len: i32, into: ResourceId): void {
  into.clear();
  into.id.set(ptr, len);
  end = ptr + <usize>len;
  if (len < 1 || load<u8>(ptr) != 0x2f) return;
  splitSegments(ptr + 1);
  if (count < 2 || !segmentIs(0, SUBSCRIPTIONS, 13) || segmentLength(1) == 0) return;
  into.subscription.set(unchecked(starts[1]), segmentLength(1));
  let i = 2;
  if (count > i && segmentIs(i, RESOURCE_GROUPS, 14)) {
    if (count < i + 2 || segmentLength(i + 1) == 0) return;
    into.group.set(unchecked(starts[i + 1]), segmentLength(i + 1));
    i += 2;
  }
  if (count < i + 3 || !segmentIs(i, PROVIDERS, 9) || segmentLength(i + 1) == 0 || segmentLength(i + 2) == 0) return;
  into.provider.set(unchecked(starts[i + 1]), <i32>(unchecked(ends[i + 2]) - unchecked(starts[i + 1])));
  if (count < i + 4 || unchecked(starts[i + 3]) >= end) return;
  const name = unchecked(starts[i + 3]);
  into.name.set(name, <i32>(end - name));
  let leaf = end;
  while (leaf > name && load<u8>(leaf - 1) != 0x2f) leaf--;
  into.leaf.set(leaf, <i32>(end - leaf));
}
