/**
 * Group commit: the appends that arrived during one commit window become one buffer per segment
 * they land in, so a burst costs one write and one fsync instead of one of each per reading.
 */
import type { Reading } from "../reading.js";
import type { AgeNow } from "./age.js";
import { Segment } from "./log.js";
import type { SegmentLog } from "./log.js";
import { encodePayload, encodeRecord, MAX_PAYLOAD_BYTES } from "./record.js";
import type { StoredEntry } from "./record.js";
import type { OutboxEntry } from "./types.js";

/** Room left in a record's payload for the seq, timestamp and sync flag around the reading. */
export const MAX_READING_BYTES = MAX_PAYLOAD_BYTES - 96;

export interface PendingAppend {
  reading: Reading;
  /** Serialized when append() is called, so later changes by the caller cannot leak in. */
  json: string;
  at: number;
  /** Monotonic time of the append, which ages the entry in this process. */
  mono: number;
  /** `at` was taken with a synchronised clock. */
  synced: boolean;
  resolve: (entry: OutboxEntry) => void;
  reject: (error: unknown) => void;
}

/** Appends of one commit that go to one segment: one write and one fsync. */
export interface Group {
  firstSeq: number;
  items: Array<{ pending: PendingAppend; record: Buffer; entry: StoredEntry }>;
}

export interface SegmentLimits {
  segmentBytes: number;
  /** A segment whose oldest entry is older than this (ms) is closed, see planCommit. */
  rollAgeMs: number;
  now: AgeNow;
}

/**
 * Numbers the batch from `nextSeq` and starts a new segment where the active one would outgrow
 * `segmentBytes` or holds entries older than `rollAgeMs`. The age rule keeps maxAgeMs
 * meaningful at low rates: otherwise one slowly filling segment could outlive it many times.
 * Numbers are given at commit, not at append(), so that a failed write can hand them out again
 * and a gap in the log always means damage, never a refused append.
 */
export function planCommit(
  batch: readonly PendingAppend[],
  active: Segment,
  nextSeq: number,
  limits: SegmentLimits,
): Group[] {
  let group: Group = { firstSeq: active.firstSeq, items: [] };
  const groups = [group];
  let bytes = active.bytes;
  let oldestAge = active.age.oldest(limits.now);
  let seq = nextSeq;
  for (const pending of batch) {
    const payload = encodePayload(seq, pending.at, pending.json, pending.synced);
    const record = encodeRecord(payload);
    const full = bytes + record.length > limits.segmentBytes;
    if (bytes > 0 && (full || oldestAge > limits.rollAgeMs)) {
      group = { firstSeq: seq, items: [] };
      groups.push(group);
      bytes = 0;
      oldestAge = -Infinity;
    }
    oldestAge = Math.max(oldestAge, limits.now.mono - pending.mono);
    const entry = { seq, at: pending.at, offset: bytes, size: record.length, payload };
    group.items.push({ pending, record, entry });
    bytes += record.length;
    seq++;
  }
  return groups.filter((g) => g.items.length > 0);
}

/** Adds a written group to the log and resolves its appends. */
export function applyGroup(log: SegmentLog, group: Group): void {
  let segment = log.active as Segment;
  if (segment.firstSeq !== group.firstSeq) {
    segment = new Segment(group.firstSeq);
    log.push(segment);
  }
  for (const { pending, record, entry } of group.items) {
    segment.addAppended(entry, pending.mono);
    segment.bytes += record.length;
    log.end = entry.seq;
    pending.resolve({ seq: entry.seq, at: entry.at, reading: pending.reading });
  }
}

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
