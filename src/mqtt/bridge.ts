/**
 * The MQTT side of the agent: one mqtt.js v5 client that mirrors telemetry (as the outbox relay's
 * transport: a reading leaves the `mqtt` sink on the PUBACKs of its QoS 1 publishes), announces
 * availability (birth `online`, last will `offline`, both retained), publishes Home Assistant
 * discovery, and takes commands on set topics through the same authorization, device control
 * and audit log as XMPP commands.
 */
import { readFile } from "node:fs/promises";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { AgentConfig } from "../config/schema.js";
import type { AuditLog } from "../core/audit.js";
import { deviceFailureText, type DeviceControl } from "../core/commands.js";
import { commandRefusal, MAX_COMMAND_PAYLOAD } from "./commands.js";
import type { Logger } from "../core/logger.js";
import { noDelay } from "../core/no-delay.js";
import { settlesWithin } from "../core/within.js";
import type { OutboxEntry } from "../core/outbox/index.js";
import type { Lane, RelayTransport } from "../core/relay.js";
import { AGENT_VERSION } from "../version.js";
import { discoveryMessages, removedDiscovery, type DiscoveryMessage } from "./discovery.js";
import { parseSetTopic, statePayload, topicsFor, valuePayload, type Topics } from "./topics.js";

type MqttConfig = NonNullable<AgentConfig["mqtt"]>;

/** How long the retained `offline` may take at stop; the last will says it otherwise. */
const GOODBYE_WAIT_MS = 2_000;

export interface MqttBridgeDeps {
  config: MqttConfig;
  password: string | undefined;
  /** Names this agent's availability topic and MQTT session. */
  clientId: string;
  device: DeviceControl;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  /** Called on every (re)connect, so the relay can send what waited. */
  onReady: () => void;
}

export class MqttBridge implements RelayTransport {
  readonly stats = { published: 0, commands: 0, refused: 0, connects: 0 };
  readonly topics: Topics;
  private client: MqttClient | undefined;
  private announced: DiscoveryMessage[] = [];
  /** Deliveries awaiting their PUBACKs, failed at stop(). */
  private readonly unconfirmed = new Set<(error: Error) => void>();

  constructor(private readonly deps: MqttBridgeDeps) {
    this.topics = topicsFor(deps.config.baseTopic, deps.clientId);
  }

