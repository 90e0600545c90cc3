/**
 * Payload tokenizer (PROTOCOL.md §2 "Tokens"): one pass over `TYPE key=value…` that checks the
 * syntax and records where each field sits, for the frame rules in decode.ts to read.
 */
import { parseNum, parseUintRange, MAX_NAME } from "./classes.js";
import { decodeText, isLiteralValueByte, show, upperHexValue } from "./text.js";
import { MAX_FIELDS, MAX_VALUE } from "./frames.js";

const MAX_TYPE = 8;

/**
 * Where the fields of the line being decoded sit. Offsets instead of substrings: most keys are only
 * compared and most RD values go straight into the frame, so nothing is copied that is not kept.
 * decodeLine is synchronous and never re-entered, so one shared instance serves every call.
 */
export class Fields {
  line = "";
  type = "";
  count = 0;
  /** Per field: key start, key end, value start, value end. */
  readonly at = new Int32Array(MAX_FIELDS * 4);
  /** Per field: key length and first and last byte, to rule out most duplicates in one compare. */
  readonly sig = new Int32Array(MAX_FIELDS);
  /** First field error of the current frame; later checks are skipped once it is set. */
  error: string | undefined;

  keyIs(i: number, key: string): boolean {
    return this.rangeIs(i, key, 0, key.length);
  }

  /** Records field `i` at the given offsets; false when its key repeats an earlier one. */
  add(i: number, keyStart: number, keyEnd: number, valStart: number, valEnd: number): boolean {
    const at = this.at;
    at[4 * i] = keyStart;
    at[4 * i + 1] = keyEnd;
    at[4 * i + 2] = valStart;
    at[4 * i + 3] = valEnd;
    const len = keyEnd - keyStart;
    const sig =
      len | (this.line.charCodeAt(keyStart) << 8) | (this.line.charCodeAt(keyEnd - 1) << 16);
    this.sig[i] = sig;
    for (let j = 0; j < i; j++) {
      if (this.sig[j] === sig && this.rangeIs(j, this.line, keyStart, len)) return false;
    }
    return true;
  }

  /** True when the key of field `i` equals `s[start..start+len)`. */
  private rangeIs(i: number, s: string, start: number, len: number): boolean {
    const keyStart = this.at[4 * i] ?? 0;
    if ((this.at[4 * i + 1] ?? 0) - keyStart !== len) return false;
    for (let k = 0; k < len; k++) {
      if (this.line.charCodeAt(keyStart + k) !== s.charCodeAt(start + k)) return false;
    }
    return true;
  }

  key(i: number): string {
    return this.line.slice(this.at[4 * i], this.at[4 * i + 1]);
  }

  val(i: number): string {
    return this.line.slice(this.at[4 * i + 2], this.at[4 * i + 3]);
  }

  uintAt(i: number): number {
    return parseUintRange(this.line, this.at[4 * i + 2] ?? 0, this.at[4 * i + 3] ?? 0);
  }

  find(key: string): number {
    for (let i = 0; i < this.count; i++) if (this.keyIs(i, key)) return i;
    return -1;
  }

  get(key: string): string | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.val(i);
  }

  fail(key: string, what: string): undefined {
    return this.failFrame(`field '${key}': ${what}`);
  }

  failFrame(what: string): undefined {
    this.error ??= `${this.type} ${what}`;
    return undefined;
  }

  /** The raw token of `key` if it satisfies `check`; records missing/invalid otherwise. */
  token(
    key: string,
    cls: string,
    check: (s: string) => boolean,
    required: boolean,
  ): string | undefined {
    const v = this.get(key);
    if (v === undefined) return required ? this.fail(key, "missing") : undefined;
    return check(v) ? v : this.fail(key, `expected ${cls}, got ${show(v)}`);
  }

  req(key: string, cls: string, check: (s: string) => boolean): string {
    return this.token(key, cls, check, true) ?? "";
  }

  uint(key: string, required: boolean): number | undefined {
    const i = this.find(key);
    if (i < 0) return required ? this.fail(key, "missing") : undefined;
    const n = this.uintAt(i);
    return n >= 0 ? n : this.fail(key, `expected uint, got ${show(this.val(i))}`);
  }

  num(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const x = parseNum(v);
    return Number.isNaN(x) ? this.fail(key, `expected num, got ${show(v)}`) : x;
  }

  text(key: string, required: boolean): string | undefined {
    const v = this.get(key);
    if (v === undefined) return required ? this.fail(key, "missing") : undefined;
    return decodeText(v) ?? this.fail(key, `text is not valid UTF-8: ${show(v)}`);
  }
}

