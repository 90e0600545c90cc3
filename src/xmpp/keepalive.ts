/**
 * XEP-0199 pings from the agent to its server. A NAT or a mobile link can drop a TCP connection
 * without either end hearing of it; the agent would then think itself online while its
 * readings pile up unconfirmed. A ping the server does not answer in time ends the session, and
 * the connection's reconnect logic takes over. Any answer, even an error, proves the link alive.
 */
import { xml, type Element } from "./client.js";
import { PING_NS } from "./disco.js";
import { IqErrorReply } from "./iq-requests.js";

export interface KeepaliveOptions {
  domain: string;
  intervalMs: number;
  timeoutMs: number;
  /** The server did not answer: close the session. */
  onDead: (reason: string) => void;
}

/** Sends an IQ and resolves with its answer (see XmppConnection). */
export type IqRequest = (iq: Element, timeoutMs: number) => Promise<Element>;

/** Starts pinging; returns the function that stops it. */
export function startKeepalive(request: IqRequest, options: KeepaliveOptions): () => void {
  let waiting = false;
  const timer = setInterval(() => {
    if (waiting) return;
    waiting = true;
    const ping = xml("iq", { type: "get", to: options.domain }, xml("ping", { xmlns: PING_NS }));
    request(ping, options.timeoutMs)
      .catch((error: unknown) => {
        // A stanza error is an answer; anything else (a timeout) means nobody is listening.
        if (error instanceof IqErrorReply) return;
        const why = error instanceof Error ? error.message : String(error);
        clearInterval(timer); // once: the session is being closed
        options.onDead(`no answer to a ping within ${options.timeoutMs} ms (${why})`);
      })
      .finally(() => (waiting = false));
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