  get ready(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connects in the background: the broker being away must not stop the agent. */
  async start(): Promise<void> {
    const client = mqtt.connect(this.deps.config.url, await this.clientOptions());
    this.client = client;
    const log = this.deps.log;
    client.on("connect", () => void this.onConnect());
    client.on("close", () => log.debug("mqtt connection closed"));
    client.on("offline", () => log.warn({ url: this.deps.config.url }, "mqtt broker unreachable"));
    client.on("error", (e) => log.warn({ reason: e.message }, `mqtt: ${e.message}`));
    client.on("message", (topic, payload) => void this.onMessage(topic, payload));
  }

  /** Says `offline` (retained), then disconnects. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      const goodbye = client.publishAsync(this.topics.availability, "offline", {
        qos: 1,
        retain: true,
      });
      await settlesWithin(
        goodbye.catch(() => undefined),
        GOODBYE_WAIT_MS,
      );
    }
    await client.endAsync(true).catch(() => undefined);
    // mqtt.js keeps a QoS 1 callback for a resend on a reconnect that is not coming now.
    const stopped = new Error("mqtt stopped before the broker confirmed these readings");
    for (const reject of this.unconfirmed) reject(stopped);
    this.unconfirmed.clear();
  }

  /** The device (re)introduced itself: its capabilities may have changed. */
  deviceChanged(): void {
    if (this.ready) void this.announce();
  }

  async deliver(entries: OutboxEntry[], lane: Lane): Promise<void> {
    const client = this.client;
    if (!client) throw new Error("mqtt is stopped");
    // Replayed readings are history: they must not replace the retained latest values.
    const retain = lane === "live";
    const publishes = entries.flatMap(({ reading }) => [
      client.publishAsync(this.topics.state(reading.device), statePayload(reading), {
        qos: 1,
        retain,
      }),
      ...reading.values.map((v) =>
        client.publishAsync(this.topics.sensor(reading.device, v.sensor), valuePayload(v.value), {
          qos: 1,
          retain,
        }),
      ),
    ]);
    await new Promise<void>((resolve, reject) => {
      this.unconfirmed.add(reject);
      Promise.all(publishes)
        .then(() => resolve(), reject)
        .finally(() => this.unconfirmed.delete(reject))
        .catch(reject);
    });
    this.stats.published += entries.length;
  }

  private async clientOptions(): Promise<IClientOptions> {
    const { config, password, clientId } = this.deps;
    const read = (file: string | undefined) => (file ? readFile(file) : undefined);
    const [ca, cert, key] = await Promise.all([
      read(config.tls.caFile),
      read(config.tls.certFile),
      read(config.tls.keyFile),
    ]);
    return {
      protocolVersion: 5,
      clientId,
      clean: true,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      rejectUnauthorized: true,
      ...(config.username ? { username: config.username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      will: {
        topic: this.topics.availability,
        payload: Buffer.from("offline"),
        qos: 1,
        retain: true,
      },
    };
  }

  private async onConnect(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.stats.connects += 1;
    noDelay(client.stream);
    this.deps.log.info({ url: this.deps.config.url }, "mqtt online");
    try {
      await client.publishAsync(this.topics.availability, "online", { qos: 1, retain: true });
      if (this.deps.config.commands.enabled) {
        await client.subscribeAsync(this.topics.setFilter, { qos: 1 });
      }
      await this.announce();
    } catch (error) {
      this.deps.log.warn({ err: error }, "mqtt session setup failed");
    }
    this.deps.onReady();
  }

  private async announce(): Promise<void> {
    const { config } = this.deps;
    const device = this.deps.device.description;
    const client = this.client;
    if (!config.discovery.enabled || !device || !client) return;
    const next = discoveryMessages(config.discovery.prefix, this.topics, device, AGENT_VERSION);
    const messages = [...removedDiscovery(this.announced, next), ...next];
    await Promise.all(
      messages.map((m) => client.publishAsync(m.topic, m.payload, { qos: 1, retain: true })),
    );
    this.announced = next;
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const target = parseSetTopic(this.deps.config.baseTopic, topic);
    if (!target) return;
    this.stats.commands += 1;
    const value = payload.toString("utf8").trim();
    const role = this.deps.config.commands.role;
    const sender = `mqtt:${topic}`;
    const command = { verb: "set" as const, actuator: target.actuator, value };
    const text = `set ${target.actuator} ${value}`;
    const record = { sender, transport: "mqtt" as const, command: text, role };
    const problem = commandRefusal(this.deps.config.commands, {
      device: target.device,
      deviceId: this.deps.device.description?.id,
      command,
    });
    if (problem) {
      this.deps.audit.commandRefused({ ...record, reason: "invalid", detail: problem });
      return this.refuse(target.device, topic, value, problem);
    }
    this.deps.audit.commandAccepted(record);
    const started = this.deps.now();
    try {
      const result = await this.deps.device.setActuator(target.actuator, value);
      const durationMs = this.deps.now() - started;
      this.deps.audit.commandDone({
        ...record,
        ok: true,
        outcome: `set to ${String(result.value)}`,
        durationMs,
      });
      const stateTopic = this.topics.actuatorState(target.device, result.actuator);
      await this.client?.publishAsync(stateTopic, valuePayload(result.value), {
        qos: 1,
        retain: true,
      });
    } catch (error) {
      const why = deviceFailureText(error, text);
      this.deps.audit.commandDone({
        ...record,
        ok: false,
        outcome: why,
        durationMs: this.deps.now() - started,
      });
      await this.refuse(target.device, topic, value, why);
    }
  }

  /** A refused or failed command: logged, and published on the device's error topic. */
  private async refuse(
    device: string,
    topic: string,
    payload: string,
    error: string,
  ): Promise<void> {
    this.stats.refused += 1;
    this.deps.log.warn({ topic, error }, "mqtt command refused");
    const body = JSON.stringify({ topic, payload: payload.slice(0, MAX_COMMAND_PAYLOAD), error });
    await this.client
      ?.publishAsync(this.topics.error(device), body, { qos: 1 })
      .catch(() => undefined);
  }
}
