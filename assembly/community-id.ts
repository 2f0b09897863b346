// Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec): the
// same flow gets the same id in every tool that implements it (Zeek, Suricata, Elastic's
// community_id processor...), whichever direction it was seen in, so a SIEM can join this
// flow with the other sensors' records of it.
//
//   "1:" + base64(SHA-1(seed:u16 · addrA · addrB · protocol:u8 · 0:u8 [· portA:u16 · portB:u16]))
//
// with the endpoints ordered so that (addrA, portA) <= (addrB, portB), all big-endian. Ports
// are hashed for TCP, UDP and SCTP only; ICMP and ICMPv6 would hash their type and code in their
// place, which Azure's tuples do not carry, so those flows get no id (the caller decides).
import { sha1Reset, sha1Update, sha1Finish } from "./sha1";
import { base64Encode } from "./base64";

/** `1:` and 28 base64 characters. */
export const COMMUNITY_ID_LEN = 30;
export const communityIdText: usize = heap.alloc(COMMUNITY_ID_LEN);
store<u16>(communityIdText, 0x3a31); // "1:"

const message: usize = heap.alloc(48);
const digest: usize = heap.alloc(20);

/** Whether the protocol's ports are part of its flow identity for the Community ID. */
@inline export function protocolHasPorts(protocol: u32): bool {
  return protocol == 6 || protocol == 17 || protocol == 132;
}

/** Computes the id into communityIdText. `a` and `b` point to `addrLen` (4 or 16) bytes each;
 * the ports are hashed only when protocolHasPorts(protocol). */
export function computeCommunityId(seed: u32, a: usize, aPort: u32, b: usize, bPort: u32, addrLen: i32, protocol: u32): void {
  const withPorts = protocolHasPorts(protocol);
  const order = memory.compare(a, b, <usize>addrLen);
  if (order > 0 || (order == 0 && withPorts && aPort > bPort)) {
    const p = a; a = b; b = p;
    const q = aPort; aPort = bPort; bPort = q;
  }
  const n = <usize>addrLen;
  let m = message;
  store<u16>(m, bswap<u16>(<u16>seed));
  memory.copy(m + 2, a, n);
  memory.copy(m + 2 + n, b, n);
  m += 2 + 2 * n;
  store<u8>(m, <u8>protocol);
  store<u8>(m + 1, 0);
  m += 2;
  if (withPorts) {
    store<u16>(m, bswap<u16>(<u16>aPort));
    store<u16>(m + 2, bswap<u16>(<u16>bPort));
    m += 4;
  }
  sha1Reset();
  sha1Update(message, <i32>(m - message));
  sha1Finish(digest);
  base64Encode(communityIdText + 2, digest, 20);
}
