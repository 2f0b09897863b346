// event.id: one stable identifier per flow tuple, the same whichever path or instance maps it,
// so that a downstream index can use it as its document id and drop re-sent copies.
//
// It is the SHA-1, in lowercase hex, of the fields that say which tuple this is, in this order:
// resourceId, flowLogResourceID, targetResourceID, flowLogGUID, macAddress, time, aclID, rule,
// flow.0. Each is hashed as one byte 0 when absent or null; as byte 1, its byte length (u32, big
// endian) and its unescaped UTF-8 when a string; as byte 2, the length and its JSON text as
// written when any other value. Everything but the tuple is shared by the tuples of one flow
// group, and everything but the rule by the groups of one record, so the contexts after those
// prefixes are kept and reused while the prefix does not change.
import {
  kindOf, ptrOf, lenOf, V_STRING, V_ABSENT, V_NULL, F_RESOURCE_ID, F_FLOW_LOG_RESOURCE_ID,
  F_TARGET_RESOURCE_ID, F_FLOW_LOG_GUID, F_MAC, F_TIME, F_ACL_ID, F_RULE, F_FLOW0,
} from "../scan/json";
import { ByteBuffer } from "../base/output";
import {
  sha1Reset, sha1Update, sha1Finish, sha1Snapshot, sha1Restore, SHA1_SNAPSHOT_BYTES, toHex,
} from "./sha1";
import { bytesEqual } from "../base/bytes";

const PREFIX_FIELDS: StaticArray<i32> = [
  F_RESOURCE_ID, F_FLOW_LOG_RESOURCE_ID, F_TARGET_RESOURCE_ID, F_FLOW_LOG_GUID, F_MAC, F_TIME,
  F_ACL_ID, F_RULE,
];

/** The 40 hex digits of the last computed id. */
export const eventIdText: usize = heap.alloc(40);
export const EVENT_ID_LEN = 40;

/** The hashed form of the last record's prefix fields, and where its `rule` starts. */
const cachedPrefix = new ByteBuffer();
let ruleOffset = 0;
const RULE_INDEX = 7;
const recordContext: usize = heap.alloc(SHA1_SNAPSHOT_BYTES);
const groupContext: usize = heap.alloc(SHA1_SNAPSHOT_BYTES);
const digest: usize = heap.alloc(20);
const header: usize = heap.alloc(8);

/** The field's hashed form: its header (tag and length) into `into`, then its bytes. */
function appendField(into: ByteBuffer, f: i32): void {
  const k = kindOf(f);
  if (k == V_ABSENT || k == V_NULL) {
    store<u8>(header, 0);
    into.append(header, 1, i32.MAX_VALUE);
    return;
  }
  const n = lenOf(f);
  store<u8>(header, k == V_STRING ? 1 : 2);
  store<u32>(header + 1, bswap<u32>(<u32>n));
  into.append(header, 5, i32.MAX_VALUE);
  into.append(ptrOf(f), n, i32.MAX_VALUE);
}

/** How many of the prefix fields, in order, are the cached prefix's: the cache is walked field by
 * field against the record's values, with no copy. */
function cachedPrefixFields(): i32 {
  if (cachedPrefix.len == 0) return 0;
  let at = cachedPrefix.ptr;
  for (let i = 0; i < PREFIX_FIELDS.length; i++) {
    const f = unchecked(PREFIX_FIELDS[i]);
    const k = kindOf(f);
    if (k == V_ABSENT || k == V_NULL) {
      if (load<u8>(at) != 0) return i;
      at++;
      continue;
    }
    const n = lenOf(f);
    if (load<u8>(at) != (k == V_STRING ? 1 : 2) || load<u32>(at + 1) != bswap<u32>(<u32>n)) return i;
    if (!bytesEqual(at + 5, ptrOf(f), n)) return i;
    at += 5 + <usize>n;
  }
  return PREFIX_FIELDS.length;
}

/** Counts the record-level prefixes hashed (all fields but `rule`: the resource, NIC, time and
 * ACL): a reader that keeps something per record (the full-ECS writer) knows from it whether
 * the record is still the one it kept. */
export let recordPrefixGeneration: u32 = 0;

/** Hashes the field's hashed form (as appendField writes it) straight into the context. */
function hashField(f: i32): void {
  const k = kindOf(f);
  if (k == V_ABSENT || k == V_NULL) {
    store<u8>(header, 0);
    sha1Update(header, 1);
    return;
  }
  const n = lenOf(f);
  store<u8>(header, k == V_STRING ? 1 : 2);
  store<u32>(header + 1, bswap<u32>(<u32>n));
  sha1Update(header, 5);
  sha1Update(ptrOf(f), n);
}

/** Computes the id of the scanned (or set) fields into eventIdText. Two contexts are kept: after
 * the record-level fields (shared by the record's groups) and after `rule` (shared by the tuples
 * of a group), so a new group hashes only its rule and a new tuple only itself. */
export function computeEventId(): void {
  const cached = cachedPrefixFields();
  if (cached == PREFIX_FIELDS.length) {
    sha1Restore(groupContext);
  } else {
    if (cached == RULE_INDEX) {
      sha1Restore(recordContext);
      cachedPrefix.len = ruleOffset;
    } else {
      cachedPrefix.len = 0;
      for (let i = 0; i < RULE_INDEX; i++) appendField(cachedPrefix, unchecked(PREFIX_FIELDS[i]));
      sha1Reset();
      sha1Update(cachedPrefix.ptr, cachedPrefix.len);
      sha1Snapshot(recordContext);
      ruleOffset = cachedPrefix.len;
      recordPrefixGeneration++;
    }
    appendField(cachedPrefix, F_RULE);
    sha1Update(cachedPrefix.ptr + <usize>ruleOffset, cachedPrefix.len - ruleOffset);
    sha1Snapshot(groupContext);
  }
  hashField(F_FLOW0);
  sha1Finish(digest);
  toHex(eventIdText, digest, 20);
}
