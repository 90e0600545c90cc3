/**
 * Line decoder, PROTOCOL.md §2 "Line decoding": length, frame, crc, syntax, type, field — in that
 * order, first failure wins. One pass tokenises the payload; the frame rules then look fields up by
 * key. Never throws: every failure is a WireError whose detail names the frame, field and value.
 */
import { crc16Range, crcHex } from "./crc.js";
import {
  isCid,
  isDevid,
  isHex8,
  isKind,
  isLevel,
  isName,
  isNames,
  isScalar,
  isVer,
} from "./classes.js";
import { show, upperHexValue } from "./text.js";
import { Fields, tokenize } from "./tokenize.js";
import { MAX_CAPABILITIES, MAX_FRAME } from "./frames.js";
import type {
  CapabilityFrame,
  DecodeResult,
  ErrFrame,
  Frame,
  LogLevel,
  ValueKind,
  WireErrorCode,
} from "./frames.js";

/** Keys of RD that are not sensor values; SENSOR and ACTUATOR may not use them as names. */
export const RESERVED_RD_KEYS: ReadonlySet<string> = new Set(["boot", "seq", "t"]);

const FIELDS = new Fields();

function fail(code: WireErrorCode, detail: string): DecodeResult {
  return { ok: false, error: { code, detail } };
}

/** Decodes one line (latin1, terminator already removed). */
export function decodeLine(line: string): DecodeResult {
  const n = line.length;
  if (n > MAX_FRAME) return fail("length", `line is ${n} bytes, limit ${MAX_FRAME}`);
  const wire = frameCrc(line);
  if (wire < 0) return fail("frame", `not $payload*HHHH: ${show(line)}`);
  const crc = crc16Range(line, 1, n - 5);
  if (crc !== wire) {
    return fail("crc", `crc mismatch: line says ${crcHex(wire)}, payload gives ${crcHex(crc)}`);
  }
  const syntax = tokenize(line, n - 5, FIELDS);
  if (syntax !== undefined) return fail("syntax", syntax);
  const decoder = DECODERS.get(FIELDS.type);
  if (decoder === undefined) return fail("type", `unknown frame type ${show(FIELDS.type)}`);
  FIELDS.error = undefined;
  const frame = decoder(FIELDS);
  if (frame === undefined || FIELDS.error !== undefined) {
    return fail("field", FIELDS.error ?? `${FIELDS.type}: invalid`);
  }
  return { ok: true, frame };
}

/** The CRC a line carries after `*`, or -1 when the line is not `$…*HHHH`. */
function frameCrc(line: string): number {
  const n = line.length;
  if (n < 6 || line.charCodeAt(0) !== 0x24 || line.charCodeAt(n - 5) !== 0x2a) return -1;
  let crc = 0;
  for (let i = n - 4; i < n; i++) {
    const d = upperHexValue(line.charCodeAt(i));
    if (d < 0) return -1;
    crc = (crc << 4) | d;
  }
  return crc;
}

type FrameDecoder = (f: Fields) => Frame | undefined;

function decodeHello(f: Fields): Frame | undefined {
  const proto = f.uint("proto", true) ?? 0;
  const min = f.uint("min", false) ?? proto;
  const dev = f.req("dev", "devid", isDevid);
  const fw = f.req("fw", "ver", isVer);
  const boot = f.req("boot", "hex8", isHex8);
  const sensors = capCount(f, "sensors");
  const actuators = capCount(f, "actuators");
  if (f.error !== undefined) return undefined;
  if (proto < 1) return f.fail("proto", "must be at least 1, got 0");
  if (min > proto) return f.fail("min", `${min} is above proto ${proto}`);
  return { type: "HELLO", proto, min, dev, fw, boot, sensors, actuators };
}

function capCount(f: Fields, key: string): number {
  const n = f.uint(key, true) ?? 0;
  return n <= MAX_CAPABILITIES ? n : (f.fail(key, `${n} is over ${MAX_CAPABILITIES}`) ?? 0);
}

