/**
 * XEP-0323 readout requests, pure: parse a `<req>`, decide what it selects from the device's
 * latest reading and the recent history, and build the replies. The flow, as the
 * implementations that exist (slixmpp, Smack) expect it:
 *
 *   → <iq type='get'><req seqnr='7' momentary='true'/></iq>
 *   ← <iq type='result'><accepted seqnr='7'/></iq>          or an error with <rejected seqnr='7'>
 *   ← <message><fields seqnr='7' done='true'>…</fields></message>
 *                                     or <failure seqnr='7' done='true'> when nothing can be read
 *
 * XEP-0323 was retracted by its author; see sensordata.ts for why its wire format is kept.
 */
import { xml, type Element } from "./client.js";
import type { DeviceDescription, Reading } from "../core/reading.js";
import { SENSORDATA_NS, sensorDataFields, XS_DATETIME } from "./sensordata.js";

/** Most readings one historical readout returns; a request for more gets the oldest this many. */
export const MAX_HISTORY_READINGS = 500;

export interface ReadoutRequest {
  seqnr: string;
  momentary: boolean;
  /** A time range (ms since the epoch) over the agent's recent history. */
  historical?: { from: number; to: number };
  /** Node ids (device ids) asked for; empty means all. */
  nodes: string[];
  /** Field (sensor) names asked for; empty means all. */
  fields: string[];
}

/** Why a request is refused: the stanza error condition, and text for `<rejected><error>`. */
export interface ReadoutRefusal {
  type: "modify" | "cancel" | "auth";
  condition: "bad-request" | "item-not-found" | "feature-not-implemented" | "forbidden";
  text: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; refusal: ReadoutRefusal };

const HISTORICAL_FLAGS = [
  "historical",
  "historicalSecond",
  "historicalMinute",
  "historicalHour",
  "historicalDay",
  "historicalWeek",
  "historicalMonth",
  "historicalQuarter",
  "historicalYear",
  "historicalOther",
];
const XS_INT = /^[+-]?\d{1,10}$/;

const refuse = <T>(
  type: ReadoutRefusal["type"],
  condition: ReadoutRefusal["condition"],
  text: string,
): Parsed<T> => ({
  ok: false,
  refusal: { type, condition, text },
});

/** The seqnr of a `<req>`, `<cancel>`, etc., when it is a valid xs:int. */
export function seqnrOf(el: Element): string | undefined {
  const seqnr: unknown = el.attrs.seqnr;
  return typeof seqnr === "string" && XS_INT.test(seqnr) ? seqnr : undefined;
}

/** Parses a `<req>`; `now` ends an open-ended historical range. */
export function parseReadoutRequest(req: Element, now: number): Parsed<ReadoutRequest> {
  const seqnr = seqnrOf(req);
  if (seqnr === undefined) return refuse("modify", "bad-request", "req: seqnr must be an integer");
  const flag = (name: string) => req.attrs[name] === "true" || req.attrs[name] === "1";
  if (req.attrs.when !== undefined) {
    return refuse("cancel", "feature-not-implemented", "timed readouts (when) are not supported");
  }
  const range = timeRange(req, now);
  if (!range.ok) return range;
  const wantsHistory = HISTORICAL_FLAGS.some(flag) || range.value !== undefined || flag("all");
  const momentary = flag("momentary") || flag("all") || !wantsHistory;
  const nodes = req.getChildren("node").map((n) => n.attrs.nodeId as unknown);
  const fields = req.getChildren("field").map((f) => f.attrs.name as unknown);
  if (![...nodes, ...fields].every((v) => typeof v === "string" && v !== "")) {
    return refuse("modify", "bad-request", "req: every node needs a nodeId, every field a name");
  }
  return {
    ok: true,
    value: {
      seqnr,
      momentary,
      ...(wantsHistory ? { historical: range.value ?? { from: 0, to: now } } : {}),
      nodes: nodes as string[],
      fields: fields as string[],
    },
  };
}

