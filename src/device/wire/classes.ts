/**
 * Value classes of PROTOCOL.md §3 as char-loop validators over a whole token. Char loops beat
 * regexes here because most tokens are a few bytes and the decoder calls these for every field.
 */
import { isLiteralValueByte, upperHexValue } from "./text.js";
import { MAX_VALUE } from "./frames.js";

export type ValueClass =
  | "uint"
  | "num"
  | "name"
  | "names"
  | "hex8"
  | "devid"
  | "ver"
  | "cid"
  | "kind"
  | "level"
  | "scalar"
  | "text";

export const UINT_MAX = 4294967295;
export const MAX_NUM = 20;
/**
 * Significant digits of a `num` (PROTOCOL.md §3), so that every num survives a trip through a double
 * and back (DBL_DIG is 15). Counted as written from the first non-zero digit: drop the `-`, the `0`
 * of `0.xxx` and the zeros right after its point, and count every digit left, zeros included. So
 * `0.000123` has 3, `1.00000000000000` has 15 and `1000000000000000` (1e15) has 16. The C codec
 * (iotwire.c is_num) counts the same way.
 */
export const MAX_NUM_DIGITS = 15;
export const MAX_NAME = 16;
export const MAX_NAMES = 16;

const DIGIT = 1;
const LOWER = 2;
const UPPER = 4;
const NAME_REST = 8; // a-z 0-9 _
const DEVID = 16; // A-Z a-z 0-9 . _ -
const VER = 32; // devid plus +
const HEXLOW = 64; // 0-9 a-f

const FLAGS = buildFlags();

function buildFlags(): Uint8Array {
  const f = new Uint8Array(128);
  const mark = (chars: string, bit: number): void => {
    for (const ch of chars) f[ch.charCodeAt(0)] = (f[ch.charCodeAt(0)] ?? 0) | bit;
  };
  const digits = "0123456789";
  const lower = "abcdefghijklmnopqrstuvwxyz";
  const upper = lower.toUpperCase();
  mark(digits, DIGIT | NAME_REST | DEVID | VER | HEXLOW);
  mark(lower, LOWER | NAME_REST | DEVID | VER);
  mark(upper, UPPER | DEVID | VER);
  mark("_", NAME_REST | DEVID | VER);
  mark(".-", DEVID | VER);
  mark("+", VER);
  mark("abcdef", HEXLOW);
  return f;
}

function has(code: number, bit: number): boolean {
  return code < 128 && ((FLAGS[code] ?? 0) & bit) !== 0;
}

/** True when every char of `s[start..end)` has `bit`. */
function allHave(s: string, start: number, end: number, bit: number): boolean {
  for (let i = start; i < end; i++) if (!has(s.charCodeAt(i), bit)) return false;
  return true;
}

/** The number a `uint` token stands for, or -1 when it is not one. */
export function parseUint(s: string): number {
  return parseUintRange(s, 0, s.length);
}

/** parseUint of `s[start..end)`, so the decoder can read a value without slicing it out. */
export function parseUintRange(s: string, start: number, end: number): number {
  const n = end - start;
  if (n <= 0 || n > 10 || (n > 1 && s.charCodeAt(start) === 0x30)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= UINT_MAX ? v : -1;
}

export function isUint(s: string): boolean {
  return parseUint(s) >= 0;
}

/** `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 20 bytes and 15 significant digits. */
export function isNum(s: string): boolean {
  return !Number.isNaN(parseNum(s));
}

/** Exact powers of ten: a double holds 10^k exactly up to k = 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * A `num` token as a JS number equal to Number(s), or NaN when `s` is not a `num` (checking and
 * converting in one pass; `-0` stays -0 so it re-encodes as written). A num has at most 15
 * significant digits, so it always takes Clinger's fast path: the digits form an exact integer
 * (below 10^15, leading zeros add nothing) and one division by an exact power of ten (at most 10^18)
 * is correctly rounded. That is several times faster than Number().
 */
export function parseNum(s: string): number {
  const n = s.length;
  if (n === 0 || n > MAX_NUM) return NaN;
  const neg = s.charCodeAt(0) === 0x2d;
  const intStart = neg ? 1 : 0;
  let i = intStart;
  let mantissa = 0;
  for (let d = s.charCodeAt(i) - 0x30; d >= 0 && d <= 9; d = s.charCodeAt(++i) - 0x30) {
    mantissa = mantissa * 10 + d;
  }
  const intLen = i - intStart;
  if (intLen === 0 || (intLen > 1 && s.charCodeAt(intStart) === 0x30)) return NaN;
  let scale = 0;
  if (i < n) {
    if (s.charCodeAt(i) !== 0x2e || i + 1 === n) return NaN;
    for (i++; i < n; i++, scale++) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return NaN;
      mantissa = mantissa * 10 + d;
    }
  }
  if (
    intLen + scale > MAX_NUM_DIGITS &&
    significantDigits(s, intStart, intLen, scale) > MAX_NUM_DIGITS
  ) {
    return NaN;
  }
  const x = scale > 0 ? mantissa / (POW10[scale] ?? 1) : mantissa;
  return neg ? -x : x;
}

