/**
 * Per-sink delivery state over the shared log. The durable part is one number, the cursor: every
 * seq up to it is acked or gone. Everything else (out-of-order acks, in-flight entries, requeued
 * entries) is memory only, which is what makes delivery at least once rather than exactly once.
 */
import { OutboxError, OutboxUsageError } from "./errors.js";
import type { Segment, SegmentLog } from "./log.js";
import { decodePayload } from "./record.js";
import type { StoredEntry } from "./record.js";
import type { OutboxEntry, OutboxSink } from "./types.js";

export interface SinkHooks {
  /** Throws OutboxClosedError once the outbox is closed. */
  assertOpen(op: string): void;
  /** Lets the outbox drop expired segments before entries are handed out. */
  beforeNext(): void;
  cursorMoved(): void;
  /** The payloads of `entries`, from memory or read back from disk. */
  payloads(entries: readonly StoredEntry[]): string[];
}

export interface SinkLoss {
  count: number;
  fromSeq: number;
  toSeq: number;
}

export class SinkState implements OutboxSink {
  private cursorSeq: number;
  /** Acked seqs above the cursor, waiting for the gap below them to close. */
  private readonly acked = new Set<number>();
  private readonly flying = new Set<number>();
  /** Requeued seqs, ascending; all below `frontier`, so they go out before fresh entries. */
  private requeued: number[] = [];
  /** Seqs from here on were never handed out by this instance. */
  private frontier: number;
  private droppedCount = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    readonly name: string,
    cursor: number,
    private readonly log: SegmentLog,
    private readonly hooks: SinkHooks,
  ) {
    this.cursorSeq = cursor;
    this.frontier = cursor + 1;
  }

  get cursor(): number {
    return this.cursorSeq;
  }

  get pending(): number {
    return this.log.countAfter(this.cursorSeq) - this.acked.size;
  }

  get inFlight(): number {
    return this.flying.size;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  next(limit: number): OutboxEntry[] {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new OutboxUsageError(
        `sink ${this.name}: next(${limit}): limit must be an integer >= 1`,
      );
    }
    this.hooks.assertOpen("next");
    this.hooks.beforeNext();
    const taken = this.takeRequeued(limit);
    this.takeFresh(limit, taken);
    const payloads = this.hooks.payloads(taken);
    for (const entry of taken) this.flying.add(entry.seq);
    return taken.map((stored, i) => toEntry(stored, payloads[i]));
  }

  take(seq: number): OutboxEntry | undefined {
    this.hooks.assertOpen("take");
    if (seq <= this.cursorSeq || this.acked.has(seq) || this.flying.has(seq)) return undefined;
    const entry = this.log.firstAtOrAfter(seq);
    if (entry?.seq !== seq) return undefined;
    const [payload] = this.hooks.payloads([entry]);
    this.requeued = this.requeued.filter((s) => s !== seq);
    this.flying.add(seq);
    return toEntry(entry, payload);
  }

  ack(seq: number): void {
    if (!Number.isSafeInteger(seq)) throw new OutboxUsageError(`sink ${this.name}: ack(${seq})`);
    this.hooks.assertOpen("ack");
    if (seq <= this.cursorSeq) return;
    if (seq > this.log.end) {
      throw new OutboxUsageError(
        `sink ${this.name}: ack(${seq}) of an entry never appended (last is ${this.log.end})`,
      );
    }
    if (!this.log.has(seq)) return;
    this.flying.delete(seq);
    this.acked.add(seq);
    this.advance();
  }

  requeue(seqs?: Iterable<number>): void {
    let moved = false;
    for (const seq of seqs === undefined ? [...this.flying] : [...seqs]) {
      if (!this.flying.delete(seq)) continue;
      // Taken out of turn (take()) and not reached by next() yet: next() will hand it out in order.
      if (seq < this.frontier) this.requeued.push(seq);
      moved = true;
    }
    if (!moved) return;
    this.requeued.sort((a, b) => a - b);
    this.wake();
  }

  whenAvailable(): Promise<void> {
    if (this.closed || this.pending > this.flying.size) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called by the outbox after commits and on close. */
  wake(): void {
    if (this.waiters.length === 0 || (!this.closed && this.pending <= this.flying.size)) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /**
   * Moves the cursor over acked entries and over seqs missing from the log (lost or dropped),
   * stopping at the first entry still owed to the peer.
   */
  advance(): void {
    const before = this.cursorSeq;
    let entry = this.log.firstAtOrAfter(this.cursorSeq + 1);
    while (entry !== undefined && this.acked.delete(entry.seq)) {
      this.cursorSeq = entry.seq;
      entry = this.log.firstAtOrAfter(entry.seq + 1);
    }
    this.cursorSeq = Math.max(this.cursorSeq, (entry?.seq ?? this.log.end + 1) - 1);
    if (this.cursorSeq === before) return;
    this.frontier = Math.max(this.frontier, this.cursorSeq + 1);
    this.hooks.cursorMoved();
  }

  /** The outbox is about to drop `segment`: what this sink had not acked of it. */
  dropSegment(segment: Segment): SinkLoss | undefined {
    let loss: SinkLoss | undefined;
    for (const { seq } of segment.entries) {
      if (seq <= this.cursorSeq || this.acked.has(seq)) continue;
      if (loss) {
        loss.count++;
        loss.toSeq = seq;
      } else loss = { count: 1, fromSeq: seq, toSeq: seq };
    }
    const last = segment.lastSeq;
    if (last !== undefined && last > this.cursorSeq) this.skipTo(last);
    this.droppedCount += loss?.count ?? 0;
    return loss;
  }

  /** Seqs found missing on open that this sink never acked. */
  noteLost(count: number): void {
    this.droppedCount += count;
  }

  private skipTo(seq: number): void {
    this.cursorSeq = seq;
    for (const set of [this.acked, this.flying]) {
      for (const s of set) if (s <= seq) set.delete(s);
    }
    this.requeued = this.requeued.filter((s) => s > seq);
    this.frontier = Math.max(this.frontier, seq + 1);
  }

  private takeRequeued(limit: number): StoredEntry[] {
    const taken: StoredEntry[] = [];
    let used = 0;
    for (const seq of this.requeued) {
      if (taken.length >= limit) break;
      used++;
      if (seq <= this.cursorSeq || this.acked.has(seq) || this.flying.has(seq)) continue;
      const entry = this.log.firstAtOrAfter(seq);
      if (entry?.seq === seq) taken.push(entry);
    }
    this.requeued.splice(0, used);
    return taken;
  }

  private takeFresh(limit: number, taken: StoredEntry[]): void {
    if (taken.length >= limit) return;
    for (const entry of this.log.from(Math.max(this.frontier, this.cursorSeq + 1))) {
      this.frontier = entry.seq + 1;
      if (!this.acked.has(entry.seq) && !this.flying.has(entry.seq)) taken.push(entry);
      if (taken.length >= limit) return;
    }
  }
}

export function toEntry(stored: StoredEntry, payload: string | undefined): OutboxEntry {
  const decoded = payload === undefined ? undefined : decodePayload(payload);
  // Payloads were validated when written or recovered; this guards against a bug, not the disk.
  if (!decoded) throw new OutboxError(`outbox entry ${stored.seq} has an invalid payload`);
  return { seq: decoded.seq, at: decoded.at, reading: decoded.reading };
}
