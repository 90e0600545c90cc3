/**
 * The IQ requests of one session, each settled only by the reply of the entity it was sent to.
 * xmpp.js's caller matches replies by id alone, with ids from Math.random: any contact who learns
 * or guesses an id could answer for the pubsub service. Here ids are random UUIDs, and a reply
 * counts only from the address asked (RFC 6120 §8.1.2.1: a reply on behalf of the account comes
 * from its bare JID or with no `from`, one from the server from its domain or with no `from`;
 * only the server can send a stanza without `from`). Every request ends: with the answer, on its
 * timeout, when its send fails, or when the session closes; nothing is left waiting unheard.
 */
import { randomUUID } from "node:crypto";
import type { Element } from "@xmpp/xml";
import { formatJid, parseJid } from "../core/jid.js";
import { parseStanzaError, type ParsedStanzaError } from "./inbound.js";

/** More than the relay windows (2 × 64 publishes) plus pings and the like. */
const MAX_PENDING = 256;

/** The entity asked answered with an error (RFC 6120 §8.3). */
export class IqErrorReply extends Error {
  override readonly name = "IqErrorReply";
  readonly errorType: ParsedStanzaError["errorType"];
  readonly condition: ParsedStanzaError["condition"];
  readonly text: string | undefined;
  constructor(
    readonly from: string,
    error: ParsedStanzaError,
    /** The `<error/>` element, for application-specific conditions. */
    readonly element: Element | undefined,
  ) {
    super(`${from} answered ${error.condition}${error.text ? ` (${error.text})` : ""}`);
    this.errorType = error.errorType;
    this.condition = error.condition;
    this.text = error.text;
  }
}

/** No answer in time, or the request could not be made. */
export class IqRequestError extends Error {
  override readonly name = "IqRequestError";
  constructor(
    readonly to: string,
    reason: string,
  ) {
    super(`IQ to ${to}: ${reason}`);
  }
}

export type RouteResult = "answered" | "wrong sender" | "not a reply";

interface Pending {
  /** Normalized address the answer must come from. */
  from: string;
  resolve: (reply: Element) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class IqRequests {
  readonly #pending = new Map<string, Pending>();
  readonly #account: string;
  readonly #domain: string;

  /** `account` is the session's bare JID. */
  constructor(account: string) {
    this.#account = normalize(account) ?? account;
    this.#domain = parseJid(this.#account)?.domain ?? this.#account;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Sends `iq` (a get or set) under a fresh id; resolves with the result, rejects otherwise. */
  request(iq: Element, send: (iq: Element) => Promise<void>, timeoutMs: number): Promise<Element> {
    const to = typeof iq.attrs.to === "string" ? iq.attrs.to : undefined;
    const from = to === undefined ? this.#account : normalize(to);
    const where = to ?? this.#account;
    if (from === undefined) return Promise.reject(new IqRequestError(where, "not a valid JID"));
    if (this.#pending.size >= MAX_PENDING) {
      return Promise.reject(new IqRequestError(where, `${MAX_PENDING} requests already waiting`));
    }
    const id = randomUUID();
    iq.attrs.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#take(id)?.reject(new IqRequestError(where, `no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref();
      this.#pending.set(id, { from, resolve, reject, timer });
      send(iq).catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.#take(id)?.reject(new IqRequestError(where, `not sent: ${reason}`));
      });
    });
  }

  /** Settles the request `stanza` answers, if it comes from the entity that was asked. */
  route(stanza: Element): RouteResult {
    const { type, id } = stanza.attrs;
    if (!stanza.is("iq") || (type !== "result" && type !== "error")) return "not a reply";
    const pending = typeof id === "string" ? this.#pending.get(id) : undefined;
    if (!pending) return "not a reply";
    const from = typeof stanza.attrs.from === "string" ? stanza.attrs.from : undefined;
    if (!this.#isFrom(pending.from, from)) return "wrong sender";
    this.#take(String(id));
    if (type === "result") {
      pending.resolve(stanza);
      return "answered";
    }
    const element = stanza.getChild("error");
    const parsed = parseStanzaError(element);
    pending.reject(
      new IqErrorReply(
        from ?? pending.from,
        parsed ?? { errorType: "cancel", condition: "undefined-condition" },
        element,
      ),
    );
    return "answered";
  }

  /** Rejects every request still waiting (the session ended). */
  failAll(error: Error): void {
    for (const id of [...this.#pending.keys()]) this.#take(id)?.reject(error);
  }

  #isFrom(expected: string, from: string | undefined): boolean {
    if (from === undefined) return expected === this.#account || expected === this.#domain;
    return normalize(from) === expected;
  }

  #take(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}

function normalize(address: string): string | undefined {
  const jid = parseJid(address);
  return jid && formatJid(jid);
}
