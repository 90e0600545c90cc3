/**
 * The abuse limits end to end, through a real Prosody to the emulated device on a pty: the
 * per-JID command rate limit (one sender's flood leaves everyone else served) and the cap on
 * device commands in flight (more than four at once are refused as busy, not queued without end).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import type { Element } from "../../src/xmpp/client.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { isChatFrom, startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";

const AGENT = "agent@localhost";
const PASSWORD = "abuse-peer-secret";
const RATE = 5;

let server: ProsodyServer;
let dir: string;
let agent: Agent;
const peers: Record<string, Peer> = {};

beforeAll(async () => {
  server = await startProsody();
  for (const user of ["chatty", "calm", "op1", "op2"]) await server.register(user, PASSWORD);
  await server.register("agent", "abuse-agent-secret");
  await server.start();
  dir = await mkdtemp(join(tmpdir(), "iot-agent-abuse-"));
  const file = join(dir, "agent.yaml");
  await writeFile(
    file,
    `xmpp:
  service: ${server.service}
  domain: localhost
  username: agent
  password: { env: P }
  tls: { caFile: ${server.caFile} }
device: { port: ${join(dir, "ttyABUSE")}, emulate: true, commandTimeoutSeconds: 2 }
outbox: { dir: ${join(dir, "outbox")} }
access:
  allow:
    - { jid: chatty@localhost, role: viewer }
    - { jid: calm@localhost, role: viewer }
    - { jid: op1@localhost, role: operator }
    - { jid: op2@localhost, role: operator }
  rateLimit: { commands: ${RATE}, perSeconds: 60 }
`,
    { mode: 0o600 },
  );
  const loaded = await loadConfig(file, { P: "abuse-agent-secret" });
  agent = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    log: createLogger({ level: "silent" }),
  });
  const caPem = await readFile(server.caFile, "utf8");
  for (const user of ["chatty", "calm", "op1", "op2"]) {
    peers[user] = await startPeer(server, user, PASSWORD, caPem);
  }
  await until(() => agent.link.state === "online", "device online");
}, 30_000);

afterAll(async () => {
  for (const peer of Object.values(peers)) await peer.stop();
  await agent?.stop();
  await server?.destroy();
  await rm(dir, { recursive: true, force: true });
});

/** Every chat reply from the agent that `peer` receives within `ms`. */
async function repliesWithin(peer: Peer, ms: number): Promise<string[]> {
  const start = peer.received.length;
  await new Promise((r) => setTimeout(r, ms));
  return peer.received
    .slice(start)
    .filter(isChatFrom(AGENT))
    .map((s: Element) => s.getChildText("body") ?? "");
}

describe("abuse limits", () => {
  it("rate-limits one sender's flood and leaves everyone else served", async () => {
    const { chatty, calm } = peers;
    const collected = repliesWithin(chatty!, 3_000);
    for (let i = 0; i < RATE + 3; i++) await chatty!.send(AGENT, "ping");
    const replies = await collected;
    expect(replies.filter((r) => r === "pong")).toHaveLength(RATE);
    const limited = replies.filter((r) => /^Too many commands; try again in \d+ s\.$/.test(r));
    expect(limited).toHaveLength(3);
    // Per JID: another viewer is answered at once.
    const pong = calm!.next((s) => isChatFrom(AGENT)(s) && s.getChildText("body") === "pong");
    await calm!.send(AGENT, "ping");
    await pong;
  });

  it("refuses device commands beyond four in flight as busy, and the device serves again after", async () => {
    const { op1, op2 } = peers;
    // A device that takes its time: every command stays in flight until it times out (2 s).
    agent.emulator?.setCommandBehaviour({ ignoreCommands: true });
    const replies = Promise.all([repliesWithin(op1!, 4_000), repliesWithin(op2!, 4_000)]);
    for (let i = 0; i < 3; i++) {
      await op1!.send(AGENT, "set relay on");
      await op2!.send(AGENT, "set led blink");
    }
    const all = (await replies).flat();
    expect(all).toHaveLength(6);
    const busy = all.filter((r) => /^the device is busy \(.*\); try again in a moment$/.test(r));
    const timedOut = all.filter((r) => /may or may not have taken effect/.test(r));
    expect(busy).toHaveLength(2);
    expect(timedOut).toHaveLength(4);
    // Once the device answers again, so does the agent.
    agent.emulator?.setCommandBehaviour({ ignoreCommands: false });
    const done = op1!.next(
      (s) => isChatFrom(AGENT)(s) && /relay/.test(s.getChildText("body") ?? ""),
    );
    await op1!.send(AGENT, "set relay on");
    expect((await done).getChildText("body")).not.toMatch(/busy|may or may not/);
    expect(agent.emulator?.status().actuators.relay).toBe("1");
  });
});
