/**
 * Chat subscribers against a real Prosody, with no subscriber in the configuration: readings
 * wait in the outbox while nobody is subscribed and reach the first who subscribes, and a chat
 * subscription outlives a restart of the agent.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import type { Element } from "../../src/xmpp/client.js";
import { parseReadingIds, SENSORDATA_NS } from "../../src/xmpp/sensordata.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { until } from "../support/wait.js";
import { isChatFrom, startPeer, type Peer } from "../support/xmpp-peer.js";

const AGENT = "agent@localhost";
const PASSWORD = "viewer-secret-1";

let server: ProsodyServer;
let viewer: Peer;
const dirs: string[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  server = await startProsody();
  await server.register("agent", "agent-secret");
  await server.register("viewer", PASSWORD);
  await server.start();
  viewer = await startPeer(server, "viewer", PASSWORD, await readFile(server.caFile, "utf8"));
}, 60_000);

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
});

afterAll(async () => {
  await viewer?.stop();
  await server?.destroy();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** An agent whose only possible telemetry recipients are chat subscribers. */
async function startAgent(dir: string): Promise<Agent> {
  const file = join(dir, "agent.yaml");
  await writeFile(
    file,
    `xmpp: { service: ${server.service}, domain: localhost, username: agent, password: { env: P }, tls: { caFile: ${server.caFile} } }
device: { port: ${join(dir, "ttySUB")}, emulate: true }
access: { allow: [ { jid: viewer@localhost, role: viewer } ] }
outbox: { dir: ${join(dir, "outbox")} }
`,
    { mode: 0o600 },
  );
  const loaded = await loadConfig(file, { P: "agent-secret" });
  const agent = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    log: createLogger({ level: "silent" }),
    emulatorRateHz: 10,
  });
  agents.push(agent);
  return agent;
}

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "iot-agent-subs-"));
  dirs.push(dir);
  return dir;
}

let asked = 0;
/** To the agent's full JID: a message to the bare one may race the new session's presence. */
async function ask(agent: Agent, text: string): Promise<string> {
  const id = `subs-${++asked}`;
  const reply = viewer.next(
    (s) => isChatFrom(AGENT)(s) && s.getChild("reply", "urn:xmpp:reply:0")?.attrs.id === id,
  );
  await viewer.send(agent.xmpp.jid ?? AGENT, text, { id });
  return (await reply).getChildText("body") ?? "";
}

const isTelemetry = (s: Element) =>
  s.is("message") &&
  String(s.attrs.from).startsWith(AGENT) &&
  !!s.getChild("fields", SENSORDATA_NS);

/** Device seqs of the telemetry the viewer received from `boot`. */
const receivedSeqs = (boot: string | undefined) =>
  new Set(
    viewer.received
      .filter(isTelemetry)
      .flatMap((m) => parseReadingIds(m))
      .filter((id) => id.boot === boot)
      .map((id) => id.seq),
  );

describe("chat subscribers", () => {
  it("with nobody subscribed, readings wait in the outbox and reach the first subscriber", async () => {
    const agent = await startAgent(await folder());
    const seqs: number[] = [];
    agent.link.on("reading", (r) => seqs.push(r.seq));
    const xmpp = () => agent.status().sinks.xmpp!;
    await until(() => xmpp().pending >= 10, "readings pending with no recipient");
    expect(xmpp().relay.delivered).toBe(0);
    expect(receivedSeqs(agent.link.device?.boot).size).toBe(0);
    const waited = seqs.slice(0, 10);
    console.log(`before subscribing: ${xmpp().pending} readings pending, 0 delivered`);

    expect(await ask(agent, "subscribe")).toMatch(/^subscribed: /);
    await until(
      () => waited.every((s) => receivedSeqs(agent.link.device?.boot).has(s)),
      "the readings that waited, at the subscriber",
      20_000,
    );
    // They went out as a backlog (late, with their time), and the server confirmed them.
    await until(() => xmpp().relay.replayed >= waited.length, "the backlog confirmed");
    await until(() => xmpp().pending < 5, "the outbox emptied");
    expect(await ask(agent, "unsubscribe")).toMatch(/^unsubscribed: /);
  }, 60_000);

  it("keeps a chat subscription across a restart of the agent", async () => {
    const dir = await folder();
    const first = await startAgent(dir);
    expect(await ask(first, "subscribe")).toMatch(/^subscribed: /);
    await until(() => receivedSeqs(first.link.device?.boot).size > 0, "telemetry before");
    await first.stop();
    agents.splice(agents.indexOf(first), 1);

    const second = await startAgent(dir);
    const sentBefore = viewer.received.filter(isTelemetry).length;
    await until(
      () => viewer.received.filter(isTelemetry).length > sentBefore + 3,
      "telemetry after the restart",
      20_000,
    );
    const latest = viewer.received.filter(isTelemetry).at(-1)!;
    expect(latest.attrs.type).toBe("chat");
    expect(second.status().sinks.xmpp!.relay.delivered).toBeGreaterThan(3);
    expect(await ask(second, "unsubscribe")).toMatch(/^unsubscribed: /);
  }, 60_000);
});
