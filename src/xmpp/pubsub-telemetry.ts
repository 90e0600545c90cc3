/**
 * PubSub telemetry as an outbox relay transport: a batch of readings is one published item, and
 * the server's IQ result is the confirmation that lets it leave the outbox (its own sink, so a
 * slow or broken pubsub service does not hold back messages, nor the reverse).
 */
import type { Element } from "@xmpp/xml";
import type { LaneFilter } from "../core/lane-filter.js";
import type { Logger } from "../core/logger.js";
import type { OutboxEntry } from "../core/outbox/index.js";
import type { Lane, RelayTransport } from "../core/relay.js";
import { itemId, publishIq, telemetryItem, type PubSubTarget } from "./pubsub.js";

export interface PubSubLink {
  readonly online: boolean;
  request(iq: Element): Promise<Element>;
}

export interface PubSubStats {
  published: number;
  failures: number;
}

export class PubSubTelemetry implements RelayTransport {
  readonly stats: PubSubStats = { published: 0, failures: 0 };
  private lastError = "";

  constructor(
    private readonly deps: {
      connection: PubSubLink;
      target: PubSubTarget;
      filter: LaneFilter;
      log: Logger;
    },
  ) {}

  get ready(): boolean {
    return this.deps.connection.online;
  }

  async deliver(entries: OutboxEntry[], lane: Lane): Promise<void> {
    const readings = this.deps.filter.select(entries, lane);
    if (readings.length === 0) return;
    const { target } = this.deps;
    try {
      await this.deps.connection.request(
        publishIq(target, itemId(readings), telemetryItem(readings)),
      );
      this.stats.published += 1;
      this.lastError = "";
    } catch (error) {
      this.stats.failures += 1;
      const reason = error instanceof Error ? error.message : String(error);
      // One line per kind of failure, not per retry: a misconfigured node fails every publish.
      if (reason !== this.lastError) {
        this.deps.log.warn(
          { node: target.node, service: target.service, reason },
          "pubsub publish failed",
        );
      }
      this.lastError = reason;
      throw error;
    }
  }
}
