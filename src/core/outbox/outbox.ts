/**
 * The outbox engine over a Storage: numbering, group commit, bounds, cursor persistence. Every
 * change to the storage runs on one serial queue, so a commit, a cursor write and a segment
 * deletion never interleave; sinks read the in-memory log synchronously in between.
 */
import type { Reading } from "../reading.js";
import type { AgeNow } from "./age.js";
import { OutboxClosedError, OutboxError, OutboxUsageError, toOutboxError } from "./errors.js";
import { Segment, SegmentLog } from "./log.js";
import { resolveOptions } from "./options.js";
import type { Settings } from "./options.js";
import { applyGroup, MAX_READING_BYTES, planCommit, SerialQueue } from "./commit.js";
import type { PendingAppend } from "./commit.js";
import { Repair } from "./repair.js";
import { SinkState, toEntry } from "./sink.js";
import type { SinkHooks } from "./sink.js";
import { firstFreeSeq, readPayloads, recoveryReport } from "./storage.js";
import type { Loaded, Storage } from "./storage.js";
import type { DropEvent, DropReason, Outbox, OutboxEntry, OutboxOptions } from "./types.js";
import type { OutboxHealth, OutboxSink, OutboxStats, RecoveryReport } from "./types.js";

export async function openLogOutbox(storage: Storage, options: OutboxOptions): Promise<Outbox> {
  const settings = resolveOptions(options);
  const outbox = new LogOutbox(storage, settings, await storage.load());
  await outbox.start();
  return outbox;
}

/** A segment is closed once its oldest entry is this fraction of maxAgeMs old. */
const ROLL_FRACTION = 8;

class LogOutbox implements Outbox {
  readonly recovery: RecoveryReport;
  private readonly log: SegmentLog;
  private readonly sinks = new Map<string, SinkState>();
  private readonly queue = new SerialQueue();
  private nextSeq: number;
  private pending: PendingAppend[] = [];
  private commitTimer: ReturnType<typeof setTimeout> | undefined;
  private commitQueued = false;
  private cursorTimer: ReturnType<typeof setTimeout> | undefined;
  private cursorsDirty = false;
  /** Segments gone from the log whose files go once the cursors that passed them are saved. */
  private removals: number[] = [];
  private backgroundError: OutboxError | undefined;
  private closing: Promise<void> | undefined;
  private readonly repair: Repair;

  constructor(
    private readonly storage: Storage,
    private readonly settings: Settings,
    loaded: Loaded,
  ) {
    this.nextSeq = firstFreeSeq(loaded);
    const loadedAt = settings.monotonicNow();
    for (const segment of loaded.segments) segment.age.startAging(loadedAt);
    this.log = new SegmentLog(loaded.segments, this.nextSeq - 1);
    this.recovery = recoveryReport(loaded, this.log);
    const hooks = this.sinkHooks();
    // A sink new to this directory starts at the oldest entry held.
    const start = (this.log.firstSeq ?? this.nextSeq) - 1;
    for (const name of settings.sinks) {
      const cursor = loaded.cursors?.get(name) ?? start;
      this.sinks.set(name, new SinkState(name, cursor, this.log, hooks));
    }
    const stored = [...(loaded.cursors?.keys() ?? [])];
    this.cursorsDirty =
      stored.length !== settings.sinks.length || stored.some((n) => !this.sinks.has(n));
    this.repair = new Repair({
      ...settings.repairBackoff,
      now: settings.now,
      attempt: () => this.queue.run(() => this.reopen()),
      onHealth: settings.onHealth,
      onCallbackError: (cause) => this.fail(new OutboxError("onHealth threw", { cause })),
    });
  }

  async start(): Promise<void> {
    if (!this.log.active) {
      await this.storage.create(this.nextSeq);
      this.log.push(new Segment(this.nextSeq));
    }
    this.reportLost();
    await this.queue.run(() => this.enforceBounds());
    await this.queue.run(() => this.persist());
  }

  get stats(): OutboxStats {
    return {
      ...this.storage.counters,
      entries: this.log.entryCount,
      bytes: this.log.bytes,
      segments: this.log.segments.length,
      nextSeq: this.nextSeq,
    };
  }

