/**
 * The ways a person can ask the agent to do something over XMPP, each driven with a real client
 * and reduced to what the sender saw: an answer, a refusal naming a role, a `forbidden` error,
 * or nothing at all. The authorization matrix test runs every sender through each of them.
 */
import { xml, type Element } from "../../src/xmpp/client.js";
import type { Peer } from "./xmpp-peer.js";

export const COMMANDS_NS = "http://jabber.org/protocol/commands";
export const CONTROL_NS = "urn:xmpp:iot:control";
const REPLY_NS = "urn:xmpp:reply:0";
const STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const DATA_FORMS_NS = "jabber:x:data";

/** What came back to the sender. */
export type Reply =
  | "answer"
  | "role-refusal"
  | "forbidden"
  | "other-error"
  | "none"
  /** The agent never saw the message (the server dropped it): such a cell proves nothing. */
  | "not-delivered";

export interface Seen {
  reply: Reply;
  /** The reply's text or error condition, for the table. */
  detail: string;
}

let counter = 0;
export const nextId = (prefix: string) => `${prefix}-${++counter}`;

/** The defined condition of an `<error/>` child, e.g. "forbidden". */
export function errorCondition(stanza: Element): string {
  const error = stanza.getChild("error");
  const named = error
    ?.getChildElements()
    .find((c) => c.getNS() === STANZAS_NS && c.name !== "text");
  return named?.name ?? "none";
}

/** A chat reply's body → Reply, by what the agent's wording promises (core/commands.ts). */
function classifyBody(body: string): Reply {
  return /needs the (viewer|operator|admin) role/.test(body) ? "role-refusal" : "answer";
}

/**
 * Runs `send` (which sends a message carrying `id`) and waits for the agent's answer to it: a
 * chat reply naming the id (XEP-0461) or an error stanza with the same id, reaching `peer`.
 * `quietMs` without either is "none".
 */
export async function awaitMessageReply(
  peer: Peer,
  id: string,
  send: () => Promise<unknown>,
  quietMs = 5_000,
): Promise<Seen> {
  const answered = peer
    .next(
      (s) =>
        s.is("message") &&
        (s.getChild("reply", REPLY_NS)?.attrs.id === id ||
          (s.attrs.type === "error" && s.attrs.id === id)),
      quietMs,
    )
    .catch(() => undefined);
  await send();
  const reply = await answered;
  if (!reply) return { reply: "none", detail: "no reply" };
  if (reply.attrs.type === "error") {
    const condition = errorCondition(reply);
    return { reply: condition === "forbidden" ? "forbidden" : "other-error", detail: condition };
  }
  const body = reply.getChildText("body") ?? "";
  return { reply: classifyBody(body), detail: body.split("\n")[0] ?? "" };
}

/** A chat command typed by `peer`, addressed to `to` (the agent, or its room nick). */
export function chatCommand(peer: Peer, to: string, text: string): Promise<Seen> {
  const id = nextId("chat");
  const stanza = xml("message", { to, type: "chat", id }, xml("body", {}, text));
  return awaitMessageReply(peer, id, () => peer.client.entity.send(stanza));
}

/** An IQ request's outcome: the result payload, or the error condition as a Reply. */
async function iq(peer: Peer, to: string, payload: Element): Promise<Element | Seen> {
  try {
    const result = await peer.client.iqCaller.request(xml("iq", { type: "set", to }, payload));
    return result;
  } catch (error) {
    const condition = (error as { condition?: unknown }).condition;
    if (condition === "forbidden") return { reply: "forbidden", detail: "forbidden" };
    const detail = typeof condition === "string" ? condition : (error as Error).message;
    return { reply: "other-error", detail };
  }
}

const submit = (fields: Record<string, string>) =>
  xml(
    "x",
    { xmlns: DATA_FORMS_NS, type: "submit" },
    ...Object.entries(fields).map(([v, value]) =>
      xml("field", { var: v }, xml("value", {}, value)),
    ),
  );

/** XEP-0050: execute `set`, choose the relay, submit the value; the final note is the answer. */
export async function adhocSetRelay(peer: Peer, agent: string, on: boolean): Promise<Seen> {
  const step = (attrs: Record<string, string>, ...form: Element[]) =>
    iq(peer, agent, xml("command", { xmlns: COMMANDS_NS, node: "set", ...attrs }, ...form));
  const first = await step({ action: "execute" });
  if (!("name" in first)) return first;
  const sessionid = String(first.getChild("command", COMMANDS_NS)?.attrs.sessionid);
  const second = await step({ sessionid, action: "next" }, submit({ actuator: "relay" }));
  if (!("name" in second)) return second;
  const last = await step({ sessionid, action: "complete" }, submit({ value: on ? "1" : "0" }));
  if (!("name" in last)) return last;
  const note = last.getChild("command", COMMANDS_NS)?.getChild("note");
  const text = note?.getText() ?? "";
  return note?.attrs.type === "info"
    ? { reply: classifyBody(text), detail: text }
    : { reply: "other-error", detail: text || "no note" };
}

/** XEP-0325 `<set>` of the relay; `setResponse OK` is the answer. */
export async function controlSetRelay(peer: Peer, agent: string, on: boolean): Promise<Seen> {
  const set = xml(
    "set",
    { xmlns: CONTROL_NS },
    xml("boolean", { name: "relay", value: on ? "true" : "false" }),
  );
  const result = await iq(peer, agent, set);
  if (!("name" in result)) return result;
  const code = String(result.getChild("setResponse", CONTROL_NS)?.attrs.responseCode ?? "");
  return code === "OK"
    ? { reply: "answer", detail: "setResponse OK" }
    : { reply: "other-error", detail: code };
}
