/**
 * Telemetry over XMPP: readings pass the per-sensor delivery policy, are batched, and go to every
 * healthy recipient as a message with a XEP-0323 payload, the reading identities and a short
 * human body. Bounced recipients are paused (RecipientHealth), never retried in a storm.
 */
import type { Element } from "@xmpp/xml";
import { Batcher, type DeliveryFilter } from "../core/delivery-policy.js";
import type { Logger } from "../core/logger.js";
import type { DeviceDescription, Reading } from "../core/reading.js";
import type { RecipientHealth } from "./recipients.js";
import { humanSummary, telemetryMessage } from "./stanzas.js";
import type { Subscribers } from "./subscribers.js";

export interface TelemetryStats {
  readingsOffered: number;
  readingsFiltered: number;
  messagesSent: number;
  sendFailures: number;
  skippedPaused: number;
  bounces: number;
}

export interface XmppTelemetryDeps {
  send: (stanza: Element) => Promise<void>;
  subscribers: Subscribers;
  filter: DeliveryFilter;
  health: RecipientHealth;
  batch: { maxReadings: number; maxDelayMs: number };
  device: () => DeviceDescription | undefined;
  log: Logger;
}

export class XmppTelemetry {
  readonly stats: TelemetryStats = {
    readingsOffered: 0,
    readingsFiltered: 0,
    messagesSent: 0,
    sendFailures: 0,
    skippedPaused: 0,
    bounces: 0,
  };
  private readonly batcher: Batcher;

  constructor(private readonly deps: XmppTelemetryDeps) {
    this.batcher = new Batcher({
      ...deps.batch,
      flush: (readings) => this.deliver(readings),
    });
  }

  offer(reading: Reading): void {
    this.stats.readingsOffered += 1;
    const due = this.deps.filter.select(reading);
    if (!due) {
      this.stats.readingsFiltered += 1;
      return;
    }
    this.batcher.add(due);
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

  private deliver(readings: Reading[]): void {
    const first = readings[0];
    const last = readings[readings.length - 1];
    if (!first || !last) return;
    const id = `r-${first.boot}-${first.seq}${readings.length > 1 ? `-${last.seq}` : ""}`;
    const body = humanSummary(readings, this.deps.device());
    for (const { jid, type } of this.deps.subscribers.recipients()) {
      if (!this.deps.health.shouldSend(jid)) {
        this.stats.skippedPaused += 1;
        continue;
      }
      const stanza = telemetryMessage({ to: jid, id, readings, body, type });
      this.deps.send(stanza).then(
        () => void (this.stats.messagesSent += 1),
        (error: Error) => {
          this.stats.sendFailures += 1;
          this.deps.log.warn({ recipient: jid, id }, `telemetry not sent: ${error.message}`);
        },
      );
    }
  }
}