/** MAX_NUM_DIGITS's count for a well-formed num; only `0.xxx` has digits that do not count. */
function significantDigits(s: string, intStart: number, intLen: number, scale: number): number {
  if (s.charCodeAt(intStart) !== 0x30) return intLen + scale;
  let i = intStart + 2; // past `0.`
  while (i < s.length && s.charCodeAt(i) === 0x30) i++;
  return s.length - i;
}

function isNameRange(s: string, start: number, end: number): boolean {
  const len = end - start;
  return (
    len >= 1 &&
    len <= MAX_NAME &&
    has(s.charCodeAt(start), LOWER) &&
    allHave(s, start + 1, end, NAME_REST)
  );
}

export function isName(s: string): boolean {
  return isNameRange(s, 0, s.length);
}

/** `name` (`|` `name`){0,15}. */
export function isNames(s: string): boolean {
  let start = 0;
  let count = 0;
  for (;;) {
    const bar = s.indexOf("|", start);
    const end = bar < 0 ? s.length : bar;
    if (!isNameRange(s, start, end) || ++count > MAX_NAMES) return false;
    if (bar < 0) return true;
    start = bar + 1;
  }
}

export function isHex8(s: string): boolean {
  return s.length === 8 && allHave(s, 0, 8, HEXLOW);
}

export function isDevid(s: string): boolean {
  return s.length >= 1 && s.length <= 32 && allHave(s, 0, s.length, DEVID);
}

export function isVer(s: string): boolean {
  return s.length >= 1 && s.length <= 24 && allHave(s, 0, s.length, VER);
}

export function isCid(s: string): boolean {
  return s.length >= 1 && s.length <= 8 && allHave(s, 0, s.length, DIGIT | LOWER);
}

export function isKind(s: string): boolean {
  return s === "num" || s === "bool" || s === "enum";
}

export function isLevel(s: string): boolean {
  return s === "debug" || s === "info" || s === "warn" || s === "error";
}

export function isScalar(s: string): boolean {
  return isNum(s) || isName(s);
}

/** A wire value token: 1..64 bytes, literal bytes or uppercase `%HH`. Any such token is text. */
export function isText(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > MAX_VALUE) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (upperHexValue(s.charCodeAt(i + 1)) < 0 || upperHexValue(s.charCodeAt(i + 2)) < 0) {
        return false;
      }
      i += 2;
    } else if (!isLiteralValueByte(c)) {
      return false;
    }
  }
  return true;
}

export const CLASS_CHECKS: Readonly<Record<ValueClass, (s: string) => boolean>> = {
  uint: isUint,
  num: isNum,
  name: isName,
  names: isNames,
  hex8: isHex8,
  devid: isDevid,
  ver: isVer,
  cid: isCid,
  kind: isKind,
  level: isLevel,
  scalar: isScalar,
  text: isText,
};

/**
 * A JS number as a `num` token: plain decimal (never exponent notation), shortest round-trip digits,
 * `-0` kept. Undefined when it is not finite or its token would not be a num: over 20 bytes or over
 * 15 significant digits (0.1 + 0.2 needs 17; 1e19 written out needs 20).
 *
 * For a num token s, formatNum(parseNum(s)) is s in the dump's shortest form (fraction's trailing
 * zeros and a bare point dropped): two decimals of at most 15 digits never round to the same double,
 * so the shortest digits that give back the double are those of s.
 */
export function formatNum(x: number): string | undefined {
  if (!Number.isFinite(x)) return undefined;
  if (Object.is(x, -0)) return "-0";
  const s = String(x);
  const plain = s.includes("e") ? expandExponent(s) : s;
  return isNum(plain) ? plain : undefined;
}

/** `1.5e-7` → `0.00000015`, `1e+21` → `1000000000000000000000`: moves the point, no rounding. */
function expandExponent(s: string): string {
  const neg = s.startsWith("-");
  const [mantissa = "", expPart = "0"] = (neg ? s.slice(1) : s).split("e");
  const dot = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  const point = (dot < 0 ? mantissa.length : dot) + Number(expPart);
  let out: string;
  if (point <= 0) out = "0." + "0".repeat(-point) + digits;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = digits.slice(0, point) + "." + digits.slice(point);
  return neg ? "-" + out : out;
}