function timeRange(req: Element, now: number): Parsed<{ from: number; to: number } | undefined> {
  const bound = (name: "from" | "to"): number | null | undefined => {
    const v: unknown = req.attrs[name];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !XS_DATETIME.test(v)) return null;
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : ms;
  };
  const [from, to] = [bound("from"), bound("to")];
  if (from === null || to === null) {
    return refuse(
      "modify",
      "bad-request",
      "req: from and to must be xs:dateTime, e.g. 2026-11-29T10:00:00Z",
    );
  }
  if (from === undefined && to === undefined) return { ok: true, value: undefined };
  const range = { from: from ?? 0, to: to ?? now };
  if (range.from > range.to) return refuse("modify", "bad-request", "req: from is after to");
  return { ok: true, value: range };
}

/** Where the readings come from: the device's description and the agent's memory of it. */
export interface ReadoutSource {
  device: DeviceDescription | undefined;
  latest: Reading | undefined;
  between(from: number, to: number, limit: number): Reading[];
}

export interface Selection {
  momentary: Reading[];
  historical: Reading[];
}

/** What `request` selects, or why it cannot be served. */
export function selectReadings(request: ReadoutRequest, source: ReadoutSource): Parsed<Selection> {
  const nodeId = source.device?.id ?? source.latest?.device;
  const unknownNode = request.nodes.find((n) => n !== nodeId);
  if (unknownNode !== undefined) {
    return refuse("cancel", "item-not-found", `Invalid nodeId ${unknownNode}`);
  }
  const known = new Set([
    ...(source.device?.sensors.map((s) => s.name) ?? []),
    ...(source.latest?.values.map((v) => v.sensor) ?? []),
  ]);
  if (request.fields.length > 0 && !request.fields.some((f) => known.has(f))) {
    return refuse("cancel", "item-not-found", `Invalid field ${request.fields.join(", ")}`);
  }
  const keep = (r: Reading): Reading[] => {
    if (request.fields.length === 0) return [r];
    const values = r.values.filter((v) => request.fields.includes(v.sensor));
    return values.length > 0 ? [{ ...r, values }] : [];
  };
  const { historical } = request;
  return {
    ok: true,
    value: {
      momentary: request.momentary && source.latest ? keep(source.latest) : [],
      historical: historical
        ? source.between(historical.from, historical.to, MAX_HISTORY_READINGS).flatMap(keep)
        : [],
    },
  };
}

export function readoutAccepted(seqnr: string): Element {
  return xml("accepted", { xmlns: SENSORDATA_NS, seqnr });
}

/** The `<rejected>` slixmpp and Smack look for in the error reply. */
export function readoutRejected(seqnr: string | undefined, text: string): Element {
  return xml("rejected", { xmlns: SENSORDATA_NS, seqnr: seqnr ?? "0" }, xml("error", {}, text));
}

export function readoutCancelled(seqnr: string): Element {
  return xml("cancelled", { xmlns: SENSORDATA_NS, seqnr });
}

/** The data message: history first (oldest first), then the momentary values; done. */
export function readoutMessage(to: string, seqnr: string, selection: Selection): Element {
  const history = sensorDataFields(selection.historical, { seqnr, historical: true });
  const now = sensorDataFields(selection.momentary, { seqnr, done: true });
  const fields = xml("fields", { ...now.attrs }, ...history.children, ...now.children);
  return xml("message", { to, type: "normal" }, fields);
}

/** Nothing could be read (no reading yet, or none in the range): a done failure. */
export function readoutFailure(
  to: string,
  seqnr: string,
  nodeId: string,
  text: string,
  now: number,
): Element {
  const error = xml("error", { nodeId, timestamp: new Date(now).toISOString() }, text);
  return xml(
    "message",
    { to, type: "normal" },
    xml("failure", { xmlns: SENSORDATA_NS, seqnr, done: "true" }, error),
  );
}
