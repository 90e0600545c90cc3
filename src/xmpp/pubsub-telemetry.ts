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
import type { Reading } from "../core/reading.js";
import { itemId, mayRefuseOptions, publishIq, telemetryItem } from "./pubsub.js";
import type { PublishOptions, PubSubTarget } from "./pubsub.js";

export interface PubSubLink {
  readonly online: boolean;
  request(iq: Element): Promise<Element>;
}

export interface PubSubStats {
  published: number;
  failures: number;
  /** "access-model" once the service took a publish only without the other options. */
  publishOptions: PublishOptions;
}

export class PubSubTelemetry implements RelayTransport {
  readonly stats: PubSubStats = { published: 0, failures: 0, publishOptions: "all" };
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
    try {
      await this.publish(readings);
      this.stats.published += 1;
      this.lastError = "";
    } catch (error) {
      this.stats.failures += 1;
      const reason = error instanceof Error ? error.message : String(error);
      // One line per kind of failure, not per retry: a misconfigured node fails every publish.
      if (reason !== this.lastError) {
        const { node, service } = this.deps.target;
        this.deps.log.warn({ node, service, reason }, "pubsub publish failed");
      }
      this.lastError = reason;
      throw error;
    }
  }

  /**
   * Publishes with the options the service takes. A refusal that may be about the options is
   * retried once with the access model alone; if that is taken, later publishes leave the other
   * options out too, without a refusal each time.
   */
  private async publish(readings: Reading[]): Promise<void> {
    const { connection, target } = this.deps;
    const iq = (which: PublishOptions) =>
      publishIq(target, itemId(readings), telemetryItem(readings), which);
    const which = this.stats.publishOptions;
    try {
      await connection.request(iq(which));
    } catch (error) {
      if (which !== "all" || !mayRefuseOptions(error)) throw error;
      await connection.request(iq("access-model"));
      if (this.stats.publishOptions === "access-model") return;
      this.stats.publishOptions = "access-model";
      const reason = error instanceof Error ? error.message : String(error);
      this.deps.log.warn(
        { node: target.node, service: target.service, reason },
        "the pubsub service refuses the item limit (pubsub#max_items, persist_items): " +
          "publishing with the access model only; the node's own item limit applies",
      );
    }
  }
}
