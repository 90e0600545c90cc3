/**
 * The machine-readable payload of telemetry messages: XEP-0323 "Internet of Things - Sensor Data"
 * `<fields>` (namespace urn:xmpp:iot:sensordata), plus our own `<reading>` identity elements.
 *
 * XEP-0323 has been retracted by its author and new implementations are "not recommended". We
 * still emit its wire format because existing consumers parse it (slixmpp's xep_0323 plugin,
 * Smack's smackx.iot), and there is no successor to interoperate with. ALL payload-format code
 * lives in this module so a successor format can be added beside it and chosen in stanzas.ts
 * without touching message building, bodies or inbound handling.
 *
 * Mapping (one `<node>` + one `<timestamp>` per Reading, document order = reading order):
 *   num  → <numeric name value unit momentary automaticReadout/>  (unit '' when none: required)
 *   bool → <boolean name value='true|false' momentary/>
 *   enum → <enum name value dataType momentary/>  (dataType names the enumeration, see ENUM_TYPE)
 * The timestamp is `receivedAt` (agent wall clock, UTC); the device's uptime is not a date.
 *
 * Reading identity: XEP-0323 has no slot for it, and its schema allows no foreign children in
 * `<timestamp>`, so each reading gets a sibling `<reading xmlns='urn:xmpp-iot-agent:reading:1'
 * device boot seq/>` as a direct child of the `<message>`, in the same order as the `<node>`s:
 * the i-th `<reading>` identifies the i-th `<node>` (whose nodeId equals its `device`).
 * Consumers de-duplicate on (device, boot, seq). `timeSynced='false'` on it says that the
 * node's timestamp was taken before the agent's clock was synchronised (absent otherwise).
 */
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Reading, ReadingValue, SensorValue } from "../core/reading.js";
import type { ValueKind } from "../device/wire/frames.js";

export const SENSORDATA_NS = "urn:xmpp:iot:sensordata";
export const READING_ID_NS = "urn:xmpp-iot-agent:reading:1";
/** XEP-0323 leaves enum data types to the application; ours name the sensor whose HELLO
 * capability lists the allowed values, e.g. `urn:xmpp-iot-agent:enum:door`. */
export const ENUM_TYPE_PREFIX = "urn:xmpp-iot-agent:enum:";

export type SensorDataErrorCode = "element" | "attribute" | "unsupported" | "value";

