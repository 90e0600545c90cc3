/**
 * Telemetry over XMPP, as the outbox relay's transport: a batch of durable readings passes the
 * per-sensor delivery policy and goes to every healthy recipient as a message with a XEP-0323
 * payload, the reading identities and a short human body. The batch counts as delivered once
 * the server confirmed (XEP-0198) every one of those messages. Bounced recipients are paused
 * (RecipientHealth), never retried in a storm; a recipient paused or bounced does not hold back
 * the outbox, since the server accepted the message and answered for it.
 */
import type { Element } from "@xmpp/xml";
import type { DeliveryFilter } from "../core/delivery-policy.js";
import type { Logger } from "../core/logger.js";
import type { OutboxEntry } from "../core/outbox/index.js";
import type { DeviceDescription, Reading } from "../core/reading.js";
import type { Lane, RelayTransport } from "../core/relay.js";
import type { RecipientHealth } from "./recipients.js";
import { humanSummary, telemetryMessage } from "./stanzas.js";
import type { Subscribers } from "./subscribers.js";

export interface TelemetryStats {
  readingsOffered: number;
  readingsFiltered: number;
  messagesSent: number;
  messagesUnconfirmed: number;
  skippedPaused: number;
  bounces: number;
}

/** The part of XmppConnection telemetry needs. */
export interface TelemetryLink {
  readonly online: boolean;
  sendAcked(stanza: Element): Promise<void>;
}

export interface XmppTelemetryDeps {
  connection: TelemetryLink;
  subscribers: Subscribers;
  /**
   * One filter per lane: the replayed past and the live present are two streams in time, and
   * each needs its own "last value sent" to apply an interval or a deadband.
   */
  filters: Record<Lane, DeliveryFilter>;
  health: RecipientHealth;
  device: () => DeviceDescription | undefined;
  log: Logger;
}

export class XmppTelemetry implements RelayTransport {
  readonly stats: TelemetryStats = {
    readingsOffered: 0,
    readingsFiltered: 0,
    messagesSent: 0,
    messagesUnconfirmed: 0,
    skippedPaused: 0,
    bounces: 0,
  };
  /** Per lane, the newest outbox seq the filter has seen; anything at or below it is a resend. */
  private readonly filtered: Record<Lane, number> = { live: 0, replay: 0 };

  constructor(private readonly deps: XmppTelemetryDeps) {}

  get ready(): boolean {
    return this.deps.connection.online;
  }

  get fanout(): number {
    return Math.max(1, this.deps.subscribers.recipients().length);
  }

  /** A `<message type='error'>` from a recipient's server. */
  bounced(jid: string, condition: string): void {
    this.stats.bounces += 1;
    const pauseMs = this.deps.health.failed(jid, condition);
    this.deps.log.warn(
      { recipient: jid, condition, pauseSeconds: Math.round(pauseMs / 1000) },
      `telemetry to ${jid} bounced (${condition}); paused`,
    );
  }

  async deliver(entries: OutboxEntry[], lane: Lane): Promise<void> {
    const readings = this.select(entries, lane);
    const first = readings[0];
    const last = readings[readings.length - 1];
    if (!first || !last) return;
    const id = `r-${first.boot}-${first.seq}${readings.length > 1 ? `-${last.seq}` : ""}`;
    const body = humanSummary(readings, this.deps.device());
    const delayedSince = lane === "replay" ? first.receivedAt : undefined;
    const sends: Array<Promise<void>> = [];
    for (const { jid, type } of this.deps.subscribers.recipients()) {
      if (!this.deps.health.shouldSend(jid)) {
        this.stats.skippedPaused += 1;
        continue;
      }
      const stanza = telemetryMessage({ to: jid, id, readings, body, type, delayedSince });
      sends.push(this.send(stanza));
    }
    const failure = (await Promise.allSettled(sends)).find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
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

  /**
   * What of `entries` the delivery policy lets through. A resend (an entry this lane's filter
   * already passed, whose delivery was not confirmed) goes out whole: the filter noted its
   * values as sent and would now hold them back.
   */
  private select(entries: OutboxEntry[], lane: Lane): Reading[] {
    const selected: Reading[] = [];
    for (const { seq, reading } of entries) {
      if (seq <= this.filtered[lane]) {
        selected.push(reading);
        continue;
      }
      this.filtered[lane] = seq;
      this.stats.readingsOffered += 1;
      const due = this.deps.filters[lane].select(reading);
      if (due) selected.push(due);
      else this.stats.readingsFiltered += 1;
    }
    return selected;
  }
}