function byteAt(line: string, i: number): string {
  return `byte 0x${line.charCodeAt(i).toString(16).padStart(2, "0")} at offset ${i}`;
}

/**
 * Byte classes for the tokenizer, indexed by char code. The table covers every UTF-16 code unit so
 * the hot loops need no range check; only 0x21..0x7E have a class.
 */
const UPPER = 1;
const KEY_START = 2;
const KEY = 4;
const LITERAL = 8;
const BYTE_CLASS = buildByteClasses();

function buildByteClasses(): Uint8Array {
  const table = new Uint8Array(0x10000);
  for (let c = 0; c < 128; c++) {
    const lower = c >= 0x61 && c <= 0x7a;
    table[c] =
      (c >= 0x41 && c <= 0x5a ? UPPER : 0) |
      (lower ? KEY_START : 0) |
      (lower || (c >= 0x30 && c <= 0x39) || c === 0x5f ? KEY : 0) |
      (isLiteralValueByte(c) ? LITERAL : 0);
  }
  return table;
}

function classOf(line: string, i: number): number {
  return BYTE_CLASS[line.charCodeAt(i)] ?? 0;
}

/**
 * Splits `line[1..end)` into TYPE and ` key=value` fields in one pass, filling `f`. Returns a
 * syntax error detail, or undefined when the payload is well-formed.
 */
export function tokenize(line: string, end: number, f: Fields): string | undefined {
  let i = 1;
  while (i < end && (classOf(line, i) & UPPER) !== 0) i++;
  if (i === 1 || i - 1 > MAX_TYPE) return `TYPE must be 1-${MAX_TYPE} letters A-Z, at offset 1`;
  f.line = line;
  f.type = line.slice(1, i);
  f.count = 0;
  const problem = tokenizeFields(line, i, end, f);
  return problem === undefined ? undefined : `${f.type}: ${problem}`;
}

function tokenizeFields(line: string, i: number, end: number, f: Fields): string | undefined {
  while (i < end) {
    if (line.charCodeAt(i) !== 0x20) return `unexpected ${byteAt(line, i)}, expected ' '`;
    const keyStart = ++i;
    if (i >= end || (classOf(line, i) & KEY_START) === 0) return `key must start a-z, offset ${i}`;
    while (++i < end && (classOf(line, i) & KEY) !== 0);
    if (i - keyStart > MAX_NAME) return `key over ${MAX_NAME} bytes at offset ${keyStart}`;
    if (i >= end || line.charCodeAt(i) !== 0x3d) return `expected '=' after key, offset ${i}`;
    const keyEnd = i;
    const valStart = ++i;
    i = scanValue(line, i, end);
    if (i < 0) return badValueByte(line, -i - 1, line.slice(keyStart, keyEnd));
    if (i === valStart) return `empty value for '${line.slice(keyStart, keyEnd)}'`;
    if (i - valStart > MAX_VALUE) {
      return `value of '${line.slice(keyStart, keyEnd)}' over ${MAX_VALUE} bytes`;
    }
    if (f.count === MAX_FIELDS) return `more than ${MAX_FIELDS} fields`;
    const n = f.count++;
    if (!f.add(n, keyStart, keyEnd, valStart, i)) return `duplicate key '${f.key(n)}'`;
  }
  return undefined;
}

function badValueByte(line: string, at: number, key: string): string {
  if (line.charCodeAt(at) !== 0x25) return `bad ${byteAt(line, at)} in value of '${key}'`;
  return `bad escape ${show(line.slice(at, at + 3))} at offset ${at} in value of '${key}'`;
}

/** Index just past the value starting at `i`, or `-(offset + 1)` of the first bad byte. */
function scanValue(line: string, i: number, end: number): number {
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    if (((BYTE_CLASS[c] ?? 0) & LITERAL) !== 0) continue;
    if (c === 0x20) return i;
    const escape =
      c === 0x25 &&
      i + 2 < end &&
      upperHexValue(line.charCodeAt(i + 1)) >= 0 &&
      upperHexValue(line.charCodeAt(i + 2)) >= 0;
    if (!escape) return -(i + 1);
    i += 2;
  }
  return i;
}
