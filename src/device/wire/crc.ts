/**
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR), PROTOCOL.md §2.
 * The device computes it bitwise; the agent uses a table because it checks every line it reads.
 */

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[byte] = crc;
  }
  return table;
}

/**
 * CRC of `s[start..end)`, each char taken as one byte (latin1). Lets the decoder check the payload
 * in place without slicing it out of the line first. Chars above 0xFF are truncated to their low byte;
 * such a line is rejected later anyway.
 */
export function crc16Range(s: string, start: number, end: number): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    // The index is masked to 0..255, so the lookup is always defined.
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ s.charCodeAt(i)) & 0xff] as number);
  }
  return crc;
}

/** CRC-16/CCITT-FALSE of a latin1 string; `crc16("123456789") === 0x29b1`. */
export function crc16(payload: string): number {
  return crc16Range(payload, 0, payload.length);
}

const HEX_UPPER = "0123456789ABCDEF";

/** The 4 uppercase hex digits a frame carries after `*`. */
export function crcHex(crc: number): string {
  return (
    HEX_UPPER.charAt((crc >> 12) & 15) +
    HEX_UPPER.charAt((crc >> 8) & 15) +
    HEX_UPPER.charAt((crc >> 4) & 15) +
    HEX_UPPER.charAt(crc & 15)
  );
}
