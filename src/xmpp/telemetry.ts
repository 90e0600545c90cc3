/**
 * Telemetry over XMPP, as the outbox relay's transport: a batch of durable readings passes the
 * per-sensor delivery policy and goes to every healthy recipient as a message with a XEP-0323
 * payload, the reading identities and a short human body. The batch counts as delivered once
 * the server confirmed (XEP-0198) every one of those messages. Bounced recipients are paused
 * (RecipientHealth), never retried in a storm; a recipient paused or bounced does not hold back
 * the outbox, since the server accepted the message and answered for it.
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

export interface TelemetryStats {
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
  filter: LaneFilter;
  health: RecipientHealth;
  device: () => DeviceDescription | undefined;
  log: Logger;
}

export class XmppTelemetry implements RelayTransport {
  readonly stats: TelemetryStats = {
    messagesSent: 0,
    messagesUnconfirmed: 0,
    skippedPaused: 0,
    bounces: 0,
  };

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
    const readings = this.deps.filter.select(entries, lane);
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
}
