/**
 * The canonical "dump" of vectors/README.md (`ok TYPE key=value…` / `err CODE`) and the byte
 * escapes of the vector files. The C codec prints the same text, so vectors compare byte for byte.
 */
import { formatNum } from "./classes.js";
import { dumpText, escapeBytes } from "./text.js";
import type { Frame, WireErrorCode } from "./frames.js";

type DumpValue = string | number | undefined;

/** Fields of a frame in the order of its PROTOCOL.md table; text fields already dump-escaped. */
function dumpFields(frame: Frame): Array<[string, DumpValue]> {
  switch (frame.type) {
    case "HELLO":
      return [
        ["proto", frame.proto],
        ["min", frame.min],
        ["dev", frame.dev],
        ["fw", frame.fw],
        ["boot", frame.boot],
        ["sensors", frame.sensors],
        ["actuators", frame.actuators],
      ];
    case "SENSOR":
    case "ACTUATOR":
      return [
        ["name", frame.name],
        ["kind", frame.kind],
        ["unit", text(frame.unit)],
        ["min", num(frame.min)],
        ["max", num(frame.max)],
        ["values", frame.values?.join("|")],
      ];
    case "RD":
      return [["boot", frame.boot], ["seq", frame.seq], ["t", frame.t], ...frame.values];
    case "ACK":
      return [
        ["id", frame.id],
        ["val", frame.val],
      ];
    case "NACK":
      return [
        ["id", frame.id],
        ["reason", frame.reason],
        ["msg", text(frame.msg)],
      ];
    case "PONG":
    case "PING":
      return [["id", frame.id]];
    case "LOG":
      return [
        ["level", frame.level],
        ["msg", text(frame.msg)],
      ];
    case "ERR":
      return [
        ["code", frame.code],
        ["sensor", frame.sensor],
        ["msg", text(frame.msg)],
      ];
    case "WHO":
      return [];
    case "USE":
      return [["v", frame.v]];
    case "CMD":
      return [
        ["id", frame.id],
        ["act", frame.act],
        ["val", frame.val],
      ];
  }
}

function text(s: string | undefined): string | undefined {
  return s === undefined ? undefined : dumpText(s);
}

/**
 * num fields (min, max) are held as JS numbers and dump via formatNum. A num has at most 15
 * significant digits, so that is the wire text in shortest form (`0.50` → `0.5`, `100.0` → `100`,
 * `-0.0` → `-0`), which is what the C codec prints by trimming the wire text.
 */
function num(x: number | undefined): string | undefined {
  return x === undefined ? undefined : (formatNum(x) ?? String(x));
}

/** `ok TYPE key=value…` for a decoded frame. */
export function dumpFrame(frame: Frame): string {
  let out = "ok " + frame.type;
  for (const [key, value] of dumpFields(frame)) {
    if (value !== undefined) out += " " + key + "=" + String(value);
  }
  return out;
}

export function dumpError(code: WireErrorCode): string {
  return "err " + code;
}

/**
 * Vector-file escapes → latin1 string: `\\` is a backslash, `\xHH` a byte. Throws on any other
 * backslash sequence, because that is a typo in a vector file.
 */
export function unescapeVectorBytes(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c !== "\\") {
      out += c;
    } else if (s.charAt(i + 1) === "\\") {
      out += "\\";
      i++;
    } else if (s.charAt(i + 1) === "x" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      throw new Error(`bad escape at offset ${i} in vector ${JSON.stringify(s)}`);
    }
  }
  return out;
}

/** latin1 string → vector-file form: `\` and bytes outside 0x20..0x7E escaped. */
export function escapeVectorBytes(latin1: string): string {
  return escapeBytes(latin1, true);
}