function decodeCapability(f: Fields): Frame | undefined {
  const name = f.req("name", "name", isName);
  const kind = f.req("kind", "kind", isKind) as ValueKind;
  const unit = f.text("unit", false);
  const min = f.num("min");
  const max = f.num("max");
  const values = f.token("values", "names", isNames, false);
  if (f.error !== undefined) return undefined;
  if (RESERVED_RD_KEYS.has(name)) return f.fail("name", `${show(name)} is reserved in RD`);
  if (kind === "enum" && values === undefined) return f.fail("values", "required for kind=enum");
  if (min !== undefined && max !== undefined && min > max) {
    return f.fail("min", `${min} is above max ${max}`);
  }
  const type = f.type === "SENSOR" ? "SENSOR" : "ACTUATOR";
  const frame: CapabilityFrame = { type, name, kind };
  if (unit !== undefined) frame.unit = unit;
  if (min !== undefined) frame.min = min;
  if (max !== undefined) frame.max = max;
  if (values !== undefined) frame.values = values.split("|");
  return frame;
}

/** RD is the hot path: one walk over the fields, reserved keys recognised in place. */
function decodeReading(f: Fields): Frame | undefined {
  let boot: string | undefined;
  let seq = -1;
  let t = -1;
  const values: Array<[string, string]> = [];
  for (let i = 0; i < f.count; i++) {
    if (f.keyIs(i, "boot")) boot = f.val(i);
    else if (f.keyIs(i, "seq")) seq = f.uintAt(i);
    else if (f.keyIs(i, "t")) t = f.uintAt(i);
    else {
      const val = f.val(i);
      if (isScalar(val)) values.push([f.key(i), val]);
      else f.fail(f.key(i), `expected scalar, got ${show(val)}`);
    }
  }
  if (boot === undefined || !isHex8(boot)) f.req("boot", "hex8", isHex8);
  if (seq < 0) f.uint("seq", true);
  if (t < 0) f.uint("t", false);
  if (values.length === 0) f.failFrame("has no sensor values");
  if (f.error !== undefined || boot === undefined) return undefined;
  return t < 0 ? { type: "RD", boot, seq, values } : { type: "RD", boot, seq, t, values };
}

function decodeAck(f: Fields): Frame | undefined {
  const id = f.req("id", "cid", isCid);
  const val = f.token("val", "scalar", isScalar, false);
  return val === undefined ? { type: "ACK", id } : { type: "ACK", id, val };
}

function decodeNack(f: Fields): Frame | undefined {
  const id = f.req("id", "cid", isCid);
  const reason = f.req("reason", "name", isName);
  const msg = f.text("msg", false);
  return msg === undefined ? { type: "NACK", id, reason } : { type: "NACK", id, reason, msg };
}

function decodeLog(f: Fields): Frame | undefined {
  const level = f.req("level", "level", isLevel) as LogLevel;
  return { type: "LOG", level, msg: f.text("msg", true) ?? "" };
}

function decodeErr(f: Fields): Frame | undefined {
  const frame: ErrFrame = { type: "ERR", code: f.req("code", "name", isName) };
  const sensor = f.token("sensor", "name", isName, false);
  const msg = f.text("msg", false);
  if (sensor !== undefined) frame.sensor = sensor;
  if (msg !== undefined) frame.msg = msg;
  return frame;
}

function decodeCmd(f: Fields): Frame | undefined {
  const id = f.req("id", "cid", isCid);
  const act = f.req("act", "name", isName);
  return { type: "CMD", id, act, val: f.req("val", "scalar", isScalar) };
}

const DECODERS: ReadonlyMap<string, FrameDecoder> = new Map<string, FrameDecoder>([
  ["HELLO", decodeHello],
  ["SENSOR", decodeCapability],
  ["ACTUATOR", decodeCapability],
  ["RD", decodeReading],
  ["ACK", decodeAck],
  ["NACK", decodeNack],
  ["PONG", (f) => ({ type: "PONG", id: f.req("id", "cid", isCid) })],
  ["LOG", decodeLog],
  ["ERR", decodeErr],
  ["WHO", () => ({ type: "WHO" })],
  ["USE", (f) => ({ type: "USE", v: f.uint("v", true) ?? 0 })],
  ["CMD", decodeCmd],
  ["PING", (f) => ({ type: "PING", id: f.req("id", "cid", isCid) })],
]);

/** Frame types of protocol version 1, in PROTOCOL.md order. */
export const FRAME_TYPES: readonly string[] = [...DECODERS.keys()];
