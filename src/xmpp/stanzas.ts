/**
 * Outgoing stanza builders: pure functions from data to @xmpp/xml Elements, no connection, no
 * clock, no id generation (callers pass ids so tests and retries are deterministic).
 * The telemetry payload format itself lives in sensordata.ts.
 */
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { DeviceDescription, Reading, ReadingValue } from "../core/reading.js";
import { formatDecimal, readingIdElements, sensorDataFields } from "./sensordata.js";

export const RECEIPTS_NS = "urn:xmpp:receipts";
export const STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const REPLY_NS = "urn:xmpp:reply:0";
export const DELAY_NS = "urn:xmpp:delay";

/** RFC 6120 §8.3.2 error types. */
export const STANZA_ERROR_TYPES = ["auth", "cancel", "continue", "modify", "wait"] as const;
export type StanzaErrorType = (typeof STANZA_ERROR_TYPES)[number];

/** RFC 6120 §8.3.3 defined conditions. */
export const STANZA_ERROR_CONDITIONS = [
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
] as const;
export type StanzaErrorCondition = (typeof STANZA_ERROR_CONDITIONS)[number];

/**
 * "normal" by default: telemetry is a notification, not a conversation. XEP-0323 sends its
 * `<fields>` in untyped (= normal) messages; "chat" would open a conversation window and notify
 * on every sample, and is what message carbons (XEP-0280) copy to all the recipient's devices.
 * Pass "chat" when the recipient is a person who asked to watch readings in their chat client.
 */
export type TelemetryType = "normal" | "chat";

export interface TelemetryOptions {
  to: string;
  id: string;
  readings: Reading[];
  /** Fallback text for clients without XEP-0323; defaults to humanSummary(readings). */
  body?: string;
  type?: TelemetryType;
  /** seqnr to echo when answering a XEP-0323 request; unsolicited pushes send "0". */
  seqnr?: string;
  /**
   * Sent late (replayed after an outage): XEP-0203 `<delay>` with this time (ms since the
   * epoch), so clients show when the reading was taken and can tell replay from live.
   */
  delayedSince?: number;
}

function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

/** Deep copy, so builders never mutate (or re-parent the children of) the caller's element. */
function clone(el: Element): Element {
  const kids = el.children.map((c) => (typeof c === "string" ? c : clone(c)));
  return xml(el.name, { ...el.attrs }, ...kids);
}

/** `<message type=normal|chat>`: human body, XEP-0323 `<fields done>`, one `<reading>` each. */
export function telemetryMessage(options: TelemetryOptions): Element {
  const { to, id, readings } = options;
  const body = options.body ?? humanSummary(readings);
  const fields = sensorDataFields(readings, { seqnr: options.seqnr, done: true });
  return xml(
    "message",
    { to, id, type: options.type ?? "normal" },
    xml("body", {}, body),
    fields,
    ...readingIdElements(readings),
    ...(options.delayedSince === undefined
      ? []
      : [xml("delay", { xmlns: DELAY_NS, stamp: new Date(options.delayedSince).toISOString() })]),
  );
}

const SUMMARY_LINES = 3;

function describeValue(v: ReadingValue, device?: DeviceDescription): string {
  if (typeof v.value === "boolean") return `${v.sensor} ${v.value ? "on" : "off"}`;
  if (typeof v.value === "string") return `${v.sensor} ${v.value}`;
  const unit = v.unit ?? device?.sensors.find((s) => s.name === v.sensor)?.unit;
  const n = Number.isFinite(v.value) ? formatDecimal(v.value) : String(v.value);
  return unit ? `${v.sensor} ${n} ${unit}` : `${v.sensor} ${n}`;
}

/**
 * Short chat body, one line per reading: `envnode-01 #1523: temp 21.5 °C, hum 40.2 %, door
 * closed`. Only the latest few readings of a batch are spelled out. `device` supplies units the
 * reading lacks (from the HELLO capabilities).
 */
export function humanSummary(readings: Reading[], device?: DeviceDescription): string {
  if (readings.length === 0) return "no readings";
  const lines = readings.slice(-SUMMARY_LINES).map((r) => {
    const values = r.values.map((v) => describeValue(v, device)).join(", ");
    return `${r.device} #${r.seq}: ${values || "(no values)"}`;
  });
  const omitted = readings.length - SUMMARY_LINES;
  if (omitted > 0) lines.unshift(`(${omitted} earlier reading${omitted === 1 ? "" : "s"})`);
  return lines.join("\n");
}