/** A payload we cannot build or parse; `path` says where, e.g. `fields/node[0]/timestamp[0]`. */
export class SensorDataError extends Error {
  override readonly name = "SensorDataError";
  constructor(
    readonly code: SensorDataErrorCode,
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

export interface SensorDataOptions {
  /** Echo of the request's seqnr (xs:int, required by the schema). Unsolicited pushes use "0". */
  seqnr?: string;
  done?: boolean;
  /** Values from the agent's history (a historical readout): flagged historicalOther. */
  historical?: boolean;
}

export interface ReadingId {
  device: string;
  boot: string;
  seq: number;
  /** The reading's timestamp was taken before the agent's clock was synchronised. */
  timeSynced?: false;
}

export interface SensorDataValue {
  sensor: string;
  kind: ValueKind;
  value: SensorValue;
  unit?: string;
  dataType?: string;
}

export interface SensorDataBlock {
  nodeId: string;
  /** The timestamp exactly as sent (xs:dateTime). */
  timestamp: string;
  /** Milliseconds since the epoch, only when the timestamp carries a zone (else undefined). */
  time?: number;
  values: SensorDataValue[];
}

export interface ParsedSensorData {
  seqnr: string;
  done: boolean;
  blocks: SensorDataBlock[];
}

const XS_INT = /^[+-]?\d+$/;
const XS_DOUBLE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
export const XS_DATETIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const XS_BOOLEAN: Record<string, boolean> = { true: true, false: false, "1": true, "0": false };
/** Valid XEP-0323 value types this model has no kind for (yet). */
const UNSUPPORTED = new Set(["string", "date", "dateTime", "duration", "time"]);

/**
 * A JS number as a plain decimal (xs:double allows exponents, but some consumers and humans
 * don't): 1e-7 → "0.0000001", 1e21 → "1000000000000000000000". Shortest round-trip digits.
 */
export function formatDecimal(n: number, path = "value"): string {
  if (!Number.isFinite(n)) throw new SensorDataError("value", path, `${n} is not a finite number`);
  if (n === 0) return "0"; // also -0
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const sign = m[1] ?? "";
  const digits = (m[2] ?? "") + (m[3] ?? "");
  const point = 1 + Number(m[4]); // decimal point position within `digits`
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function valueElement(v: ReadingValue, path: string, historical = false): Element {
  const where = `${path}/${v.sensor}`;
  if (v.sensor === "") throw new SensorDataError("value", where, "empty sensor name");
  const flag = historical ? { historicalOther: "true" } : { momentary: "true" };
  if (v.kind === "num" && typeof v.value === "number") {
    const attrs = { name: v.sensor, value: formatDecimal(v.value, where), unit: v.unit ?? "" };
    return xml("numeric", { ...attrs, ...flag, automaticReadout: "true" });
  }
  if (v.kind === "bool" && typeof v.value === "boolean") {
    return xml("boolean", { name: v.sensor, value: String(v.value), ...flag });
  }
  if (v.kind === "enum" && typeof v.value === "string") {
    const dataType = ENUM_TYPE_PREFIX + v.sensor;
    return xml("enum", { name: v.sensor, value: v.value, dataType, ...flag });
  }
  throw new SensorDataError("value", where, `kind ${v.kind} with a ${typeof v.value} value`);
}

function isoTime(ms: number, path: string): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new SensorDataError("value", path, `bad time ${ms}`);
  return date.toISOString();
}

/** `<fields xmlns='urn:xmpp:iot:sensordata' seqnr done?>` with one node/timestamp per reading. */
export function sensorDataFields(readings: Reading[], options: SensorDataOptions = {}): Element {
  const seqnr = options.seqnr ?? "0";
  if (!XS_INT.test(seqnr)) throw new SensorDataError("value", "fields", `seqnr ${seqnr} not int`);
  const nodes = readings.map((r, i) => {
    const path = `fields/node[${i}]`;
    if (r.device === "") throw new SensorDataError("value", path, "empty device id");
    const stamp = isoTime(r.receivedAt, `${path}/timestamp`);
    const values = r.values.map((v) => valueElement(v, `${path}/timestamp`, options.historical));
    return xml("node", { nodeId: r.device }, xml("timestamp", { value: stamp }, ...values));
  });
  const attrs = { xmlns: SENSORDATA_NS, seqnr, done: options.done ? "true" : undefined };
  return xml("fields", attrs, ...nodes);
}

/** One `<reading xmlns=READING_ID_NS device boot seq timeSynced?/>` per reading, beside `<fields>`. */
export function readingIdElements(readings: Reading[]): Element[] {
  return readings.map((r) => {
    const id = { xmlns: READING_ID_NS, device: r.device, boot: r.boot, seq: String(r.seq) };
    return xml("reading", r.timeSynced === false ? { ...id, timeSynced: "false" } : id);
  });
}

// ---- parsing -------------------------------------------------------------------------------

function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

function required(el: Element, name: string, path: string): string {
  const v = attr(el, name);
  if (v === undefined) throw new SensorDataError("attribute", path, `missing attribute '${name}'`);
  return v;
}

function invalid(path: string, name: string, value: string, expected: string): SensorDataError {
  return new SensorDataError("attribute", path, `'${name}' is "${value}", expected ${expected}`);
}

/** Our children in `ns`; foreign-namespace children are extensions and skipped, as XMPP does. */
function ownChildren(el: Element, ns: string): Element[] {
  return el.getChildElements().filter((c) => c.getNS() === ns);
}

const FIELD_TYPES = new Set(["numeric", "int", "long", "boolean", "enum"]);

function parseValue(el: Element, path: string): SensorDataValue {
  if (UNSUPPORTED.has(el.name)) {
    throw new SensorDataError("unsupported", path, `field type <${el.name}> not supported`);
  }
  if (!FIELD_TYPES.has(el.name)) {
    throw new SensorDataError("element", path, `unexpected element <${el.name}>`);
  }
  const sensor = required(el, "name", path);
  if (sensor === "") throw invalid(path, "name", sensor, "a field name");
  const raw = required(el, "value", path);
  switch (el.name) {
    case "numeric": {
      if (!XS_DOUBLE.test(raw)) throw invalid(path, "value", raw, "a finite xs:double");
      const unit = required(el, "unit", path);
      return { sensor, kind: "num", value: Number(raw), ...(unit === "" ? {} : { unit }) };
    }
    case "int":
    case "long": {
      const n = Number(raw);
      if (!XS_INT.test(raw) || !Number.isSafeInteger(n)) throw invalid(path, "value", raw, "int");
      return { sensor, kind: "num", value: n };
    }
    case "boolean": {
      const b = XS_BOOLEAN[raw];
      if (b === undefined) throw invalid(path, "value", raw, "true|false|1|0");
      return { sensor, kind: "bool", value: b };
    }
    default: // enum
      return { sensor, kind: "enum", value: raw, dataType: required(el, "dataType", path) };
  }
}

function expectName(el: Element, name: string, path: string): void {
  if (el.name !== name) throw new SensorDataError("element", path, `expected <${name}>`);
}

/** Strict parse of a `<fields>` element: anything malformed throws a SensorDataError. */
export function parseSensorDataFields(el: Element): ParsedSensorData {
  if (el.name !== "fields" || el.getNS() !== SENSORDATA_NS) {
    throw new SensorDataError("element", el.name, `expected <fields xmlns='${SENSORDATA_NS}'>`);
  }
  const seqnr = required(el, "seqnr", "fields");
  if (!XS_INT.test(seqnr)) throw invalid("fields", "seqnr", seqnr, "xs:int");
  const doneRaw = attr(el, "done") ?? "false";
  const done = XS_BOOLEAN[doneRaw];
  if (done === undefined) throw invalid("fields", "done", doneRaw, "xs:boolean");
  const blocks: SensorDataBlock[] = [];
  ownChildren(el, SENSORDATA_NS).forEach((node, n) => {
    const nodePath = `fields/node[${n}]`;
    expectName(node, "node", nodePath);
    const nodeId = required(node, "nodeId", nodePath);
    ownChildren(node, SENSORDATA_NS).forEach((ts, t) => {
      const tsPath = `${nodePath}/timestamp[${t}]`;
      expectName(ts, "timestamp", tsPath);
      const timestamp = required(ts, "value", tsPath);
      if (!XS_DATETIME.test(timestamp)) throw invalid(tsPath, "value", timestamp, "xs:dateTime");
      const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(timestamp);
      const values = ownChildren(ts, SENSORDATA_NS).map((f, i) =>
        parseValue(f, `${tsPath}/${f.name}[${i}]`),
      );
      blocks.push({ nodeId, timestamp, ...(zoned ? { time: Date.parse(timestamp) } : {}), values });
    });
  });
  return { seqnr, done, blocks };
}

/** The `<reading>` identity elements among a message's children, strictly checked. */
export function parseReadingIds(message: Element): ReadingId[] {
  return message.getChildren("reading", READING_ID_NS).map((el, i) => {
    const path = `reading[${i}]`;
    const device = required(el, "device", path);
    const boot = required(el, "boot", path);
    const seqRaw = required(el, "seq", path);
    const seq = Number(seqRaw);
    if (!/^\d+$/.test(seqRaw) || !Number.isSafeInteger(seq)) {
      throw invalid(path, "seq", seqRaw, "an unsigned integer");
    }
    const synced = attr(el, "timeSynced");
    if (synced === undefined) return { device, boot, seq };
    if (synced !== "false") throw invalid(path, "timeSynced", synced, "false or no attribute");
    return { device, boot, seq, timeSynced: false };
  });
}
