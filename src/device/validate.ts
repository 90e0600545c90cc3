/**
 * Types raw scalar tokens against the capabilities a device declared (PROTOCOL.md §3: the meaning of
 * a `scalar` comes from the declared `kind`). The codec checks syntax; this checks meaning.
 */
import { formatNum, parseNum } from "./wire/classes.js";
import { show } from "./wire/text.js";
import type { ReadingFrame } from "./wire/frames.js";
import type {
  Capability,
  DeviceDescription,
  Reading,
  ReadingValue,
  SensorValue,
} from "../core/reading.js";

/** A result that is either the value(s) in T or the reason it could not be produced. */
export type Checked<T> = ({ ok: true } & T) | { ok: false; detail: string };

function bad(detail: string): { ok: false; detail: string } {
  return { ok: false, detail };
}

/** A wire token from the device → typed value, or why it does not fit the capability. */
export function validateValue(cap: Capability, token: string): Checked<{ value: SensorValue }> {
  const value = typedValue(cap, token);
  return value === undefined ? bad(explainInvalid(cap, token)) : { ok: true, value };
}

/**
 * The typed value, or undefined when the token does not fit. Allocation-free, because it runs for
 * every value of every reading; the reason is worked out by explainInvalid only when needed.
 */
function typedValue(cap: Capability, token: string): SensorValue | undefined {
  switch (cap.kind) {
    case "num": {
      const x = parseNum(token);
      return Number.isNaN(x) || checkRange(cap, x) !== undefined ? undefined : x;
    }
    case "bool":
      return token === "1" ? true : token === "0" ? false : undefined;
    case "enum":
      return cap.values?.includes(token) ? token : undefined;
  }
}

function explainInvalid(cap: Capability, token: string): string {
  switch (cap.kind) {
    case "num": {
      const x = parseNum(token);
      if (Number.isNaN(x)) return `'${cap.name}': expected a number, got ${show(token)}`;
      return checkRange(cap, x)?.detail ?? `'${cap.name}': invalid`;
    }
    case "bool":
      return `'${cap.name}': expected 0 or 1, got ${show(token)}`;
    case "enum":
      return `'${cap.name}': ${show(token)} is not one of ${members(cap)}`;
  }
}

function checkRange(cap: Capability, x: number): { ok: false; detail: string } | undefined {
  if (cap.min !== undefined && x < cap.min)
    return bad(`'${cap.name}': ${x} is below min ${cap.min}`);
  if (cap.max !== undefined && x > cap.max)
    return bad(`'${cap.name}': ${x} is above max ${cap.max}`);
  return undefined;
}

function members(cap: Capability): string {
  return cap.values?.join("|") ?? "(no values declared)";
}

const BOOL_WORDS: ReadonlyMap<string, string> = new Map([
  ["1", "1"],
  ["0", "0"],
  ["on", "1"],
  ["off", "0"],
  ["true", "1"],
  ["false", "0"],
]);

/** Plain decimal as a user may type it; hex, `Infinity` and blanks are not numbers here. */
const USER_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A typed or user-typed value → the wire token for a CMD `val`, checked against the capability. */
export function formatValue(cap: Capability, value: SensorValue): Checked<{ token: string }> {
  switch (cap.kind) {
    case "bool":
      return formatBool(cap, value);
    case "num":
      return formatNumber(cap, value);
    case "enum": {
      const token = typeof value === "string" ? value.trim() : String(value);
      if (cap.values?.includes(token)) return { ok: true, token };
      return bad(`'${cap.name}': ${show(token)} is not one of ${members(cap)}`);
    }
  }
}

function formatBool(cap: Capability, value: SensorValue): Checked<{ token: string }> {
  if (typeof value === "boolean") return { ok: true, token: value ? "1" : "0" };
  const token = BOOL_WORDS.get(String(value).trim().toLowerCase());
  if (token !== undefined) return { ok: true, token };
  return bad(`'${cap.name}': expected on/off, true/false or 1/0, got ${show(String(value))}`);
}

function formatNumber(cap: Capability, value: SensorValue): Checked<{ token: string }> {
  const text = typeof value === "string" ? value.trim() : undefined;
  const x = typeof value === "number" ? value : text && USER_NUMBER.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(x))
    return bad(`'${cap.name}': expected a number, got ${show(String(value))}`);
  const range = checkRange(cap, x);
  if (range) return range;
  const token = formatNum(x);
  if (token === undefined) {
    return bad(`'${cap.name}': ${x} is not a wire num (at most 15 significant digits, 20 bytes)`);
  }
  return { ok: true, token };
}

function findSensor(device: DeviceDescription, name: string): Capability | undefined {
  // A device declares at most 32 sensors; a scan beats building a map per reading.
  for (const cap of device.sensors) if (cap.name === name) return cap;
  return undefined;
}

/** An RD frame → a Reading, if it belongs to this boot and every value fits its declared sensor. */
export function validateReading(
  frame: ReadingFrame,
  device: DeviceDescription,
  receivedAt: number,
  timeSynced = true,
): Checked<{ reading: Reading }> {
  if (frame.boot !== device.boot) {
    return bad(`boot ${frame.boot} is not the current boot ${device.boot}`);
  }
  const values: ReadingValue[] = [];
  for (const pair of frame.values) {
    // No destructuring: array patterns go through the iterator protocol, and this loop runs for
    // every value of every reading.
    const sensor = pair[0];
    const token = pair[1];
    const cap = findSensor(device, sensor);
    if (cap === undefined) return bad(`'${sensor}' is not a declared sensor`);
    const typed = typedValue(cap, token);
    if (typed === undefined) return bad(explainInvalid(cap, token));
    const value: ReadingValue = { sensor, kind: cap.kind, value: typed };
    if (cap.unit !== undefined) value.unit = cap.unit;
    values.push(value);
  }
  const reading: Reading = {
    device: device.id,
    boot: frame.boot,
    seq: frame.seq,
    receivedAt,
    values,
  };
  if (frame.t !== undefined) reading.deviceTime = frame.t;
  if (!timeSynced) reading.timeSynced = false;
  return { ok: true, reading };
}
