/**
 * Moves readings from one outbox sink to its transport (XMPP now, any other sink the same way)
 * and acks each only when the transport's peer confirmed it. Transport-independent: the
 * transport says whether it is up and delivers a batch, resolving on the peer's confirmation.
 *
 * Two lanes, so that the present is not starved by the past:
 * - live: in normal operation every reading goes out in order as soon as it is durable (or
 *   batched, per `batch`). While a backlog is being replayed, fresh readings still go out at
 *   once, taken out of turn from the outbox.
 * - replay: after an outage, a failure or a restart, the backlog goes out oldest first, paced
 *   (`catchUp`) so that a server's rate limits are not tripped, marked as late by the transport.
 * Each lane is in order by itself; a reading whose delivery failed is replayed later. Catch-up
 * ends when nothing is left to hand out, and normal operation continues in order from there.
 */
import type { Logger } from "./logger.js";
import type { OutboxEntry, OutboxSink } from "./outbox/index.js";

export type Lane = "live" | "replay";

const READ_RETRY_MS = 5_000;
const MAX_RETRY_MS = 60_000;

export interface RelayTransport {
  /** Whether deliveries can be attempted now; the relay is kicked when this turns true. */
  readonly ready: boolean;
  /** Messages one delivery costs the peer (e.g. one per recipient), for pacing. Default 1. */
  readonly fanout?: number;
  /** Resolves once the peer confirmed every entry; rejects if any may not have arrived. */
  deliver(entries: OutboxEntry[], lane: Lane): Promise<void>;
}

export interface RelayOptions {
  sink: OutboxSink;
  transport: RelayTransport;
  /** Live lane: readings per delivery, and how long the first may wait for company (ms). */
  batch: { maxReadings: number; maxDelayMs: number };
  /** Replay lane: peer messages per second (fanout included) and readings per delivery. */
  catchUp: { messagesPerSecond: number; readingsPerDelivery: number };
  /**
   * Deliveries awaiting confirmation, per lane. Default 64: confirmations come in round trips
   * (an XMPP server acks when asked), and the window must carry the readings of one.
   */
  window?: number;
  log: Logger;
  now?: () => number;
}

export interface RelayStats {
  /** Readings the peer confirmed. */
  delivered: number;
  /** Of which went through the replay lane. */
  replayed: number;
  deliveries: number;
  /** Deliveries not confirmed (connection lost): their readings are replayed. */
  failures: number;
  catchingUp: boolean;
}

interface Delivery {
  entries: OutboxEntry[];
  lane: Lane;
}

export class OutboxRelay {
  readonly #o: Required<Omit<RelayOptions, "now">> & { now: () => number };
  #running = false;
  #catchingUp = false;
  readonly #inFlight = { live: 0, replay: 0 };
  /** Fresh entries to send out of turn while catching up. */
  #liveQueue: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #nextReplayAt = 0;
  #batchWaitSince: number | undefined;
  /** After failures while the transport was up (a refusing peer), nothing goes out before this. */
  #retryAt = 0;
  #failureStreak = 0;
  #idle: Array<() => void> = [];
  readonly #outstanding = new Set<Delivery>();
  readonly #stats = { delivered: 0, replayed: 0, deliveries: 0, failures: 0 };

  constructor(options: RelayOptions) {
    this.#o = { window: 64, now: Date.now, ...options };
  }

