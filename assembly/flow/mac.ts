// MAC addresses as ECS writes them: six groups of two upper-case hex digits separated by hyphens
// (`00-0D-3A-F8-78-56`). Azure writes `000D3AF87856`; a collector may already have separated the
// groups with `-` or `:`. Anything else is not a MAC address and is not written to a *.mac field.
import { hexValue } from "../base/bytes";

export const MAC_TEXT_LEN = 17;

const UPPER_HEX: usize = memory.data<u8>([0x30,0x31,0x32,0x33,0x34,0x35,0x36,0x37,0x38,0x39,0x41,0x42,0x43,0x44,0x45,0x46]);

/** Writes the normalized form of [ptr, ptr+len) at `out` (17 bytes); false when it is not a MAC. */
export function normalizeMac(ptr: usize, len: i32, out: usize): bool {
  let step = 0;
  if (len == 12) step = 2;
  else if (len == 17) {
    step = 3;
    const sep = load<u8>(ptr + 2);
    if (sep != 0x2d && sep != 0x3a) return false;
    for (let g = 1; g < 5; g++) if (load<u8>(ptr + <usize>(g * 3 + 2)) != sep) return false;
  } else return false;
  for (let g = 0; g < 6; g++) {
    const hi = hexValue(load<u8>(ptr + <usize>(g * step)));
    const lo = hexValue(load<u8>(ptr + <usize>(g * step + 1)));
    if (hi < 0 || lo < 0) return false;
    store<u8>(out + <usize>(g * 3), load<u8>(UPPER_HEX + <usize>hi));
    store<u8>(out + <usize>(g * 3 + 1), load<u8>(UPPER_HEX + <usize>lo));
    if (g < 5) store<u8>(out + <usize>(g * 3 + 2), 0x2d);
  }
  return true;
}
