/**
 * Fuzz of MQTT commands (src/mqtt/commands.ts, and the set-topic path of the bridge): random
 * topics and random payload bytes (invalid UTF-8, control characters, huge). Pure: parseSetRequest
 * never throws and lets through only what the device may be asked. Real: a Mosquitto broker and
 * the agent's MqttBridge, where every command published gets exactly one outcome.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import { MqttBridge } from "../../src/mqtt/bridge.js";
import { MAX_COMMAND_PAYLOAD, parseSetRequest } from "../../src/mqtt/commands.js";
import { parseSetTopic } from "../../src/mqtt/topics.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { until } from "../support/wait.js";
import { commandWorld, DEVICE } from "./fixtures.js";
import { FUZZ_TIMEOUT_MS, fuzz, fuzzAsync, runs } from "./runs.js";

const SURFACE = "MQTT command payloads";
const BASE = "iot-agent";
const EXAMPLE = readFileSync(new URL("../../config/agent.example.yaml", import.meta.url), "utf8");

function mqttConfig(url: string, actuators = ["relay", "led", "fan"]) {
  const text =
    `${EXAMPLE}\nmqtt:\n  url: ${url}\n  tls: { allowPlaintext: true }\n` +
    `  discovery: { enabled: false }\n` +
    `  commands: { role: operator, actuators: [${actuators.join(", ")}] }\n`;
  const { config } = parseConfig(text, "fuzz.yaml", { IOT_AGENT_XMPP_PASSWORD: "x" });
  if (!config.mqtt) throw new Error("the mqtt section did not parse");
  return config.mqtt;
}

const segment = fc.oneof(
  fc.constantFrom(DEVICE.id, "other", "relay", "led", "fan", "set", "state", "", "+", "#"),
  fc.string({ maxLength: 6 }),
);
const topic = fc.oneof(
  fc.tuple(segment, segment).map(([d, a]) => `${BASE}/${d}/${a}/set`),
  fc.array(segment, { maxLength: 5 }).map((s) => [BASE, ...s].join("/")),
);
const payload = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom("on", "off", " 1 ", "blink", "50", "1e3", "-5", "")
      .map((s) => Buffer.from(s)),
  },
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 70 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 300_000 }).map((n) => Buffer.alloc(n, 0x61)) },
);

/** Mostly random, sometimes a command the device takes, so that both outcomes occur. */
const message = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(topic, payload) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(`${BASE}/${DEVICE.id}/relay/set`, `${BASE}/${DEVICE.id}/led/set`),
      fc.constantFrom("on", " off ", "blink").map((s) => Buffer.from(s)),
    ),
  },
);

/** What the bridge does to payload bytes before anything else looks at them. */
const payloadValue = (bytes: Buffer) => bytes.toString("utf8").trim();

describe("MQTT command fuzz (pure)", () => {
  const configs = [
    mqttConfig("mqtt://127.0.0.1:1883"),
    mqttConfig("mqtt://127.0.0.1:1883", ["relay"]),
  ];

  it(
    "parseSetRequest never throws and passes only a short, printable value for this device",
    () => {
      fuzz(
        SURFACE,
        "parseSetRequest on random topics and payload bytes",
        fc.property(topic, payload, fc.constantFrom(0, 1), fc.boolean(), (t, bytes, c, known) => {
          const target = parseSetTopic(BASE, t);
          if (!target) return;
          const config = configs[c] ?? configs[0];
          const value = payloadValue(bytes);
          const request = { ...target, deviceId: known ? DEVICE.id : undefined, value };
          const parsed = parseSetRequest(config!.commands, request);
          if (!parsed.ok) {
            const problem = parsed.error;
            expect(problem.length).toBeGreaterThan(0);
            expect(problem.length).toBeLessThan(
              200 + target.actuator.length + target.device.length,
            );
            return;
          }
          expect(target.device).toBe(DEVICE.id);
          expect(value.length).toBeGreaterThan(0);
          expect(value.length).toBeLessThanOrEqual(MAX_COMMAND_PAYLOAD);
          expect(value).not.toMatch(/\p{Cc}/u);
          if (c === 1) expect(target.actuator).toBe("relay");
        }),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe("MQTT command fuzz (Mosquitto + MqttBridge)", () => {
  let broker: MosquittoBroker;
  let bridge: MqttBridge;
  let publisher: MqttClient;
  let world: ReturnType<typeof commandWorld>;
  const errors: Array<{ topic: string; payload: string; error: string }> = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    await broker.start();
    world = commandWorld();
    bridge = new MqttBridge({
      config: mqttConfig(broker.url),
      password: undefined,
      clientId: "fuzz-agent",
      device: world.device,
      audit: world.audit,
      limiter: world.limiter,
      context: world.context,
      log: createLogger({ level: "silent" }),
      now: world.now,
      onReady: () => undefined,
    });
    await bridge.start();
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await publisher.subscribeAsync(`${BASE}/+/error`, { qos: 1 });
    publisher.on("message", (_t, p) =>
      errors.push(JSON.parse(p.toString("utf8")) as (typeof errors)[0]),
    );
    // Subscribed once the availability topic says so (onConnect publishes it before subscribing).
    await until(() => bridge.ready && bridge.stats.connects === 1, "the bridge to connect");
    await new Promise((r) => setTimeout(r, 200));
  }, 30_000);

  afterAll(async () => {
    await publisher?.endAsync(true);
    await bridge?.stop();
    await broker?.destroy();
  });

  it(
    "every message on a set topic is a command with exactly one outcome",
    async () => {
      await fuzzAsync(
        SURFACE,
        "MqttBridge set topics on Mosquitto",
        fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), async (batch) => {
          const before = {
            ...bridge.stats,
            errors: errors.length,
            applied: world.device.applied.length,
          };
          // Wildcards are not valid in a published topic: the broker client refuses them itself.
          const sendable = batch.filter(([t]) => !/[+#]/.test(t) && !t.includes("\u0000"));
          for (const [t, p] of sendable) await publisher.publishAsync(t, p, { qos: 1 });
          const commands = sendable.filter(([t]) => parseSetTopic(BASE, t) !== undefined).length;
          const s = bridge.stats;
          const outcomes = () =>
            s.refused - before.refused + world.device.applied.length - before.applied;
          await until(
            () => s.commands - before.commands === commands && outcomes() === commands,
            "every outcome",
          );
          await until(
            () => errors.length - before.errors === s.refused - before.refused,
            "error topic",
          );
          for (const e of errors.slice(before.errors)) {
            expect(e.error.length).toBeGreaterThan(0);
            expect(e.payload.length).toBeLessThanOrEqual(MAX_COMMAND_PAYLOAD);
          }
        }),
        { numRuns: runs(0.02) },
      );
      expect(bridge.stats.refused).toBeGreaterThan(0);
      expect(world.device.applied.length).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );
});
