/**
 * Does a stanza nested 10,000 deep reach the agent through a real Prosody, and what then?
 * Prosody bounds stanzas by size (c2s_stanza_size_limit, 256 KiB once authenticated), not by
 * depth: `<x>` ten thousand times is 70 kB and passes. xmpp.js parses it without recursion and
 * classifyInbound looks at direct children only, so the agent classifies it; only ltx's
 * toString() recurses, which the agent never calls on inbound stanzas.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createXmppClient, xml, type Element, type XmppClient } from "../../src/xmpp/client.js";
import { classifyInbound } from "../../src/xmpp/inbound.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";

const PASSWORD = "fuzzpass";

async function login(server: ProsodyServer, username: string, caPem: string): Promise<XmppClient> {
  const client = createXmppClient({
    service: server.service,
    domain: server.domain,
    username,
    password: PASSWORD,
    resource: "r",
    caPem,
  });
  client.entity.on("error", () => undefined);
  await client.entity.start();
  await client.entity.send(xml("presence"));
  return client;
}

function nested(depth: number, to: string, body: string): string {
  return (
    `<message to='${to}' type='chat' id='deep${depth}'><body>${body}</body>` +
    `<x xmlns='urn:example:deep'>${"<x>".repeat(depth - 1)}` +
    `${"</x>".repeat(depth)}</message>`
  );
}

describe("deeply nested stanza through Prosody", () => {
  let server: ProsodyServer;
  let agent: XmppClient;
  let sender: XmppClient;
  const received: Element[] = [];

  beforeAll(async () => {
    server = await startProsody();
    await server.register("agent", PASSWORD);
    await server.register("sender", PASSWORD);
    await server.start();
    const caPem = await readFile(server.caFile, "utf8");
    agent = await login(server, "agent", caPem);
    agent.entity.on("stanza", (s: Element) => {
      if (s.is("message")) received.push(s);
    });
    sender = await login(server, "sender", caPem);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([agent, sender].map((c) => c?.entity.stop().catch(() => undefined)));
    await server?.destroy();
  });

  it("depth 10,000 is delivered, classified, and only ltx's toString() would overflow", async () => {
    const to = `agent@${server.domain}`;
    // Written raw: xmpp.js's own serializer (ltx toString) could not write this element.
    await sender.entity.write(nested(10_000, to, "status"));
    const deadline = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(1);
    const stanza = received[0] as Element;
    expect(classifyInbound(stanza)).toMatchObject({ kind: "chat", body: "status" });
    expect(() => stanza.toString()).toThrow(RangeError);
  });

  it("a stanza over Prosody's 256 KiB limit never reaches the agent", async () => {
    const to = `agent@${server.domain}`;
    const before = received.length;
    const closed = new Promise<void>((resolve) =>
      sender.entity.once("disconnect", () => resolve()),
    );
    await sender.entity.write(nested(40_000, to, "status"));
    await closed;
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(before);
  });
});
