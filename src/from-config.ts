/**
 * Turns sections of the configuration into the options of the parts the composition root
 * (agent.ts) builds, so that it reads as wiring rather than unit conversions.
 */
import { join } from "node:path";
import type { AgentConfig } from "./config/schema.js";
import type { Clock } from "./core/clock.js";
import type { Logger } from "./core/logger.js";
import { Outbox, type OutboxHealth } from "./core/outbox/index.js";
import { logOutboxHealth } from "./outbox-health.js";
import type { ReadingId } from "./core/reading.js";
import {
  loadChatSubscriptions,
  saveChatSubscriptions,
  SubscriptionFileError,
  SUBSCRIPTIONS_FILE,
} from "./xmpp/subscription-file.js";
import type { XmppConnectionOptions } from "./xmpp/connection.js";

/** The outbox sinks that XMPP messages and PubSub publishing read. */
export const XMPP_SINK = "xmpp";
export const PUBSUB_SINK = "pubsub";
export const MQTT_SINK = "mqtt";

export function outboxSinks(config: AgentConfig): string[] {
  return [
    XMPP_SINK,
    ...(config.telemetry.pubsub ? [PUBSUB_SINK] : []),
    ...(config.mqtt ? [MQTT_SINK] : []),
  ];
}

/**
 * Whether readings wait in the outbox while nobody is subscribed to telemetry messages. As
 * configured; by default yes, unless readings go elsewhere too (MQTT, PubSub) and no subscriber
 * is configured: then messages are only for whoever subscribes by chat, while subscribed.
 */
export function waitsForSubscriber(config: AgentConfig): boolean {
  const { telemetry } = config;
  const elsewhere = config.mqtt !== undefined || telemetry.pubsub !== undefined;
  return telemetry.waitForSubscriber ?? (telemetry.subscribers.length > 0 || !elsewhere);
}

/**
 * The chat subscriptions saved in the outbox directory (the agent's state across restarts), and
 * how to save them. A damaged file is said and set aside: the agent starts with none.
 */
export async function chatSubscriptions(
  config: AgentConfig,
  log: Logger,
): Promise<{ chat: string[]; save: (jids: readonly string[]) => Promise<void> }> {
  const file = join(config.outbox.dir, SUBSCRIPTIONS_FILE);
  let chat: string[] = [];
  try {
    chat = await loadChatSubscriptions(file);
  } catch (error) {
    if (!(error instanceof SubscriptionFileError)) throw error;
    log.warn(
      { err: error, file },
      `${error.message}; starting with no chat subscriptions (the file is rewritten at the next subscribe)`,
    );
  }
  if (chat.length > 0) log.info({ file, subscribers: chat }, "chat subscriptions restored");
  return { chat, save: (jids) => saveChatSubscriptions(file, jids) };
}

/** Connection settings from `xmpp:` (the caller adds logging, presence and access). */
export function xmppOptions(
  config: AgentConfig,
  password: string,
  caPem: string | undefined,
): Omit<XmppConnectionOptions, "log" | "presence"> {
  const { xmpp } = config;
  return {
    service: xmpp.service,
    domain: xmpp.domain,
    username: xmpp.username,
    password,
    resource: xmpp.resource,
    ...(caPem === undefined ? {} : { caPem }),
    allowPlaintext: xmpp.tls.allowPlaintext,
    reconnect: {
      initialMs: xmpp.reconnect.initialSeconds * 1000,
      maxMs: xmpp.reconnect.maxSeconds * 1000,
    },
    // Long enough for a busy server, short enough that a dead link is noticed within a minute
    // or two rather than at the next TCP timeout, which can take hours.
    keepalive: {
      intervalMs: xmpp.keepaliveSeconds * 1000,
      timeoutMs: Math.min(30_000, xmpp.keepaliveSeconds * 1000),
    },
  };
}

/**
 * The newest reading in the outbox, so the serial link can report what the device sent while no
 * agent ran. Losing it only costs that report, so an unreadable one is logged and start goes on.
 */
export function lastAccepted(outbox: Outbox, log: Logger): ReadingId | undefined {
  try {
    const reading = outbox.newest()?.reading;
    return reading && { device: reading.device, boot: reading.boot, seq: reading.seq };
  } catch (error) {
    const why = (error as Error).message;
    log.warn({ err: error }, `gaps since the last run cannot be reported: ${why}`);
    return undefined;
  }
}

/**
 * Opens the outbox, saying what recovery found, what the bounds dropped and when the disk
 * fails; `onHealth` hears of each change of its health too.
 */
export async function openOutbox(
  config: AgentConfig,
  log: Logger,
  clock: Clock,
  onHealth: (health: OutboxHealth) => void = () => undefined,
): Promise<Outbox> {
  const { dir, maxMegabytes, segmentKilobytes, maxAgeHours, commitMilliseconds } = config.outbox;
  // A full outbox is read through on open (about a second per 200,000 readings on a PC, more on
  // a Pi): say so first, so a slow start is not mistaken for a hang.
  log.info({ dir }, "opening outbox");
  const started = Date.now();
  const outbox = await Outbox.open(dir, {
    sinks: outboxSinks(config),
    maxBytes: Math.floor(maxMegabytes * 1024 * 1024),
    segmentBytes: Math.floor(segmentKilobytes * 1024),
    commitWindowMs: commitMilliseconds,
    now: () => clock.now(),
    monotonicNow: () => clock.monotonic(),
    clockSynchronized: () => clock.synchronized(),
    ...(maxAgeHours === undefined ? {} : { maxAgeMs: maxAgeHours * 3_600_000 }),
    onDrop: (drop) => log.warn({ ...drop }, "outbox dropped readings"),
    onError: (error) => log.error({ err: error }, `outbox: ${error.message}`),
    onHealth: (health) => {
      logOutboxHealth(log, health, Date.now());
      onHealth(health);
    },
  });
  const { recovery } = outbox;
  const damaged = recovery.truncatedBytes > 0 || recovery.corrupt.length > 0 || recovery.lostSeqs;
  log[damaged ? "warn" : "info"](
    { dir, pending: outbox.sink(XMPP_SINK).pending, ms: Date.now() - started, ...recovery },
    "outbox opened",
  );
  return outbox;
}
