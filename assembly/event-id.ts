// event.id: one stable identifier per flow tuple, the same whichever path or instance maps it,
// so that a downstream index can use it as its document id and drop re-sent copies.
//
// It is the SHA-1, in lowercase hex, of the fields that say which tuple this is, in this order:
// resourceId, flowLogResourceID, targetResourceID, flowLogGUID, macAddress, time, aclID, rule,
// flow.0. Each is hashed as one byte 0 when absent or null; as byte 1, its byte length (u32, big
// endian) and its unescaped UTF-8 when a string; as byte 2, the length and its JSON text as
// written when any other value. Everything but the tuple is shared by the tuples of one flow
// group, so the context after that prefix is kept and reused while the prefix does not change.
import {
  kindOf, ptrOf, lenOf, V_STRING, V_ABSENT, V_NULL, F_RESOURCE_ID, F_FLOW_LOG_RESOURCE_ID,
  F_TARGET_RESOURCE_ID, F_FLOW_LOG_GUID, F_MAC, F_TIME, F_ACL_ID, F_RULE, F_FLOW0,
} from "./json-scanner";
import { ByteBuffer } from "./output";
import {
  sha1Reset, sha1Update, sha1Finish, sha1Snapshot, sha1Restore, SHA1_SNAPSHOT_BYTES, toHex,
} from "./sha1";
import { bytesEqual } from "./bytes";

const PREFIX_FIELDS: StaticArray<i32> = [
  F_RESOURCE_ID, F_FLOW_LOG_RESOURCE_ID, F_TARGET_RESOURCE_ID, F_FLOW_LOG_GUID, F_MAC, F_TIME,
  F_ACL_ID, F_RULE,
];

/** The 40 hex digits of the last computed id. */
export const eventIdText: usize = heap.alloc(40);
export const EVENT_ID_LEN = 40;

const prefix = new ByteBuffer();
const cachedPrefix = new ByteBuffer();
const cachedContext: usize = heap.alloc(SHA1_SNAPSHOT_BYTES);
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

/** Computes the id of the scanned (or set) fields into eventIdText. */
export function computeEventId(): void {
  prefix.len = 0;
  for (let i = 0; i < PREFIX_FIELDS.length; i++) appendField(prefix, unchecked(PREFIX_FIELDS[i]));
  if (prefix.len == cachedPrefix.len && bytesEqual(prefix.ptr, cachedPrefix.ptr, prefix.len)) {
    sha1Restore(cachedContext);
  } else {
    sha1Reset();
    sha1Update(prefix.ptr, prefix.len);
    sha1Snapshot(cachedContext);
    cachedPrefix.len = 0;
    cachedPrefix.append(prefix.ptr, prefix.len, i32.MAX_VALUE);
  }
  prefix.len = 0;
  appendField(prefix, F_FLOW0);
  sha1Update(prefix.ptr, prefix.len);
  sha1Finish(digest);
  toHex(eventIdText, digest, 20);
}
