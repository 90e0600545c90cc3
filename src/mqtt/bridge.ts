/**
 * The MQTT side of the agent: one mqtt.js v5 client that mirrors telemetry (as the outbox relay's
 * transport: a reading leaves the `mqtt` sink on the PUBACKs of its QoS 1 publishes), announces
 * availability (birth `online`, last will `offline`, both retained), publishes Home Assistant
 * discovery, and takes commands on set topics through the same authorization, device control
 * and audit log as XMPP commands.
 */
import { readFile } from "node:fs/promises";
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { AgentConfig } from "../config/schema.js";
import { runGated, type CommandGateDeps } from "../core/command-gate.js";
import type { DeviceControl } from "../core/commands.js";
import { commandable, MAX_COMMAND_PAYLOAD, parseSetRequest } from "./commands.js";
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

/** MQTT commands run through the same gate (rate limit, role, audit) as chat commands. */
export interface MqttBridgeDeps extends CommandGateDeps {
  config: MqttConfig;
  password: string | undefined;
  /** Names this agent's availability topic and MQTT session. */
  clientId: string;
  device: DeviceControl;
  log: Logger;
  /** Called on every (re)connect, so the relay can send what waited. */
  onReady: () => void;
}

export class MqttBridge implements RelayTransport {
  readonly stats = { published: 0, commands: 0, refused: 0, connects: 0, retainedIgnored: 0 };
  readonly topics: Topics;
  private client: MqttClient | undefined;
  private announced: DiscoveryMessage[] = [];
  /** Kinds of ignored command already logged on this connection: the rest are only counted. */
  private readonly logged = new Set<"retained" | "off">();
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
    client.on("message", (topic, payload, packet) => void this.onMessage(topic, payload, packet));
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
    this.logged.clear();
    noDelay(client.stream);
    this.deps.log.info({ url: this.deps.config.url }, "mqtt online");
    try {
      await client.publishAsync(this.topics.availability, "online", { qos: 1, retain: true });
      // Subscribed with commands off too, so that what is refused is counted. Retain handling 2:
      // a retained set is an old command, never one to replay at (re)connect (MQTT 5 §3.8.3.1).
      await client.subscribeAsync(this.topics.setFilter, { qos: 1, rh: 2 });
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
    const next = discoveryMessages(config.discovery.prefix, this.topics, device, {
      agentVersion: AGENT_VERSION,
      commandable: (actuator) => commandable(config.commands, actuator),
    });
    const messages = [...removedDiscovery(this.announced, next), ...next];
    await Promise.all(
      messages.map((m) => client.publishAsync(m.topic, m.payload, { qos: 1, retain: true })),
    );
    this.announced = next;
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const { config } = this.deps;
    const target = parseSetTopic(config.baseTopic, topic);
    if (!target) return;
    this.stats.commands += 1;
    // Brokers before MQTT 5 ignore retain handling; a retained flag marks exactly the replays
    // (a live publish reaches existing subscribers with the flag cleared, MQTT 3.1.1 §3.3.1.3).
    if (packet.retain) return this.ignore("retained", topic);
    const commands = config.commands;
    if (!commands) return this.ignore("off", topic);
    const value = payload.toString("utf8").trim();
    const request = { ...target, deviceId: this.deps.device.description?.id, value };
    const reply = await runGated(
      {
        sender: `mqtt:${config.baseTopic}`,
        transport: "mqtt",
        role: commands.role,
        text: `set ${target.actuator} ${value}`,
        parse: () => parseSetRequest(commands, request),
      },
      this.deps,
    );
    if (!reply.ok) return this.refuse(target.device, topic, value, reply.text);
    if (!reply.actuator) return;
    const stateTopic = this.topics.actuatorState(target.device, reply.actuator.actuator);
    await this.client?.publishAsync(stateTopic, valuePayload(reply.actuator.value), {
      qos: 1,
      retain: true,
    });
  }

  /** A set message that is no command: counted, and logged once per connection. */
  private ignore(kind: "retained" | "off", topic: string): void {
    if (kind === "retained") this.stats.retainedIgnored += 1;
    else this.stats.refused += 1;
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    const why =
      kind === "retained"
        ? "retained set message ignored: set topics act only on live messages"
        : "set message ignored: commands over MQTT are off (no mqtt.commands section)";
    const { retainedIgnored, refused } = this.stats;
    this.deps.log.warn(
      { topic, retainedIgnored, refused },
      `${why}; more on this connection are only counted`,
    );
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
