/**
 * A person or service on the other end of the agent, for integration tests: a client built by
 * the agent's own factory (so the test CA is passed as an option), online with presence and
 * its roster fetched, plus a helper to await one matching stanza.
 */
import { createXmppClient, xml, type Element, type XmppClient } from "../../src/xmpp/client.js";
import type { ProsodyServer } from "./prosody.js";

export interface Peer {
  client: XmppClient;
  jid: string;
  send(to: string, body: string, extra?: Record<string, string>): Promise<void>;
  next(match: (s: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** Every stanza received so far. */
  received: Element[];
  stop(): Promise<void>;
}

export async function startPeer(
  server: ProsodyServer,
  username: string,
  password: string,
  caPem: string,
  resource = "test",
): Promise<Peer> {
  const client = createXmppClient({
    service: server.service,
    domain: server.domain,
    username,
    password,
    resource,
    caPem,
  });
  client.entity.on("error", () => undefined);
  const received: Element[] = [];
  client.entity.on("stanza", (s: Element) => void received.push(s));
  await client.entity.start();
  // Messages to a bare JID reach only a resource that sent available presence.
  await client.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }));
  // The server echoes our own presence once it has applied it; only then do messages to the
  // bare JID reach this resource.
  const self = String(client.entity.jid);
  const applied = new Promise<void>((resolve) => {
    const listener = (s: Element) => {
      if (!s.is("presence") || String(s.attrs.from) !== self) return;
      client.entity.off("stanza", listener);
      resolve();
    };
    client.entity.on("stanza", listener);
  });
  await client.entity.send(xml("presence"));
  await applied;
  let counter = 0;
  return {
    client,
    jid: `${username}@${server.domain}`,
    received,
    send: (to, body, extra = {}) =>
      client.entity.send(
        xml(
          "message",
          { to, type: "chat", id: `${username}-${++counter}`, ...extra },
          xml("body", {}, body),
        ),
      ),
    next: (match, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          client.entity.off("stanza", listener);
          reject(new Error(`${username}: expected stanza not received`));
        }, timeoutMs);
        const listener = (stanza: Element) => {
          if (!match(stanza)) return;
          clearTimeout(timer);
          client.entity.off("stanza", listener);
          resolve(stanza);
        };
        client.entity.on("stanza", listener);
      }),
    stop: async () => {
      await client.entity.stop().catch(() => undefined);
    },
  };
}

export const isChatFrom = (from: string) => (s: Element) =>
  s.is("message") &&
  String(s.attrs.from ?? "").startsWith(from) &&
  s.getChild("body") !== undefined;
