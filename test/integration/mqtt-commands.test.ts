/**
 * Commands on MQTT set topics against a real Mosquitto and a real Prosody: off unless the
 * configuration has an `mqtt.commands` section, never taken from a retained message (at start or
 * after a broker restart), and held to the same rate limit and role gate as chat commands.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { until } from "../support/wait.js";

const DEVICE = "envnode-emu";
const PASSWORD = "agent-pw-mqttcmd";

let prosody: ProsodyServer;
let broker: MosquittoBroker;
let dir: string;
let agent: Agent | undefined;
let client: MqttClient;
const seen: Array<{ topic: string; payload: string }> = [];
let users = 0;

beforeAll(async () => {
  prosody = await startProsody();
  for (let i = 1; i <= 5; i += 1) await prosody.register(`cmd${i}`, PASSWORD);
  await prosody.start();
  // Persistence keeps the retained command across the broker restart, as a production broker does.
  broker = await startMosquitto({ persistence: true });
  await broker.start();
  dir = await mkdtemp(join(tmpdir(), "iot-mqtt-commands-"));
  client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 300 });
  client.on("message", (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  await client.subscribeAsync(["+/+/error", "+/+/availability"], { qos: 1 });
}, 60_000);

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

afterAll(async () => {
  await client?.endAsync();
  await broker?.destroy();
  await prosody?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** An agent on its own base topic, with `extra` (indented) inside its `mqtt:` section. */
async function startAgent(base: string, extra = "", rateLimit = "") {
  users += 1;
  const user = `cmd${users}`;
  const file = join(dir, `${user}.yaml`);
  await writeFile(
    file,
    `xmpp:
  service: ${prosody.service}
  domain: localhost
  username: ${user}
  password: { env: P }
  tls: { caFile: ${prosody.caFile} }
device: { port: ${join(dir, `tty-${user}`)}, emulate: true }
access: { allow: [{ jid: owner@localhost, role: admin }]${rateLimit} }
outbox: { dir: ${join(dir, `outbox-${user}`)} }
mqtt:
  url: ${broker.url}
  tls: { allowPlaintext: true }
  clientId: ${user}
  baseTopic: ${base}
  discovery: { enabled: false }
${extra}`,
    { mode: 0o600 },
  );
  const loaded = await loadConfig(file, { P: PASSWORD });
  agent = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    log: createLogger({ level: "silent" }),
  });
  const started = agent;
  await until(() => started.status().device.state === "online", "the device online");
  await until(() => mqttStats(started).connects > 0, "the agent on the broker");
  return started;
}

/** The bridge's counters, as status reports them. */
function mqttStats(a: Agent): { connects: number; refused: number; retainedIgnored: number } {
  const stats = a.status().sinks.mqtt?.transport as Partial<ReturnType<typeof mqttStats>>;
  return { connects: 0, refused: 0, retainedIgnored: 0, ...stats };
}

const relay = (a: Agent) => a.emulator?.status().actuators.relay;
const mqttCount = (a: Agent, result: string, reason?: string) =>
  a
    .status()
    .commands.filter((c) => c.transport === "mqtt" && c.result === result && c.reason === reason)
    .reduce((n, c) => n + c.count, 0);

/** Commands that ended: run (done or failed) or refused by the limiter. */
const handled = (a: Agent) =>
  mqttCount(a, "done") + mqttCount(a, "failed") + mqttCount(a, "refused", "rate-limited");

/**
 * A refused command on `base` answers on the error topic after everything published before it
 * was handled, so seeing its answer means the agent has been through what came first.
 */
async function drained(base: string): Promise<void> {
  const mark = seen.length;
  await client.publishAsync(`${base}/other-node/relay/set`, "on", { qos: 1 });
  await until(
    () => seen.slice(mark).some((m) => m.topic === `${base}/other-node/error`),
    "the agent to answer a command after the ones before it",
  );
}

describe("MQTT commands", () => {
  it("are off without an mqtt.commands section: a set does nothing and is counted refused", async () => {
    const a = await startAgent("cmd-off");
    const before = relay(a);
    for (const value of ["on", "off", "on"]) {
      await client.publishAsync(`cmd-off/${DEVICE}/relay/set`, value, { qos: 1 });
    }
    await until(() => mqttStats(a).refused >= 3, "three refused commands");
    expect(relay(a)).toBe(before);
    expect(mqttStats(a).refused).toBe(3);
    expect(mqttCount(a, "done")).toBe(0);
    expect(seen.some((m) => m.topic === `cmd-off/${DEVICE}/error`)).toBe(false);
  }, 60_000);

  it("never act on a retained set, at start or after a broker restart", async () => {
    const base = "cmd-retained";
    await client.publishAsync(`${base}/${DEVICE}/relay/set`, "on", { qos: 1, retain: true });
    try {
      const a = await startAgent(base, "  commands: { role: operator, actuators: [relay] }\n");
      await drained(base);
      expect(relay(a)).toBe("0");
      const connects = mqttStats(a).connects;
      await broker.stop();
      await broker.start();
      await until(() => mqttStats(a).connects > connects, "the agent back on the broker", 30_000);
      await drained(base);
      expect(relay(a)).toBe("0");
      expect(mqttCount(a, "done")).toBe(0);
      // A live command still works: only the replays are refused.
      await client.publishAsync(`${base}/${DEVICE}/relay/set`, "on", { qos: 1 });
      await until(() => relay(a) === "1", "the relay on by a live command");
    } finally {
      await client.publishAsync(`${base}/${DEVICE}/relay/set`, "", { qos: 1, retain: true });
    }
  }, 90_000);

  it("take only the listed actuators", async () => {
    const a = await startAgent("cmd-list", "  commands: { role: operator, actuators: [relay] }\n");
    await client.publishAsync(`cmd-list/${DEVICE}/led/set`, "on", { qos: 1 });
    await until(() => mqttCount(a, "refused", "invalid") === 1, "the led refused");
    expect(a.emulator?.status().actuators.led).not.toBe("on");
    await client.publishAsync(`cmd-list/${DEVICE}/relay/set`, "on", { qos: 1 });
    await until(() => relay(a) === "1", "the relay on");
  }, 60_000);

  it("are held to the per-sender rate limit chat commands have", async () => {
    const limit = ", rateLimit: { commands: 3, perSeconds: 3600 }";
    const commands = "  commands: { role: operator, actuators: [relay] }\n";
    const a = await startAgent("cmd-rate", commands, limit);
    for (let i = 0; i < 10; i += 1) {
      await client.publishAsync(`cmd-rate/${DEVICE}/relay/set`, i % 2 ? "off" : "on", { qos: 1 });
    }
    await until(() => handled(a) >= 10, "ten commands handled", 30_000);
    expect(mqttCount(a, "refused", "rate-limited")).toBe(7);
    expect(handled(a) - mqttCount(a, "refused", "rate-limited")).toBe(3);
  }, 60_000);

  it("go through the role gate: a configured viewer role may not set", async () => {
    const a = await startAgent("cmd-view", "  commands: { role: viewer, actuators: [relay] }\n");
    await client.publishAsync(`cmd-view/${DEVICE}/relay/set`, "on", { qos: 1 });
    const error = () => seen.find((m) => m.topic === `cmd-view/${DEVICE}/error`);
    await until(() => error() !== undefined, "the refusal on the error topic");
    expect(mqttCount(a, "refused", "forbidden")).toBe(1);
    expect(error()?.payload).toContain("set needs the operator role (yours is viewer)");
    expect(relay(a)).toBe("0");
  }, 60_000);
});
