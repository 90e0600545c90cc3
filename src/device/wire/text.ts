/**
 * Percent escapes of `text` fields (PROTOCOL.md §2 "Tokens") and the byte escapes of the vector
 * dump format (vectors/README.md). Strings called "latin1" hold one byte per char (0x00..0xFF).
 */

const HEX_UPPER = "0123456789ABCDEF";
const HEX_LOWER = "0123456789abcdef";
const UTF8 = new TextEncoder();
// fatal: invalid UTF-8 (overlongs, surrogates, above U+10FFFF, stray or missing continuation
// bytes) throws instead of becoming U+FFFD, because PROTOCOL.md §3 makes it a `field` error.
// ignoreBOM keeps a leading U+FEFF: text is data here, not a document with a byte-order mark.
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Value of an uppercase hex digit char code, or -1. Lowercase is not allowed in escapes or CRCs. */
export function upperHexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}

/** True for a byte a value may carry literally: printable ASCII except `$ * % =`. */
export function isLiteralValueByte(b: number): boolean {
  return b >= 0x21 && b <= 0x7e && b !== 0x24 && b !== 0x2a && b !== 0x25 && b !== 0x3d;
}

/** Text → wire token: UTF-8 bytes, anything a value cannot carry literally as uppercase `%HH`. */
export function encodeText(s: string): string {
  let out = "";
  for (const b of UTF8.encode(s)) {
    out += isLiteralValueByte(b)
      ? String.fromCharCode(b)
      : "%" + HEX_UPPER.charAt(b >> 4) + HEX_UPPER.charAt(b & 15);
  }
  return out;
}

/**
 * Wire token → text, or undefined when the bytes are not valid UTF-8 (PROTOCOL.md §3 `text`). `%HH`
 * (either case here; the syntax check already insisted on uppercase) is a byte, every other char is
 * its own latin1 byte. Never throws: a malformed escape is kept literally.
 */
export function decodeText(token: string): string | undefined {
  if (isPlainAscii(token)) return token;
  const bytes = new Uint8Array(token.length);
  let n = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const byte = c === 0x25 ? escapedByte(token, i) : -1;
    if (byte >= 0) {
      bytes[n++] = byte;
      i += 2;
    } else {
      // Chars above 0xFF cannot come off the wire; map them to a byte that is never valid UTF-8.
      bytes[n++] = c <= 0xff ? c : 0xff;
    }
  }
  try {
    return UTF8_STRICT.decode(bytes.subarray(0, n));
  } catch {
    return undefined;
  }
}

function isPlainAscii(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x25 || c > 0x7f) return false;
  }
  return true;
}

function escapedByte(token: string, i: number): number {
  const hi = hexValueAnyCase(token.charCodeAt(i + 1));
  const lo = hexValueAnyCase(token.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function hexValueAnyCase(code: number): number {
  return upperHexValue(code >= 0x61 && code <= 0x66 ? code - 0x20 : code);
}

/**
 * Byte escapes of the vector format: `\` and every byte outside 0x21..0x7E (0x20..0x7E when
 * `keepSpace`) become `\xhh`, lowercase. Input is latin1.
 */
export function escapeBytes(latin1: string, keepSpace = false): string {
  const low = keepSpace ? 0x20 : 0x21;
  let out = "";
  for (let i = 0; i < latin1.length; i++) {
    const c = latin1.charCodeAt(i) & 0xff;
    out +=
      c >= low && c <= 0x7e && c !== 0x5c
        ? String.fromCharCode(c)
        : "\\x" + HEX_LOWER.charAt(c >> 4) + HEX_LOWER.charAt(c & 15);
  }
  return out;
}

/** A text field as the dump writes it: its UTF-8 bytes, byte-escaped (space too). */
export function dumpText(s: string): string {
  let latin1 = "";
  for (const b of UTF8.encode(s)) latin1 += String.fromCharCode(b);
  return escapeBytes(latin1);
}

/** An offending value for a detail message: quoted, escaped, cut to about 20 chars. */
export function show(v: string): string {
  return JSON.stringify(v.length > 20 ? v.slice(0, 20) + "…" : v);
}