  get stats(): RelayStats {
    return { ...this.#stats, catchingUp: this.#catchingUp };
  }

  /** Whatever the sink holds from an earlier run is a backlog: it is replayed. */
  start(): void {
    this.#running = true;
    this.#catchingUp = this.#o.sink.pending > this.#o.sink.inFlight;
    this.pump();
  }

  /** Stops handing out entries. Confirmations of deliveries under way are still applied. */
  stop(): void {
    this.#running = false;
    this.#clearTimer();
    this.#liveQueue = [];
  }

  /** Resolves once no delivery awaits confirmation (stop the transport first to settle them). */
  idle(): Promise<void> {
    if (this.#outstanding.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** A freshly appended (durable) entry. */
  offer(entry: OutboxEntry): void {
    if (!this.#running) return;
    if (!this.#o.transport.ready) this.#catchingUp = true;
    else if (this.#catchingUp) this.#liveQueue.push(entry.seq);
    this.pump();
  }

  /** Hands out what the lanes and the pacing allow. Call when the transport comes up. */
  pump(): void {
    if (!this.#running || !this.#o.transport.ready) return;
    if (this.#o.now() < this.#retryAt) return this.#wakeAt(this.#retryAt);
    try {
      this.#pumpLiveQueue();
      this.#pumpSink();
    } catch (error) {
      // A payload that no longer reads back from disk: say so, and try again in a while.
      this.#o.log.error({ err: error }, "telemetry relay cannot read the outbox");
      this.#wakeAt(this.#o.now() + READ_RETRY_MS);
    }
  }

  #pumpLiveQueue(): void {
    const { sink, batch, window } = this.#o;
    // Beyond what the window can carry soon, fresh entries wait for the replay lane instead.
    this.#liveQueue.splice(0, Math.max(0, this.#liveQueue.length - window * batch.maxReadings));
    while (this.#liveQueue.length > 0 && this.#inFlight.live < window) {
      const seqs = this.#liveQueue.splice(0, batch.maxReadings);
      const entries = seqs.flatMap((seq) => sink.take(seq) ?? []);
      if (entries.length > 0) this.#send(entries, "live");
    }
  }

  #pumpSink(): void {
    const { sink, window } = this.#o;
    for (;;) {
      const lane: Lane = this.#catchingUp ? "replay" : "live";
      if (this.#inFlight[lane] >= window) return;
      if (sink.pending - sink.inFlight <= 0) {
        if (this.#catchingUp) this.#caughtUp();
        return;
      }
      const size = lane === "replay" ? this.#replayBatch() : this.#liveBatch();
      if (size === 0) return;
      this.#send(sink.next(size), lane);
    }
  }

  /** Readings for the next replay delivery, or 0 when the pacing says wait. */
  #replayBatch(): number {
    const { catchUp, transport } = this.#o;
    const now = this.#o.now();
    if (now < this.#nextReplayAt) {
      this.#wakeAt(this.#nextReplayAt);
      return 0;
    }
    const spacingMs = ((transport.fanout ?? 1) * 1000) / catchUp.messagesPerSecond;
    this.#nextReplayAt = Math.max(now, this.#nextReplayAt) + spacingMs;
    return catchUp.readingsPerDelivery;
  }

  /** Readings for the next live delivery, or 0 while a partial batch may still wait. */
  #liveBatch(): number {
    const { sink, batch } = this.#o;
    const waiting = sink.pending - sink.inFlight;
    if (waiting < batch.maxReadings && batch.maxDelayMs > 0) {
      const now = this.#o.now();
      this.#batchWaitSince ??= now;
      const due = this.#batchWaitSince + batch.maxDelayMs;
      if (now < due) {
        this.#wakeAt(due);
        return 0;
      }
    }
    this.#batchWaitSince = undefined;
    return batch.maxReadings;
  }

  #caughtUp(): void {
    this.#catchingUp = false;
    this.#liveQueue = [];
    this.#o.log.info(
      { delivered: this.#stats.delivered, replayed: this.#stats.replayed },
      "telemetry backlog handed out; back to live delivery",
    );
  }

  #send(entries: OutboxEntry[], lane: Lane): void {
    const delivery: Delivery = { entries, lane };
    this.#outstanding.add(delivery);
    this.#inFlight[lane] += 1;
    this.#stats.deliveries += 1;
    // deliver() may throw instead of rejecting; both mean "not confirmed".
    Promise.resolve()
      .then(() => this.#o.transport.deliver(entries, lane))
      .then(
        () => {
          if (this.#settle(delivery)) this.#confirmed(entries, lane);
        },
        (error: unknown) => {
          if (this.#settle(delivery)) this.#unconfirmed(entries, error);
        },
      )
      .finally(() => this.pump())
      .catch((error: unknown) => this.#o.log.error({ err: error }, "telemetry relay failed"));
  }

  /**
   * Gives up on every delivery still awaiting its peer, for a stop that cannot wait any longer:
   * their entries are requeued, not acked, so they go out again (at the next start at the
   * latest), and a late answer changes nothing. Returns the readings given up on.
   */
  abandon(): number {
    let readings = 0;
    for (const delivery of [...this.#outstanding]) {
      this.#settle(delivery);
      this.#stats.failures += 1;
      this.#o.sink.requeue(delivery.entries.map((e) => e.seq));
      readings += delivery.entries.length;
    }
    return readings;
  }

  /** False when abandon() already settled this delivery. */
  #settle(delivery: Delivery): boolean {
    if (!this.#outstanding.delete(delivery)) return false;
    this.#inFlight[delivery.lane] -= 1;
    if (this.#outstanding.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
    return true;
  }

  #confirmed(entries: OutboxEntry[], lane: Lane): void {
    this.#failureStreak = 0;
    this.#retryAt = 0;
    for (const entry of entries) this.#o.sink.ack(entry.seq);
    this.#stats.delivered += entries.length;
    if (lane === "replay") this.#stats.replayed += entries.length;
  }

  #unconfirmed(entries: OutboxEntry[], error: unknown): void {
    this.#stats.failures += 1;
    this.#catchingUp = true;
    // A peer that is up but refuses (e.g. a misconfigured pubsub node) is retried with backoff;
    // a lost connection is retried when it is back, which the transport's `ready` tells.
    if (this.#o.transport.ready) {
      this.#failureStreak += 1;
      const delay = Math.min(MAX_RETRY_MS, 1000 * 2 ** (this.#failureStreak - 1));
      this.#retryAt = Math.max(this.#retryAt, this.#o.now() + delay);
    }
    this.#o.sink.requeue(entries.map((e) => e.seq));
    const reason = error instanceof Error ? error.message : String(error);
    this.#o.log.debug({ readings: entries.length, reason }, "telemetry unconfirmed; will resend");
  }

  #wakeAt(at: number): void {
    if (!this.#running || at >= this.#timerAt) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - this.#o.now()),
    );
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}
