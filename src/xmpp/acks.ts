/**
 * Per-stanza confirmations from XEP-0198 stream management. The server's `<a h=…/>` counts the
 * stanzas it handled; xmpp.js turns that into one `ack` (or, when the stream ends first, one
 * `fail`) per stanza sent, and this maps each back to whoever is waiting for it.
 */
import type { Element } from "@xmpp/xml";

/** The stream ended before the server confirmed a stanza: it may or may not have arrived. */
export class UnconfirmedStanzaError extends Error {
  override readonly name = "UnconfirmedStanzaError";
  constructor(reason: string) {
    super(`the server did not confirm the stanza: ${reason}`);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class AckTracker {
  readonly #waiting = new Map<Element, Waiter>();

  /** Resolves on confirmed(stanza), rejects on failed(stanza) or failAll(). Call before sending. */
  track(stanza: Element): Promise<void> {
    return new Promise((resolve, reject) => this.#waiting.set(stanza, { resolve, reject }));
  }

  confirmed(stanza: Element): void {
    this.#take(stanza)?.resolve();
  }

  failed(stanza: Element, reason: string): void {
    this.#take(stanza)?.reject(new UnconfirmedStanzaError(reason));
  }

  failAll(reason: string): void {
    for (const stanza of [...this.#waiting.keys()]) this.failed(stanza, reason);
  }

  #take(stanza: Element): Waiter | undefined {
    const waiter = this.#waiting.get(stanza);
    this.#waiting.delete(stanza);
    return waiter;
  }
}
