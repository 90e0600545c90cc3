/**
 * The MQTT mirror against a real Mosquitto (TLS, with a password): telemetry, availability,
 * Home Assistant discovery, commands on set topics, catching up after a broker restart; and,
 * with `iot-agent run` as a process and a broker without auth, the last will on SIGKILL.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { until } from "../support/wait.js";

const BROKER_USER = { username: "agent", password: "mqtt-secret-9" };
const DEVICE = "envnode-emu";

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/**
 * A plain mqtt.js subscriber recording everything under the given filters. Its session persists
 * (clean: false), so what is published while it reconnects waits for it at the broker.
 */
async function subscriber(broker: MosquittoBroker, filters: string[], auth = true) {
  const ca = broker.caFile ? await readFile(broker.caFile) : undefined;
  const client = await mqtt.connectAsync(broker.url, {
    ...(auth ? BROKER_USER : {}),
    ...(ca ? { ca } : {}),
    clientId: `test-sub-${Math.random().toString(16).slice(2, 8)}`,
    clean: false,
    reconnectPeriod: 300,
  });
  const messages: Received[] = [];
  client.on("message", (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, messages };
}

const on = (messages: Received[], topic: string) => messages.filter((m) => m.topic === topic);

describe("MQTT mirror", () => {
  let prosody: ProsodyServer;
  let broker: MosquittoBroker;
  let dir: string;
  let agent: Agent;
  let sub: { client: MqttClient; messages: Received[] };
  /** The agent's clock starts unsynchronised, as on a board without a real-time clock. */
  let clockSynced = false;

  beforeAll(async () => {
    prosody = await startProsody();
    await prosody.register("agent", "agent-secret");
    await prosody.start();
    broker = await startMosquitto({ tls: true, auth: BROKER_USER, persistence: true });
    await broker.start();
    dir = await mkdtemp(join(tmpdir(), "iot-agent-mqtt-"));
    const file = join(dir, "agent.yaml");
    await writeFile(
      file,
      `xmpp:
  service: ${prosody.service}
  domain: localhost
  username: agent
  password: { env: AGENT_PASSWORD }
  tls: { caFile: ${prosody.caFile} }
device: { port: ${join(dir, "ttyMQTT")}, emulate: true }
outbox: { dir: ${join(dir, "outbox")} }
mqtt:
  url: ${broker.url}
  username: agent
  password: { env: MQTT_PASSWORD }
  tls: { caFile: ${broker.caFile} }
  commands: { role: operator, actuators: [relay] }
`,
      { mode: 0o600 },
    );
    const loaded = await loadConfig(file, {
      AGENT_PASSWORD: "agent-secret",
      MQTT_PASSWORD: BROKER_USER.password,
    });
    sub = await subscriber(broker, ["iot-agent/#", "homeassistant/#"]);
    agent = await Agent.start({
      config: loaded.config,
      password: loaded.password,
      ...(loaded.mqttPassword ? { mqttPassword: loaded.mqttPassword } : {}),
      log: createLogger({ level: "silent" }),
      emulatorRateHz: 10,
      clock: {
        now: () => Date.now(),
        monotonic: () => performance.now(),
        synchronized: () => clockSynced,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await sub?.client.endAsync();
    await broker?.destroy();
    await prosody?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("announces itself online and mirrors readings with QoS 1, retained per sensor", async () => {
    await until(() => on(sub.messages, `iot-agent/${DEVICE}/state`).length >= 3, "state messages");
    const availability = on(sub.messages, "iot-agent/iot-agent-agent/availability");
    expect(availability.at(-1)?.payload).toBe("online");
    const state = JSON.parse(on(sub.messages, `iot-agent/${DEVICE}/state`).at(-1)!.payload) as {
      device: string;
      seq: number;
      values: Record<string, unknown>;
    };
    expect(state.device).toBe(DEVICE);
    expect(typeof state.values.temp).toBe("number");
    const temp = on(sub.messages, `iot-agent/${DEVICE}/temp`).at(-1);
    expect(Number(temp?.payload)).toBeTypeOf("number");
    // A subscriber arriving now gets the latest value at once: it was retained.
    const late = await subscriber(broker, [`iot-agent/${DEVICE}/temp`]);
    await until(() => late.messages.length > 0, "the retained value");
    expect(late.messages[0]?.retain).toBe(true);
    await late.client.endAsync();
  });

  it("marks the states of readings taken before the clock was synchronised, and only those", async () => {
    const states = () =>
      on(sub.messages, `iot-agent/${DEVICE}/state`).map(
        (m) => JSON.parse(m.payload) as { seq: number; timeSynced?: boolean },
      );
    await until(() => states().some((s) => s.timeSynced === false), "an unsynchronised state");
    clockSynced = true;
    const before = states().length;
    await until(() => states().length >= before + 3, "states after the clock was synchronised");
    expect(states().at(-1)).not.toHaveProperty("timeSynced");
  });

  it("publishes Home Assistant discovery: controls only for actuators taking MQTT commands", async () => {
    await until(
      () => sub.messages.some((m) => m.topic.startsWith("homeassistant/switch/")),
      "discovery",
    );
    const config = (topic: string) => {
      const m = on(sub.messages, topic).at(-1);
      return m ? (JSON.parse(m.payload) as Record<string, unknown>) : undefined;
    };
    expect(config(`homeassistant/sensor/${DEVICE}/temp/config`)).toMatchObject({
      device_class: "temperature",
      unit_of_measurement: "°C",
      state_class: "measurement",
      state_topic: `iot-agent/${DEVICE}/temp`,
      availability_topic: "iot-agent/iot-agent-agent/availability",
      unique_id: `${DEVICE}_temp`,
    });
    expect(config(`homeassistant/switch/${DEVICE}/relay/config`)).toMatchObject({
      command_topic: `iot-agent/${DEVICE}/relay/set`,
      payload_on: "on",
    });
    // The led takes no commands over MQTT (not in mqtt.commands.actuators): a read-only sensor.
    expect(config(`homeassistant/select/${DEVICE}/led/config`)).toBeUndefined();
    const led = config(`homeassistant/sensor/${DEVICE}/led/config`);
    expect(led).toMatchObject({ state_topic: `iot-agent/${DEVICE}/led/state` });
    expect(led?.options).toEqual(expect.arrayContaining(["off", "on"]));
    expect(led).not.toHaveProperty("command_topic");
  });

  it("carries out a set from its topic, and publishes why a bad one was refused", async () => {
    await sub.client.publishAsync(`iot-agent/${DEVICE}/relay/set`, "on", { qos: 1 });
    await until(() => agent.emulator?.status().actuators.relay === "1", "relay on");
    await until(() => on(sub.messages, `iot-agent/${DEVICE}/relay/state`).length > 0, "state");
    expect(on(sub.messages, `iot-agent/${DEVICE}/relay/state`).at(-1)?.payload).toBe("true");
    await sub.client.publishAsync(`iot-agent/${DEVICE}/relay/set`, "maybe", { qos: 1 });
    await until(() => on(sub.messages, `iot-agent/${DEVICE}/error`).length > 0, "an error");
    const error = JSON.parse(on(sub.messages, `iot-agent/${DEVICE}/error`)[0]!.payload) as {
      error: string;
      payload: string;
    };
    expect(error.payload).toBe("maybe");
    expect(error.error).toMatch(/on\/off/);
    expect(agent.emulator?.status().actuators.relay).toBe("1");
  });

  it("catches up after a broker restart with nothing lost", async () => {
    const seqs: number[] = [];
    agent.link.on("reading", (r) => seqs.push(r.seq));
    await until(() => seqs.length >= 5, "readings");
    await broker.stop();
    await new Promise((r) => setTimeout(r, 2_000));
    await broker.start();
    const accepted = () => seqs.slice(0, -3); // the newest may still be on their way
    await until(
      () => {
        const got = new Set(
          on(sub.messages, `iot-agent/${DEVICE}/state`).map(
            (m) => (JSON.parse(m.payload) as { seq: number }).seq,
          ),
        );
        return accepted().length > 25 && accepted().every((s) => got.has(s));
      },
      "every reading of the outage",
      30_000,
    );
    expect(agent.status().sinks.mqtt?.relay.replayed).toBeGreaterThan(0);
  }, 60_000);
});

describe("MQTT last will", () => {
  it("says offline on the availability topic when the agent is killed", async () => {
    const prosody = await startProsody();
    const broker = await startMosquitto();
    const dir = await mkdtemp(join(tmpdir(), "iot-agent-will-"));
    try {
      await prosody.register("agent", "agent-secret");
      await prosody.start();
      await broker.start();
      const file = join(dir, "agent.yaml");
      await writeFile(
        file,
        `xmpp: { service: ${prosody.service}, domain: localhost, username: agent, password: { env: P }, tls: { caFile: ${prosody.caFile} } }
device: { port: ${join(dir, "ttyWILL")}, emulate: true }
outbox: { dir: ${join(dir, "outbox")} }
mqtt: { url: ${broker.url}, tls: { allowPlaintext: true }, clientId: will-test }
`,
        { mode: 0o600 },
      );
      const sub = await subscriber(broker, ["iot-agent/will-test/availability"], false);
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "run", "--config", file],
        {
          env: { ...process.env, P: "agent-secret" },
          stdio: "ignore",
        },
      );
      await until(() => sub.messages.at(-1)?.payload === "online", "online", 30_000);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      await until(() => sub.messages.at(-1)?.payload === "offline", "the last will", 15_000);
      expect(sub.messages.at(-1)?.retain).toBe(false); // delivered live; the broker retains it too
      await sub.client.endAsync();
    } finally {
      await broker.destroy();
      await prosody.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("MQTT with a client certificate", () => {
  it("connects with the configured certificate; the broker refuses a client without one", async () => {
    const prosody = await startProsody();
    const broker = await startMosquitto({ tls: true, clientCertificates: true });
    const dir = await mkdtemp(join(tmpdir(), "iot-agent-cert-"));
    let agent: Agent | undefined;
    try {
      await prosody.register("agent", "agent-secret");
      await prosody.start();
      await broker.start();
      const cert = broker.client!;
      const file = join(dir, "agent.yaml");
      await writeFile(
        file,
        `xmpp: { service: ${prosody.service}, domain: localhost, username: agent, password: { env: P }, tls: { caFile: ${prosody.caFile} } }
device: { port: ${join(dir, "ttyCERT")}, emulate: true }
outbox: { dir: ${join(dir, "outbox")} }
mqtt:
  url: ${broker.url}
  clientId: cert-test
  tls: { caFile: ${broker.caFile}, certFile: ${cert.certFile}, keyFile: ${cert.keyFile} }
`,
        { mode: 0o600 },
      );
      const loaded = await loadConfig(file, { P: "agent-secret" });
      const ca = await readFile(broker.caFile!);
      await expect(
        mqtt.connectAsync(broker.url, { ca, reconnectPeriod: 0, connectTimeout: 5_000 }),
      ).rejects.toThrow();
      const watcher = await mqtt.connectAsync(broker.url, {
        ca,
        cert: await readFile(cert.certFile),
        key: await readFile(cert.keyFile),
        reconnectPeriod: 0,
      });
      const seen: string[] = [];
      watcher.on("message", (_t, payload) => seen.push(payload.toString()));
      await watcher.subscribeAsync("iot-agent/cert-test/availability", { qos: 1 });
      agent = await Agent.start({
        config: loaded.config,
        password: loaded.password,
        log: createLogger({ level: "silent" }),
      });
      await until(() => seen.includes("online"), "the agent online over client-certificate TLS");
      await watcher.endAsync();
    } finally {
      await agent?.stop();
      await broker.destroy();
      await prosody.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
