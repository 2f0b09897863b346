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
import { sha1OneBlock } from "./sha1";
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
  const order = compareAddresses(a, b, addrLen);
  if (order > 0 || (order == 0 && withPorts && aPort > bPort)) {
    const p = a; a = b; b = p;
    const q = aPort; aPort = bPort; bPort = q;
  }
  let m = message;
  store<u16>(m, bswap<u16>(<u16>seed));
  if (addrLen == 4) {
    store<u32>(m + 2, load<u32>(a));
    store<u32>(m + 6, load<u32>(b));
    m += 10;
  } else {
    store<u64>(m + 2, load<u64>(a));
    store<u64>(m + 10, load<u64>(a + 8));
    store<u64>(m + 18, load<u64>(b));
    store<u64>(m + 26, load<u64>(b + 8));
    m += 34;
  }
  store<u8>(m, <u8>protocol);
  store<u8>(m + 1, 0);
  m += 2;
  if (withPorts) {
    store<u16>(m, bswap<u16>(<u16>aPort));
    store<u16>(m + 2, bswap<u16>(<u16>bPort));
    m += 4;
  }
  sha1OneBlock(message, <i32>(m - message), digest);
  base64Encode(communityIdText + 2, digest, 20);
}

/** Addresses compare as big-endian numbers: by their first differing byte. */
@inline function compareAddresses(a: usize, b: usize, n: i32): i32 {
  if (n == 4) {
    const x = bswap<u32>(load<u32>(a));
    const y = bswap<u32>(load<u32>(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  let x = bswap<u64>(load<u64>(a));
  let y = bswap<u64>(load<u64>(b));
  if (x == y) {
    x = bswap<u64>(load<u64>(a + 8));
    y = bswap<u64>(load<u64>(b + 8));
  }
  return x < y ? -1 : x > y ? 1 : 0;
}