export interface ChatReplyOptions {
  to: string;
  body: string;
  id?: string;
  /** The request's `<thread>`, so clients keep command and answer in one conversation. */
  thread?: string;
  /** Id of the message answered; emitted as a XEP-0461 `<reply>` so clients can quote it. */
  inReplyTo?: string;
}

export function chatReply(options: ChatReplyOptions): Element {
  const { to, body, id, thread, inReplyTo } = options;
  const kids = [xml("body", {}, body)];
  if (thread !== undefined) kids.push(xml("thread", {}, thread));
  if (inReplyTo !== undefined) kids.push(xml("reply", { xmlns: REPLY_NS, to, id: inReplyTo }));
  return xml("message", { to, id, type: "chat" }, ...kids);
}

function hasReceiptAck(message: Element): boolean {
  return message.getChild("received", RECEIPTS_NS) !== undefined;
}

/**
 * The XEP-0184 ack for `message`, or undefined when none is due: no `<request/>`, no id to
 * echo, no sender, an error or groupchat message (not recommended, and it goes to the room), or
 * an ack itself (never ack an ack). Same type as the request, as XEP-0184 advises.
 */
export function receiptFor(message: Element, id?: string): Element | undefined {
  const from = attr(message, "from");
  const msgId = attr(message, "id");
  const type = attr(message, "type");
  if (!message.is("message") || !from || !msgId) return undefined;
  if (type === "error" || type === "groupchat" || hasReceiptAck(message)) return undefined;
  if (!message.getChild("request", RECEIPTS_NS)) return undefined;
  return xml("message", { to: from, id, type }, xml("received", { xmlns: RECEIPTS_NS, id: msgId }));
}

/** A copy of `message` asking for a XEP-0184 receipt; the message must carry an id. */
export function withReceiptRequest(message: Element): Element {
  if (!attr(message, "id")) throw new TypeError("a receipt request needs a message id");
  if (attr(message, "type") === "error") throw new TypeError("no receipt requests on errors");
  if (hasReceiptAck(message)) throw new TypeError("an ack must not request a receipt (loops)");
  const copy = clone(message);
  if (!copy.getChild("request", RECEIPTS_NS)) copy.append(xml("request", { xmlns: RECEIPTS_NS }));
  return copy;
}

/** The `<error/>` child of an error stanza (RFC 6120 §8.3.2). */
export function errorElement(
  type: StanzaErrorType,
  condition: StanzaErrorCondition,
  text?: string,
): Element {
  const error = xml("error", { type }, xml(condition, { xmlns: STANZAS_NS }));
  if (text !== undefined) error.append(xml("text", { xmlns: STANZAS_NS }, text));
  return error;
}

/**
 * RFC 6120 §8.3 error reply to `original`: same element name and id, to/from swapped,
 * `type='error'`. The original payload is not echoed back (RFC 6120 makes it optional), so an
 * oversized or private body is not reflected to its sender. Never answers an error (§8.3.1).
 */
export function stanzaError(
  original: Element,
  type: StanzaErrorType,
  condition: StanzaErrorCondition,
  text?: string,
): Element {
  if (attr(original, "type") === "error") throw new TypeError("never answer an error stanza");
  const error = errorElement(type, condition, text);
  const swapped = { to: attr(original, "from"), from: attr(original, "to") };
  return xml(original.name, { ...swapped, id: attr(original, "id"), type: "error" }, error);
}

export type PresenceShow = "away" | "chat" | "dnd" | "xa";

export interface PresenceOptions {
  show?: PresenceShow;
  status?: string;
  /** -128..127 (RFC 6121 §4.7.2.3); negative keeps bare-JID messages away from this resource. */
  priority?: number;
}

/** Available presence (broadcast by the server to the roster). */
export function presence(options: PresenceOptions = {}): Element {
  const kids: Element[] = [];
  if (options.show !== undefined) kids.push(xml("show", {}, options.show));
  if (options.status !== undefined) kids.push(xml("status", {}, options.status));
  if (options.priority !== undefined) {
    const p = options.priority;
    if (!Number.isInteger(p) || p < -128 || p > 127) throw new RangeError(`priority ${p}`);
    kids.push(xml("priority", {}, String(p)));
  }
  return xml("presence", {}, ...kids);
}

/** Answer to a `<presence type='subscribe'>`: approve or deny (RFC 6121 §3.1.4). */
export function subscriptionAnswer(to: string, approve: boolean): Element {
  return xml("presence", { to, type: approve ? "subscribed" : "unsubscribed" });
}
