// network.transport: the IANA "Assigned Internet Protocol Numbers" registry's keyword for a
// protocol number, in lower case as ECS asks (`tcp`, `udp`, `icmp`, `ipv6-icmp`, `gre`, `esp`,
// `sctp`…). Registry as of 2024 (up to 146, Homa; "(deprecated)" dropped from four keywords; 84,
// listed as both TTP and IPTM, is `iptm` as in the current registry). Numbers without a keyword
// (61, 63, 68, 99, 114: "any … protocol"; 147-252 unassigned; 253-254 experimentation; 255
// reserved) have no transport name. host/reference/ holds the same table.
import { Lit, lit } from "../base/bytes";

const KEYWORDS: string[] = [
  "hopopt", "icmp", "igmp", "ggp", "ipv4", "st", "tcp", "cbt", "egp", "igp", "bbn-rcc-mon",
  "nvp-ii", "pup", "argus", "emcon", "xnet", "chaos", "udp", "mux", "dcn-meas", "hmp", "prm",
  "xns-idp", "trunk-1", "trunk-2", "leaf-1", "leaf-2", "rdp", "irtp", "iso-tp4", "netblt",
  "mfe-nsp", "merit-inp", "dccp", "3pc", "idpr", "xtp", "ddp", "idpr-cmtp", "tp++", "il", "ipv6",
  "sdrp", "ipv6-route", "ipv6-frag", "idrp", "rsvp", "gre", "dsr", "bna", "esp", "ah", "i-nlsp",
  "swipe", "narp", "min-ipv4", "tlsp", "skip", "ipv6-icmp", "ipv6-nonxt", "ipv6-opts", "", "cftp",
  "", "sat-expak", "kryptolan", "rvd", "ippc", "", "sat-mon", "visa", "ipcv", "cpnx", "cphb",
  "wsn", "pvp", "br-sat-mon", "sun-nd", "wb-mon", "wb-expak", "iso-ip", "vmtp", "secure-vmtp",
  "vines", "iptm", "nsfnet-igp", "dgp", "tcf", "eigrp", "ospfigp", "sprite-rpc", "larp", "mtp",
  "ax.25", "ipip", "micp", "scc-sp", "etherip", "encap", "", "gmtp", "ifmp", "pnni", "pim", "aris",
  "scps", "qnx", "a/n", "ipcomp", "snp", "compaq-peer", "ipx-in-ip", "vrrp", "pgm", "", "l2tp",
  "ddx", "iatp", "stp", "srp", "uti", "smp", "sm", "ptp", "isis over ipv4", "fire", "crtp",
  "crudp", "sscopmce", "iplt", "sps", "pipe", "sctp", "fc", "rsvp-e2e-ignore", "mobility header",
  "udplite", "mpls-in-ip", "manet", "hip", "shim6", "wesp", "rohc", "ethernet", "aggfrag", "nsh",
  "homa",
];

const NAMES = new StaticArray<Lit | null>(256);
for (let i = 0; i < KEYWORDS.length; i++) {
  if (KEYWORDS[i].length > 0) NAMES[i] = lit(KEYWORDS[i]);
}

/** The transport name of a protocol number, or null when it has none. */
export function transportName(protocol: u32): Lit | null {
  return protocol < 256 ? unchecked(NAMES[protocol]) : null;
}
