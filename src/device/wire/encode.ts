/**
 * Frame encoder: typed frame → `$payload*CRC` (no line terminator). Fields go in the order of the
 * PROTOCOL.md tables, which is also the dump order, so a canonical line survives decode → encode.
 * It refuses anything the decoder would reject, so the agent never sends a line the device drops.
 */
import { crc16, crcHex } from "./crc.js";
import {
  formatNum,
  isCid,
  isDevid,
  isHex8,
  isKind,
  isLevel,
  isName,
  isScalar,
  isVer,
  MAX_NAMES,
  UINT_MAX,
} from "./classes.js";
import { RESERVED_RD_KEYS } from "./decode.js";
import { encodeText, show } from "./text.js";
import { MAX_CAPABILITIES, MAX_FIELDS, MAX_FRAME, MAX_VALUE } from "./frames.js";
import type { CapabilityFrame, Frame, HelloFrame, ReadingFrame } from "./frames.js";

export class WireEncodeError extends Error {
  override readonly name = "WireEncodeError";

  constructor(
    readonly frameType: string,
    readonly field: string | undefined,
    problem: string,
  ) {
    super(
      `cannot encode ${frameType}${field === undefined ? "" : ` field '${field}'`}: ${problem}`,
    );
  }
}

/** Adds `$` and `*CRC` around a payload. */
export function encodePayload(payload: string): string {
  return "$" + payload + "*" + crcHex(crc16(payload));
}

/** Collects ` key=value` fields, checking each against its class as it goes. */
class PayloadBuilder {
  private payload: string;
  private fields = 0;

  constructor(readonly type: string) {
    this.payload = type;
  }

  fail(field: string | undefined, problem: string): never {
    throw new WireEncodeError(this.type, field, problem);
  }

  add(key: string, token: string): this {
    if (token.length === 0) this.fail(key, "empty value");
    if (token.length > MAX_VALUE) this.fail(key, `value over ${MAX_VALUE} bytes`);
    if (++this.fields > MAX_FIELDS) this.fail(key, `more than ${MAX_FIELDS} fields`);
    this.payload += " " + key + "=" + token;
    return this;
  }

  str(key: string, value: unknown, cls: string, check: (s: string) => boolean): this {
    if (typeof value !== "string" || !check(value)) {
      this.fail(key, `expected ${cls}, got ${describe(value)}`);
    }
    return this.add(key, value);
  }

  uint(key: string, value: unknown): this {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > UINT_MAX) {
      this.fail(key, `expected uint, got ${describe(value)}`);
    }
    return this.add(key, String(value));
  }

  num(key: string, value: number | undefined): this {
    if (value === undefined) return this;
    const token = typeof value === "number" ? formatNum(value) : undefined;
    return token === undefined
      ? this.fail(key, `expected num, got ${describe(value)}`)
      : this.add(key, token);
  }

  text(key: string, value: string | undefined, required = false): this {
    if (value === undefined && !required) return this;
    if (typeof value !== "string") this.fail(key, `expected text, got ${describe(value)}`);
    return this.add(key, encodeText(value));
  }

  optStr(key: string, value: string | undefined, cls: string, check: (s: string) => boolean): this {
    return value === undefined ? this : this.str(key, value, cls, check);
  }

  line(): string {
    const line = encodePayload(this.payload);
    if (line.length > MAX_FRAME) this.fail(undefined, `${line.length} bytes, limit ${MAX_FRAME}`);
    return line;
  }
}

function describe(value: unknown): string {
  return typeof value === "string" ? show(value) : String(value);
}

/** Encodes a frame as `$payload*CRC`; throws WireEncodeError if the decoder would reject it. */
export function encodeFrame(frame: Frame): string {
  const b = new PayloadBuilder(frame.type);
  switch (frame.type) {
    case "HELLO":
      return hello(b, frame);
    case "SENSOR":
    case "ACTUATOR":
      return capability(b, frame);
    case "RD":
      return reading(b, frame);
    case "ACK":
      return b
        .str("id", frame.id, "cid", isCid)
        .optStr("val", frame.val, "scalar", isScalar)
        .line();
    case "NACK":
      b.str("id", frame.id, "cid", isCid).str("reason", frame.reason, "name", isName);
      return b.text("msg", frame.msg).line();
    case "PONG":
    case "PING":
      return b.str("id", frame.id, "cid", isCid).line();
    case "LOG":
      return b.str("level", frame.level, "level", isLevel).text("msg", frame.msg, true).line();
    case "ERR":
      b.str("code", frame.code, "name", isName).optStr("sensor", frame.sensor, "name", isName);
      return b.text("msg", frame.msg).line();
    case "WHO":
      return b.line();
    case "USE":
      return b.uint("v", frame.v).line();
    case "CMD":
      b.str("id", frame.id, "cid", isCid).str("act", frame.act, "name", isName);
      return b.str("val", frame.val, "scalar", isScalar).line();
    default:
      return b.fail(undefined, "unknown frame type");
  }
}

function hello(b: PayloadBuilder, f: HelloFrame): string {
  if (f.proto < 1) b.fail("proto", `must be at least 1, got ${f.proto}`);
  if (f.min > f.proto) b.fail("min", `${f.min} is above proto ${f.proto}`);
  b.uint("proto", f.proto);
  if (f.min !== f.proto) b.uint("min", f.min);
  b.str("dev", f.dev, "devid", isDevid).str("fw", f.fw, "ver", isVer);
  b.str("boot", f.boot, "hex8", isHex8);
  for (const key of ["sensors", "actuators"] as const) {
    if (f[key] > MAX_CAPABILITIES) b.fail(key, `${f[key]} is over ${MAX_CAPABILITIES}`);
    b.uint(key, f[key]);
  }
  return b.line();
}

function capability(b: PayloadBuilder, f: CapabilityFrame): string {
  if (RESERVED_RD_KEYS.has(f.name)) b.fail("name", `${show(f.name)} is reserved in RD`);
  if (f.kind === "enum" && f.values === undefined) b.fail("values", "required for kind=enum");
  if (f.min !== undefined && f.max !== undefined && f.min > f.max) {
    b.fail("min", `${f.min} is above max ${f.max}`);
  }
  b.str("name", f.name, "name", isName).str("kind", f.kind, "kind", isKind).text("unit", f.unit);
  b.num("min", f.min).num("max", f.max);
  if (f.values !== undefined) b.add("values", names(b, f.values));
  return b.line();
}

function names(b: PayloadBuilder, values: readonly string[]): string {
  if (values.length === 0 || values.length > MAX_NAMES) {
    b.fail("values", `expected 1 to ${MAX_NAMES} names, got ${values.length}`);
  }
  for (const v of values) if (!isName(v)) b.fail("values", `expected name, got ${describe(v)}`);
  return values.join("|");
}

function reading(b: PayloadBuilder, f: ReadingFrame): string {
  b.str("boot", f.boot, "hex8", isHex8).uint("seq", f.seq);
  if (f.t !== undefined) b.uint("t", f.t);
  if (f.values.length === 0) b.fail(undefined, "no sensor values");
  const seen = new Set<string>();
  for (const [key, val] of f.values) {
    if (!isName(key) || RESERVED_RD_KEYS.has(key) || seen.has(key)) {
      b.fail(key, "sensor key must be a unique name other than boot, seq, t");
    }
    seen.add(key);
    b.str(key, val, "scalar", isScalar);
  }
  return b.line();
}
