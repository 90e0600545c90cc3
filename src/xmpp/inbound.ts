/**
 * Pure classification of incoming `<message>` stanzas: what the agent should do with each one,
 * decided from the XML alone. Authorization (is this JID allowed to command?) is the caller's
 * job; this module only says what a stanza is.
 *
 * Oversized bodies get their own kind rather than "ignored": "ignored" means nothing is owed to
 * the sender (copies, group chat, empty bodies), while an oversized command was addressed to us
 * and refused, so an authorized sender deserves a `policy-violation` (type modify, RFC 6120
 * §8.3.3.12) error instead of silence. The body is not returned, so it cannot leak into logs.
 */
import type { Element } from "@xmpp/xml";
import {
  RECEIPTS_NS,
  STANZA_ERROR_CONDITIONS,
  STANZA_ERROR_TYPES,
  STANZAS_NS,
  type StanzaErrorCondition,
  type StanzaErrorType,
} from "./stanzas.js";

export const CARBONS_NS = "urn:xmpp:carbons:2";
export const FORWARD_NS = "urn:xmpp:forward:0";
export const MAM_NS = "urn:xmpp:mam:2";
/** Generous for chat commands, small enough that nobody pastes a file into the device. */
export const MAX_BODY_CHARS = 4096;

export type IgnoreReason =
  | "not a message"
  | "no from"
  | "carbon copy"
  | "forwarded copy"
  | "archived copy"
  | "groupchat"
  | "headline"
  | "empty body"
  | "malformed error"
  | "receipt without id";

export type InboundMessage =
  | {
      kind: "chat";
      from: string;
      id?: string;
      /** Trimmed. */
      body: string;
      thread?: string;
      /** XEP-0184 `<request/>` with an id to echo: answer with receiptFor(). */
      wantsReceipt: boolean;
    }
  | { kind: "oversized"; from: string; id?: string; thread?: string; length: number; limit: number }
  | {
      kind: "error";
      from: string;
      id?: string;
      errorType: StanzaErrorType;
      condition: StanzaErrorCondition;
      text?: string;
    }
  | { kind: "receipt"; from: string; id: string }
  | { kind: "ignored"; reason: IgnoreReason };

export interface ClassifyOptions {
  /** Longest accepted body in Unicode code points (default MAX_BODY_CHARS). */
  maxBody?: number;
}

function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

function isOneOf<T extends string>(list: readonly T[], value: string | undefined): value is T {
  return (list as readonly (string | undefined)[]).includes(value);
}

/** Length in code points, which is what a person counts as characters (emoji count once). */
function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** `{ key: value }`, or `{}` when the value is absent, so results carry no undefined keys. */
function opt<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}

export interface ParsedStanzaError {
  errorType: StanzaErrorType;
  condition: StanzaErrorCondition;
  text?: string;
}

/** The `<error/>` child of an error stanza (RFC 6120 §8.3); undefined when it is malformed. */
export function parseStanzaError(error: Element | undefined): ParsedStanzaError | undefined {
  const errorType = error && attr(error, "type");
  if (!error || !isOneOf(STANZA_ERROR_TYPES, errorType)) return undefined;
  const defined = error.getChildElements().filter((c) => c.getNS() === STANZAS_NS);
  const named = defined.find((c) => c.name !== "text")?.name;
  // An unknown or missing condition is, by RFC 6120's own rule, undefined-condition.
  const condition = isOneOf(STANZA_ERROR_CONDITIONS, named) ? named : "undefined-condition";
  const text = defined.find((c) => c.name === "text")?.getText();
  return { errorType, condition, ...opt("text", text) };
}

function parseError(stanza: Element, from: string, id: string | undefined): InboundMessage {
  const error = parseStanzaError(stanza.getChild("error"));
  if (!error) return { kind: "ignored", reason: "malformed error" };
  return { kind: "error", from, ...opt("id", id), ...error };
}

/** The body in the stanza's own namespace, preferring the one without xml:lang. */
function bodyOf(stanza: Element): string | undefined {
  const ns = stanza.getNS();
  const bodies = stanza.getChildren("body").filter((b) => b.getNS() === ns);
  return (bodies.find((b) => attr(b, "xml:lang") === undefined) ?? bodies[0])?.getText();
}

export function classifyInbound(stanza: Element, options: ClassifyOptions = {}): InboundMessage {
  if (!stanza.is("message")) return { kind: "ignored", reason: "not a message" };
  const from = attr(stanza, "from");
  // Without a from we cannot authorize or answer (the server omits it only for itself).
  if (!from) return { kind: "ignored", reason: "no from" };
  // Copies of conversations held elsewhere: acting on them would run a command twice, or run
  // one the account owner sent to somebody else.
  if (stanza.getChild("sent", CARBONS_NS) || stanza.getChild("received", CARBONS_NS)) {
    return { kind: "ignored", reason: "carbon copy" };
  }
  if (stanza.getChild("forwarded", FORWARD_NS))
    return { kind: "ignored", reason: "forwarded copy" };
  if (stanza.getChild("result", MAM_NS)) return { kind: "ignored", reason: "archived copy" };

  const id = attr(stanza, "id");
  const type = attr(stanza, "type") ?? "normal";
  if (type === "error") return parseError(stanza, from, id);

  const received = stanza.getChild("received", RECEIPTS_NS);
  if (received) {
    // Early XEP-0184 drafts acked with the message id instead of an id attribute.
    const acked = attr(received, "id") ?? id;
    return acked
      ? { kind: "receipt", from, id: acked }
      : { kind: "ignored", reason: "receipt without id" };
  }
  if (type === "groupchat") return { kind: "ignored", reason: "groupchat" };
  if (type === "headline") return { kind: "ignored", reason: "headline" };
  // Any other type (chat, normal, unknown) is treated as normal, as RFC 6121 §5.2.2 requires.

  const raw = bodyOf(stanza) ?? "";
  const thread = stanza.getChildText("thread") ?? undefined;
  const limit = options.maxBody ?? MAX_BODY_CHARS;
  // UTF-16 length bounds the code point count from above, so short bodies skip the count.
  const length = raw.length > limit ? codePoints(raw) : raw.length;
  if (length > limit) {
    return { kind: "oversized", from, ...opt("id", id), ...opt("thread", thread), length, limit };
  }
  const body = raw.trim();
  if (body === "") return { kind: "ignored", reason: "empty body" };
  const wantsReceipt = !!id && stanza.getChild("request", RECEIPTS_NS) !== undefined;
  return { kind: "chat", from, ...opt("id", id), body, ...opt("thread", thread), wantsReceipt };
}