  newest(): OutboxEntry | undefined {
    const segment = this.log.segmentOf(this.log.lastSeq ?? 0);
    const stored = segment?.entries[segment.entries.length - 1];
    if (!stored) return undefined;
    const [payload] = readPayloads(this.log, this.storage, [stored]);
    return toEntry(stored, payload);
  }

  get health(): OutboxHealth {
    return this.repair.health;
  }

  sink(name: string): OutboxSink {
    const sink = this.sinks.get(name);
    if (sink) return sink;
    throw new OutboxUsageError(
      `unknown sink "${name}" (configured: ${this.settings.sinks.join(", ")})`,
    );
  }

  append(reading: Reading): Promise<OutboxEntry> {
    if (this.closing) return Promise.reject(new OutboxClosedError("append"));
    const at = this.settings.now();
    const mono = this.settings.monotonicNow();
    const synced = this.settings.clockSynchronized();
    const json = JSON.stringify(reading) as string | undefined;
    if (json === undefined || Buffer.byteLength(json) > MAX_READING_BYTES || !Number.isFinite(at)) {
      const size = json === undefined ? "not JSON" : `${Buffer.byteLength(json)} bytes`;
      return Promise.reject(new OutboxUsageError(`cannot append reading (${size}, at ${at})`));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ reading, json, at, mono, synced, resolve, reject });
      if (this.pending.length >= this.settings.commitBatch) this.kickCommit();
      else this.commitTimer ??= setTimeout(() => this.kickCommit(), this.settings.commitWindowMs);
    });
  }

  async flush(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.pending.length > 0) this.kickCommit();
    await this.queue
      .run(() => this.persist())
      .catch((cause: unknown) => {
        throw toOutboxError(cause);
      });
    this.throwBackgroundError();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.cursorTimer);
    this.repair.stop();
    if (this.pending.length > 0) this.kickCommit();
    try {
      await this.queue.run(() => this.persist());
    } catch (cause) {
      throw toOutboxError(cause);
    } finally {
      for (const sink of this.sinks.values()) sink.close();
      await this.storage.close();
    }
    this.throwBackgroundError();
  }

  private kickCommit(): void {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    if (this.commitQueued) return;
    this.commitQueued = true;
    this.background(() => this.commit());
  }

  /** Everything waiting, in as few writes as segment boundaries allow (normally one). */
  private async commit(): Promise<void> {
    this.commitQueued = false;
    const batch = this.pending.splice(0);
    const groups = planCommit(batch, this.log.active as Segment, this.nextSeq, {
      segmentBytes: this.settings.segmentBytes,
      rollAgeMs: this.settings.maxAgeMs / ROLL_FRACTION,
      now: this.clocks(),
    });
    this.nextSeq += batch.length;
    for (const [i, group] of groups.entries()) {
      try {
        await this.storage.append(
          group.firstSeq,
          group.items.map((item) => item.record),
        );
      } catch (cause) {
        // Nothing of this group counts as written, so its numbers are handed out again.
        this.nextSeq = group.items[0]?.entry.seq ?? this.nextSeq;
        const error = toOutboxError(cause);
        const refused = groups.slice(i).flatMap((later) => later.items);
        for (const item of refused) item.pending.reject(error);
        this.repair.failed(error, refused.length);
        break;
      }
      applyGroup(this.log, group);
      this.repair.succeeded();
    }
    for (const sink of this.sinks.values()) sink.wake();
    await this.enforceBounds();
  }

  private async enforceBounds(): Promise<void> {
    while (this.log.segments.length > 1 && this.log.bytes > this.settings.maxBytes) {
      this.dropOldest("maxBytes");
    }
    this.dropExpired();
    const active = this.log.active as Segment;
    if (this.log.segments.length === 1 && active.entries.length > 0 && this.expired(active)) {
      // Roll first: the new empty segment keeps the numbering on disk once the old one is gone.
      await this.storage.create(this.nextSeq);
      this.log.push(new Segment(this.nextSeq));
      this.dropOldest("maxAge");
    }
    if (this.removals.length > 0) await this.persist();
  }

  /** Only closed segments: the active one may be in the middle of a commit. */
  private dropExpired(): void {
    while (this.log.segments.length > 1 && this.expired(this.log.oldest as Segment)) {
      this.dropOldest("maxAge");
    }
  }

  private expired(segment: Segment): boolean {
    if (this.settings.maxAgeMs === Infinity) return false;
    return segment.age.youngest(this.clocks()) > this.settings.maxAgeMs;
  }

  private clocks(): AgeNow {
    const { now, monotonicNow, clockSynchronized } = this.settings;
    return { wall: now(), mono: monotonicNow(), synced: clockSynchronized() };
  }

  private dropOldest(reason: DropReason): void {
    const segment = this.log.shift() as Segment;
    this.removals.push(segment.firstSeq);
    this.cursorsDirty = true;
    for (const sink of this.sinks.values()) {
      const loss = sink.dropSegment(segment);
      sink.advance();
      if (loss) this.emitDrop({ sink: sink.name, reason, ...loss });
    }
  }

  /** Seqs missing from the log that a sink never acked: reported once per open. */
  private reportLost(): void {
    for (const sink of this.sinks.values()) {
      for (const [fromSeq, toSeq] of this.log.missingAfter(sink.cursor)) {
        const count = toSeq - fromSeq + 1;
        sink.noteLost(count);
        this.emitDrop({ sink: sink.name, count, fromSeq, toSeq, reason: "lost" });
      }
      sink.advance();
    }
  }

  /** Saves the cursors, then deletes what they made unnecessary; never the other way round. */
  private async persist(): Promise<void> {
    this.collectAcked();
    const removals = this.removals;
    if (!this.cursorsDirty && removals.length === 0) return;
    this.removals = [];
    this.cursorsDirty = false;
    try {
      await this.storage.saveCursors(this.cursorMap());
      await this.storage.remove(removals);
    } catch (cause) {
      this.cursorsDirty = true;
      this.removals.unshift(...removals);
      throw cause;
    }
  }

  /** After a failure: the storage cuts back what it cannot vouch for; a cursor write proves it. */
  private async reopen(): Promise<void> {
    await this.storage.repair();
    this.cursorsDirty = true;
    await this.persist();
  }

  /** Closed segments every sink has acked completely. */
  private collectAcked(): void {
    const floor = Math.min(...[...this.sinks.values()].map((s) => s.cursor));
    while (this.log.segments.length > 1) {
      const last = (this.log.oldest as Segment).lastSeq;
      if (last !== undefined && last > floor) break;
      this.removals.push((this.log.shift() as Segment).firstSeq);
    }
  }

  private cursorMap(): Map<string, number> {
    return new Map([...this.sinks.values()].map((s) => [s.name, s.cursor]));
  }

  private sinkHooks(): SinkHooks {
    return {
      assertOpen: (op) => {
        if (this.closing) throw new OutboxClosedError(op);
      },
      payloads: (entries) => readPayloads(this.log, this.storage, entries),
      beforeNext: () => {
        this.dropExpired();
        if (this.removals.length > 0) this.background(() => this.persist());
      },
      cursorMoved: () => {
        this.cursorsDirty = true;
        if (this.cursorTimer || this.closing) return;
        this.cursorTimer = setTimeout(() => {
          this.cursorTimer = undefined;
          this.background(() => this.persist());
        }, this.settings.cursorFlushMs);
        // A cursor not yet written costs only redelivery; it must not keep the process alive.
        this.cursorTimer.unref();
      },
    };
  }

  private emitDrop(event: DropEvent): void {
    try {
      this.settings.onDrop?.(event);
    } catch (cause) {
      this.fail(new OutboxError(`onDrop threw for sink ${event.sink}`, { cause }));
    }
  }

  private background(op: () => Promise<void>): void {
    this.queue.run(op).catch((cause: unknown) => this.fail(cause));
  }

  private fail(cause: unknown): void {
    const error = toOutboxError(cause);
    // While failing, a cursor write refused every second would say nothing the health does not.
    if (this.repair.absorbed(error)) return;
    if (this.settings.onError) this.settings.onError(error);
    else this.backgroundError ??= error;
  }

  private throwBackgroundError(): void {
    const error = this.backgroundError;
    this.backgroundError = undefined;
    if (error) throw error;
  }
}
