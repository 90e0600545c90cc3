/**
 * Telemetry over XMPP, as the outbox relay's transport: a batch of durable readings passes the
 * per-sensor delivery policy and goes to every healthy recipient as a message with a XEP-0323
 * payload, the reading identities and a short human body. The batch counts as delivered once
 * the server confirmed (XEP-0198) every one of those messages. Bounced recipients are paused
 * (RecipientHealth), never retried in a storm. A paused recipient does not hold back the others;
 * what it misses meanwhile is counted (readingsSkipped) and logged when it resumes. When every
 * recipient is paused, nothing is confirmed: the readings wait in the outbox. So they do while
 * nobody is subscribed at all, unless the configuration says they need not.
 */
import type { Element } from "@xmpp/xml";
import type { LaneFilter } from "../core/lane-filter.js";
import type { Logger } from "../core/logger.js";
import type { OutboxEntry } from "../core/outbox/index.js";
import type { DeviceDescription } from "../core/reading.js";
import type { Lane, RelayTransport } from "../core/relay.js";
import type { RecipientHealth } from "./recipients.js";
import { humanSummary, telemetryMessage } from "./stanzas.js";
import type { Subscribers } from "./subscribers.js";

const RECENT_MESSAGES = 4096;

export interface TelemetryStats {
  messagesSent: number;
  messagesUnconfirmed: number;
  /** Messages not sent to a paused recipient while others got them, and their readings. */
  skippedPaused: number;
  readingsSkipped: number;
  bounces: number;
  /** Readings in messages the recipient's server refused after confirming them. */
  readingsBounced: number;
}

/** The part of XmppConnection telemetry needs. */
export interface TelemetryLink {
  readonly online: boolean;
  sendAcked(stanza: Element): Promise<void>;
}

export interface XmppTelemetryDeps {
  connection: TelemetryLink;
  subscribers: Subscribers;
  filter: LaneFilter;
  health: RecipientHealth;
  device: () => DeviceDescription | undefined;
  log: Logger;
  /**
   * Readings wait in the outbox while nobody is subscribed, for the first subscriber; false
   * lets them go, sent to no one (`telemetry.waitForSubscriber`).
   */
  waitForSubscriber: boolean;
}

export class XmppTelemetry implements RelayTransport {
  readonly stats: TelemetryStats = {
    messagesSent: 0,
    messagesUnconfirmed: 0,
    skippedPaused: 0,
    readingsSkipped: 0,
    bounces: 0,
    readingsBounced: 0,
  };

  /** Readings each paused recipient did not get, reported when it resumes. */
  private readonly missed = new Map<string, number>();
  /** Readings per recently sent message ("jid id"), to count what a bounce took with it. */
  private readonly recent = new Map<string, number>();

  constructor(private readonly deps: XmppTelemetryDeps) {}

  /** Not while nobody is subscribed, unless readings need not wait for a subscriber. */
  get ready(): boolean {
    if (!this.deps.connection.online) return false;
    return !this.deps.waitForSubscriber || this.deps.subscribers.recipients().length > 0;
  }

  get fanout(): number {
    return Math.max(1, this.deps.subscribers.recipients().length);
  }

  /** A `<message type='error'>` from a recipient's server. */
  bounced(jid: string, condition: string, id?: string): void {
    this.stats.bounces += 1;
    const pauseMs = this.deps.health.failed(jid, condition);
    // The server confirmed that message (it handled it, by refusing it), so its readings left
    // the outbox: they are not delivered to this recipient, and that is counted and said.
    const readings = (id === undefined ? undefined : this.recent.get(`${jid} ${id}`)) ?? 0;
    this.stats.readingsBounced += readings;
    this.deps.log.warn(
      { recipient: jid, condition, id, readings, pauseSeconds: Math.round(pauseMs / 1000) },
      `telemetry to ${jid} bounced (${condition}): ${readings} readings not delivered to it; paused`,
    );
  }

  async deliver(entries: OutboxEntry[], lane: Lane): Promise<void> {
    const readings = this.deps.filter.select(entries, lane);
    const first = readings[0];
    const last = readings[readings.length - 1];
    if (!first || !last) return;
    const id = `r-${first.boot}-${first.seq}${readings.length > 1 ? `-${last.seq}` : ""}`;
    const body = humanSummary(readings, this.deps.device());
    const delayedSince = lane === "replay" ? first.receivedAt : undefined;
    const sends: Array<Promise<void>> = [];
    const recipients = this.deps.subscribers.recipients();
    for (const { jid, type } of recipients) {
      if (!this.deps.health.shouldSend(jid)) {
        this.stats.skippedPaused += 1;
        this.stats.readingsSkipped += readings.length;
        this.missed.set(jid, (this.missed.get(jid) ?? 0) + readings.length);
        continue;
      }
      this.reportMissed(jid);
      const stanza = telemetryMessage({ to: jid, id, readings, body, type, delayedSince });
      this.remember(`${jid} ${id}`, readings.length);
      sends.push(this.send(stanza));
    }
    // Nobody can take them now: the readings stay in the outbox (the relay retries with backoff)
    // rather than being confirmed to no one.
    if (recipients.length > 0 && sends.length === 0) {
      throw new Error("every telemetry recipient is paused after bounces");
    }
    const failure = (await Promise.allSettled(sends)).find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
  }

  private remember(key: string, readings: number): void {
    this.recent.delete(key);
    this.recent.set(key, readings);
    // Bounces come back within seconds; the last few thousand messages are plenty.
    if (this.recent.size > RECENT_MESSAGES) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /** Says once, when a paused recipient gets messages again, what it did not get meanwhile. */
  private reportMissed(jid: string): void {
    const count = this.missed.get(jid);
    if (count === undefined) return;
    this.missed.delete(jid);
    this.deps.log.warn(
      { recipient: jid, readings: count },
      `telemetry to ${jid} resumed; ${count} readings were not sent to it while it was paused`,
    );
  }

  private async send(stanza: Element): Promise<void> {
    try {
      await this.deps.connection.sendAcked(stanza);
      this.stats.messagesSent += 1;
    } catch (error) {
      this.stats.messagesUnconfirmed += 1;
      throw error;
    }
  }
}
