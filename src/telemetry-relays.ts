/**
 * The outbox's consumers: one relay per sink, each with its transport. XMPP messages to the
 * subscribers always; PubSub publishing when `telemetry.pubsub` is configured; the MQTT mirror
 * when `mqtt` is. Each sink keeps
 * its own cursor, so one that is slow or failing holds back neither the other nor the device.
 */
import type { AgentConfig } from "./config/schema.js";
import { DeliveryFilter } from "./core/delivery-policy.js";
import { LaneFilter } from "./core/lane-filter.js";
import type { Logger } from "./core/logger.js";
import type { Outbox, OutboxEntry } from "./core/outbox/index.js";
import { OutboxRelay, type RelayStats, type RelayTransport } from "./core/relay.js";
import type { DeviceDescription } from "./core/reading.js";
import { MQTT_SINK, PUBSUB_SINK, waitsForSubscriber, XMPP_SINK } from "./from-config.js";
import type { MqttBridge } from "./mqtt/bridge.js";
import type { XmppConnection } from "./xmpp/connection.js";
import { PubSubTelemetry } from "./xmpp/pubsub-telemetry.js";
import type { RecipientHealth } from "./xmpp/recipients.js";
import type { Subscribers } from "./xmpp/subscribers.js";
import { XmppTelemetry } from "./xmpp/telemetry.js";

export interface SinkStatus {
  /** Readings not yet confirmed by this sink's peer. */
  pending: number;
  /** Readings dropped unsent by the outbox bounds, or found damaged on disk. */
  dropped: number;
  relay: RelayStats;
  transport: Record<string, number>;
}

export interface TelemetryRelaysDeps {
  config: AgentConfig;
  outbox: Outbox;
  xmpp: XmppConnection;
  subscribers: Subscribers;
  health: RecipientHealth;
  device: () => DeviceDescription | undefined;
  log: Logger;
  now: () => number;
  /** The MQTT mirror, when `mqtt` is configured. */
  mqtt?: MqttBridge;
}

export class TelemetryRelays {
  /** The message transport, which also hears about bounces. */
  readonly messages: XmppTelemetry;
  private readonly relays = new Map<string, { relay: OutboxRelay; stats: () => object }>();

  constructor(private readonly deps: TelemetryRelaysDeps) {
    const { config, xmpp, log } = deps;
    const filter = () =>
      new LaneFilter(
        () =>
          new DeliveryFilter({
            policies: config.telemetry.sensors,
            fallback: config.telemetry.default,
          }),
      );
    const waiting = waitsForSubscriber(config);
    this.messages = new XmppTelemetry({
      connection: xmpp,
      subscribers: deps.subscribers,
      filter: filter(),
      health: deps.health,
      device: deps.device,
      log,
      waitForSubscriber: waiting,
    });
    if (waiting && deps.subscribers.recipients().length === 0) {
      log.info("no telemetry subscriber yet: readings wait in the outbox for the first one");
    }
    this.add(XMPP_SINK, this.messages, () => this.messages.stats);
    const target = config.telemetry.pubsub;
    if (target) {
      const pubsub = new PubSubTelemetry({ connection: xmpp, target, filter: filter(), log });
      this.add(PUBSUB_SINK, pubsub, () => pubsub.stats);
    }
    const mqtt = deps.mqtt;
    if (mqtt) this.add(MQTT_SINK, mqtt, () => mqtt.stats);
  }

  start(): void {
    for (const { relay } of this.relays.values()) relay.start();
  }

  stop(): void {
    for (const { relay } of this.relays.values()) relay.stop();
  }

  /** Resolves once no delivery awaits its peer (stop the connection first to settle them). */
  async idle(): Promise<void> {
    await Promise.all([...this.relays.values()].map(({ relay }) => relay.idle()));
  }

  /** Gives up on deliveries still unconfirmed (see OutboxRelay.abandon); returns their readings. */
  abandon(): number {
    return [...this.relays.values()].reduce((sum, { relay }) => sum + relay.abandon(), 0);
  }

  /** A freshly stored reading. */
  offer(entry: OutboxEntry): void {
    for (const { relay } of this.relays.values()) relay.offer(entry);
  }

  /** The connection is up: hand out what waits. */
  pump(): void {
    for (const { relay } of this.relays.values()) relay.pump();
  }

  status(): Record<string, SinkStatus> {
    const status: Record<string, SinkStatus> = {};
    for (const [name, { relay, stats }] of this.relays) {
      const sink = this.deps.outbox.sink(name);
      status[name] = {
        pending: sink.pending,
        dropped: sink.dropped,
        relay: relay.stats,
        transport: { ...stats() },
      };
    }
    return status;
  }

  private add(name: string, transport: RelayTransport, stats: () => object): void {
    const { config, outbox, log, now } = this.deps;
    const relay = new OutboxRelay({
      sink: outbox.sink(name),
      transport,
      batch: {
        maxReadings: config.telemetry.batch.maxReadings,
        maxDelayMs: config.telemetry.batch.maxDelaySeconds * 1000,
      },
      catchUp: {
        messagesPerSecond: config.telemetry.catchUp.stanzasPerSecond,
        readingsPerDelivery: config.telemetry.catchUp.readingsPerStanza,
      },
      log: log.child({ sink: name }),
      now,
    });
    this.relays.set(name, { relay, stats });
  }
}
