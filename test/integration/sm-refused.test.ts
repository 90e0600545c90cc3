/**
 * A server that offers stream management (XEP-0198) and then answers `<enable/>` with
 * `<failed/>` (test/support/prosody.ts refuseStreamManagement, on a real Prosody). The stanzas
 * sent while the answer was on its way would wait for acks that never come.
 */
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { settlesWithin } from "../../src/core/within.js";
import { xml } from "../../src/xmpp/client.js";
import { UnconfirmedStanzaError, XmppConnection } from "../../src/xmpp/connection.js";
import { refuseStreamManagement, startProsody, type ProsodyServer } from "../support/prosody.js";
import { startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let server: ProsodyServer;
let alice: Peer;

beforeAll(async () => {
  server = await startProsody();
  await refuseStreamManagement(server);
  await server.register("agent", "agent-pw");
  await server.register("alice", "alice-pw");
  await server.start();
  alice = await startPeer(server, "alice", "alice-pw", await readFile(server.caFile, "utf8"));
});

afterAll(async () => {
  await alice?.stop();
  await server?.destroy();
});

describe("a server that refuses stream management", () => {
  it("fails the stanzas queued for acks, warns once, and says readings leave on write", async () => {
    const lines: string[] = [];
    const connection = new XmppConnection({
      service: server.service,
      domain: server.domain,
      username: "agent",
      password: "agent-pw",
      resource: "pi",
      caPem: await readFile(server.caFile, "utf8"),
      reconnect: { initialMs: 200, maxMs: 2_000 },
      log: pino({ level: "info" }, { write: (line: string) => void lines.push(line) }),
      presence: () => ({ status: "relaying readings" }),
    });
    const message = (n: number) =>
      xml("message", { to: "alice@localhost", type: "chat" }, xml("body", {}, `reading ${n}`));
    const early: Promise<unknown>[] = [];
    connection.on("online", () => {
      // Sent before the server's <failed/>: queued for acks by stream management.
      for (const n of [1, 2, 3])
        early.push(connection.sendAcked(message(n)).catch((e: unknown) => e));
    });
    try {
      await connection.start();
      expect(await settlesWithin(Promise.all(early), 10_000)).toBe(true);
      for (const outcome of await Promise.all(early)) {
        expect(outcome).toBeInstanceOf(UnconfirmedStanzaError);
      }
      expect(connection.serverAcks).toBe(false);
      // From now on a stanza is done when written.
      expect(await settlesWithin(connection.sendAcked(message(4)), 5_000)).toBe(true);
      await until(() => alice.received.some((s) => s.getChildText("body") === "reading 4"), "4");
      const warnings = lines.filter((l) => l.includes("refused stream management"));
      expect(warnings).toHaveLength(1);
      // The same session throughout: no <r/> went out before the server's answer.
      expect(lines.filter((l) => l.includes("xmpp connection lost"))).toEqual([]);
    } finally {
      await connection.stop();
    }
  });
});
