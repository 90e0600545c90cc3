/**
 * What the demo console prints for each stanza the owner receives: one short, timestamped line
 * per telemetry block, reply, alert or presence change of the agent. Pure, so the wording can be
 * read (and changed) without a server.
 */
import type { Element } from "@xmpp/xml";
import { bareJid } from "../core/jid.js";
import { classifyInbound } from "../xmpp/inbound.js";
import {
  formatDecimal,
  parseSensorDataFields,
  SENSORDATA_NS,
  type SensorDataValue,
} from "../xmpp/sensordata.js";
import { REPLY_NS } from "../xmpp/stanzas.js";

export type EventKind =
  "telemetry" | "agent" | "ALERT" | "RECOVERED" | "message" | "error" | "presence";

export interface ConsoleEvent {
  kind: EventKind;
  /** One printed line each; telemetry has one per reading in the message. */
  lines: string[];
}

const KIND_WIDTH = 11;

/** `14:02:11  telemetry  temp 21.3 °C · hum 40.2 %`; continuation lines are indented. */
export function formatEvent(event: ConsoleEvent, at: Date = new Date()): string {
  const time = at.toTimeString().slice(0, 8);
  const indent = " ".repeat(time.length + 2 + KIND_WIDTH);
  return event.lines
    .map((line, i) =>
      i === 0 ? `${time}  ${event.kind.padEnd(KIND_WIDTH)}${line}` : indent + line,
    )
    .join("\n");
}

function describeValue(v: SensorDataValue): string {
  if (typeof v.value === "boolean") return `${v.sensor} ${v.value ? "on" : "off"}`;
  if (typeof v.value === "string") return `${v.sensor} ${v.value}`;
  return `${v.sensor} ${formatDecimal(v.value)}${v.unit === undefined ? "" : ` ${v.unit}`}`;
}

/** The XEP-0323 payload, not the body: this is what a dashboard would read. */
function telemetryEvent(fields: Element): ConsoleEvent {
  try {
    const { blocks } = parseSensorDataFields(fields);
    const lines = blocks.map((b) => b.values.map(describeValue).join(" · ") || "(no values)");
    return { kind: "telemetry", lines: lines.length > 0 ? lines : ["(empty)"] };
  } catch (error) {
    return { kind: "telemetry", lines: [`unreadable payload: ${(error as Error).message}`] };
  }
}

function presenceEvent(stanza: Element, who: string): ConsoleEvent | undefined {
  const type = stanza.attrs.type as string | undefined;
  if (type === "unavailable") return { kind: "presence", lines: [`${who} is offline`] };
  if (type === "subscribed") {
    return { kind: "presence", lines: [`${who} lets you see its presence (device state)`] };
  }
  if (type !== undefined) return undefined;
  const show = stanza.getChildText("show") ?? "available";
  const status = stanza.getChildText("status");
  return { kind: "presence", lines: [`${who} is ${show}${status ? `: ${status}` : ""}`] };
}

function messageEvent(stanza: Element, agentJid: string): ConsoleEvent | undefined {
  const message = classifyInbound(stanza);
  if (message.kind === "error") {
    const text = message.text === undefined ? "" : `: ${message.text}`;
    return { kind: "error", lines: [`${message.condition}${text}`] };
  }
  if (message.kind !== "chat") return undefined;
  const lines = message.body.split("\n");
  if (bareJid(message.from) !== agentJid) {
    return { kind: "message", lines: [`${message.from}: ${lines[0] ?? ""}`, ...lines.slice(1)] };
  }
  // Replies quote our command (XEP-0461); alerts are unsolicited, with ids the agent numbers.
  if (stanza.getChild("reply", REPLY_NS)) return { kind: "agent", lines };
  if (message.id?.startsWith("alert-")) return alertEvent(message.body);
  return { kind: "agent", lines };
}

/** The agent words alerts `ALERT warm: ...` and `RECOVERED warm: ...`: the word becomes the kind. */
function alertEvent(body: string): ConsoleEvent {
  const match = /^(ALERT|RECOVERED) (.*)$/s.exec(body);
  if (!match) return { kind: "ALERT", lines: body.split("\n") };
  const kind = match[1] === "RECOVERED" ? "RECOVERED" : "ALERT";
  return { kind, lines: (match[2] ?? "").split("\n") };
}

/** What to print for `stanza`, or undefined when it is not worth a line (acks, roster...). */
export function describeStanza(stanza: Element, agentJid: string): ConsoleEvent | undefined {
  if (stanza.is("presence")) {
    const from = bareJid(String(stanza.attrs.from ?? ""));
    return from === agentJid ? presenceEvent(stanza, agentJid) : undefined;
  }
  if (!stanza.is("message")) return undefined;
  const fields = stanza.getChild("fields", SENSORDATA_NS);
  if (fields) return telemetryEvent(fields);
  return messageEvent(stanza, agentJid);
}
