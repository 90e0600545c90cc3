/**
 * Presence: what the agent announces, and who may see it.
 *
 * Subscriptions (RFC 6121 §3). Who may see the agent's presence is decided by the same
 * allow-list that decides who may command it: an allow-listed JID that asks is approved and
 * subscribed back (so presence is mutual and the agent can tell when its operators are around),
 * anyone else is refused. The decision is a pure function so it can be audited and tested apart
 * from the connection that carries out its replies.
 */
import { jid, xml, type Element } from "./client.js";
import { capsElement } from "./disco.js";

export type SubscriptionDecision =
  | { kind: "approve"; from: string; replies: Element[] }
  | { kind: "refuse"; from: string; replies: Element[] }
  | { kind: "ignore" };

/** A decision about an actual request: what callers log and audit. */
export type SubscriptionAudit = Exclude<SubscriptionDecision, { kind: "ignore" }>;

/** Bare JID of a stanza's sender, or undefined when it is absent or malformed. */
export function senderBareJid(stanza: Element): string | undefined {
  const from = stanza.attrs.from as unknown;
  if (typeof from !== "string" || from === "") return undefined;
  try {
    return jid(from).bare().toString();
  } catch {
    return undefined;
  }
}

/** What to do with an incoming stanza if it is a subscription request; `ignore` otherwise. */
export function handleSubscription(
  stanza: Element,
  isAllowed: (bareJid: string) => boolean,
): SubscriptionDecision {
  if (!stanza.is("presence") || stanza.attrs.type !== "subscribe") return { kind: "ignore" };
  const from = senderBareJid(stanza);
  if (from === undefined) return { kind: "ignore" };
  if (!isAllowed(from)) {
    return { kind: "refuse", from, replies: [xml("presence", { to: from, type: "unsubscribed" })] };
  }
  return {
    kind: "approve",
    from,
    replies: [
      xml("presence", { to: from, type: "subscribed" }),
      // Asking back makes the subscription mutual (RFC 6121 §3.1.2: a no-op when already subscribed).
      xml("presence", { to: from, type: "subscribe" }),
    ],
  };
}

export interface Presence {
  /** RFC 6121 `<show/>`: away, chat, dnd, xa; absent means available. */
  show?: string;
  status: string;
}

/**
 * The agent's available presence; sent on every (re)connect and on status changes. It carries
 * the XEP-0115 capabilities hash, so clients learn what the agent supports without asking.
 */
export function presenceStanza({ show, status }: Presence): Element {
  const children = [xml("status", {}, status), capsElement()];
  if (show) children.unshift(xml("show", {}, show));
  return xml("presence", {}, ...children);
}
