/**
 * Turns sections of the configuration into the options of the parts the composition root
 * (agent.ts) builds, so that it reads as wiring rather than unit conversions.
 */
import type { AgentConfig } from "./config/schema.js";
import type { Clock } from "./core/clock.js";
import type { Logger } from "./core/logger.js";
import { Outbox } from "./core/outbox/index.js";
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

/** Opens the outbox, saying what recovery found and what the bounds dropped. */
export async function openOutbox(config: AgentConfig, log: Logger, clock: Clock): Promise<Outbox> {
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
  });
  const { recovery } = outbox;
  const damaged = recovery.truncatedBytes > 0 || recovery.corrupt.length > 0 || recovery.lostSeqs;
  log[damaged ? "warn" : "info"](
    { dir, pending: outbox.sink(XMPP_SINK).pending, ms: Date.now() - started, ...recovery },
    "outbox opened",
  );
  return outbox;
}
