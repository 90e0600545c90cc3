/** Public types of the durable outbox; the design is described in index.ts. */
import type { Reading } from "../reading.js";
import type { OutboxError } from "./errors.js";

export interface OutboxEntry {
  /**
   * Outbox sequence number: 1, 2, 3… in append order, continued across restarts. Not to be
   * confused with `reading.seq`, the device's own counter.
   */
  readonly seq: number;
  /** Agent clock (ms since the epoch) when the entry was appended. */
  readonly at: number;
  readonly reading: Reading;
}

/**
 * One consumer of the outbox (the XMPP relay, later MQTT). Delivery is at least once: an entry is
 * handed out again after `requeue()` and after a restart unless its ack reached the cursor file,
 * so a peer must tolerate duplicates (a reading is identified by device, boot and seq).
 */
export interface OutboxSink {
  readonly name: string;
  /**
   * Up to `limit` entries this sink has neither acked nor in flight, oldest first. Returned
   * entries are in flight until acked or requeued; each call returns fresh objects.
   */
  next(limit: number): OutboxEntry[];
  /**
   * Puts one entry in flight out of turn (a live reading sent ahead of a backlog), or returns
   * undefined when it is acked, in flight or gone. next() skips it while it is in flight; if it
   * is requeued before next() reached it, next() hands it out again in its place.
   */
  take(seq: number): OutboxEntry | undefined;
  /**
   * The peer confirmed `seq`. Acks may come in any order; the durable cursor advances over the
   * contiguous acked prefix. Acking twice, or acking a dropped entry, is a no-op.
   */
  ack(seq: number): void;
  /** Puts in-flight entries (all of them when omitted) back to be handed out again, in order. */
  requeue(seqs?: Iterable<number>): void;
  /** Resolves once `next()` has something to return, or the outbox closes. */
  whenAvailable(): Promise<void>;
  /** Entries not yet acked, in flight or not. */
  readonly pending: number;
  readonly inFlight: number;
  /** Every entry up to and including this seq is acked or dropped for this sink. */
  readonly cursor: number;
  /** Entries this sink never acked that were dropped (bounds) or lost (corruption). */
  readonly dropped: number;
}

/** Why entries left the outbox without being acked. `lost`: found missing or damaged on open. */
export type DropReason = "maxBytes" | "maxAge" | "lost";

/**
 * Entries a sink will never get. `count` can be less than `toSeq - fromSeq + 1` when the sink had
 * already acked some entries of the range out of order.
 */
export interface DropEvent {
  sink: string;
  count: number;
  fromSeq: number;
  toSeq: number;
  reason: DropReason;
}

/** Disk activity since open; divide by `records` for the cost per reading. */
export interface OutboxCounters {
  /** Records appended to segment files. */
  records: number;
  /** Bytes appended to segment files. */
  bytesWritten: number;
  /** write() calls on segment files. */
  writes: number;
  /** fsync/fdatasync calls of every kind: segment data, directories, the cursor file. */
  fsyncs: number;
  /** Times the cursor file was replaced. */
  cursorWrites: number;
}

export interface OutboxStats extends OutboxCounters {
  /** Entries held (not yet acked by every sink, or in a segment not yet deleted). */
  entries: number;
  /** Size of the retained segments. */
  bytes: number;
  segments: number;
  /** The seq the next committed append will get. */
  nextSeq: number;
}

export interface CorruptRegion {
  file: string;
  offset: number;
  bytes: number;
}

/** What open() found and repaired. */
export interface RecoveryReport {
  segments: number;
  entries: number;
  /** Bytes cut from segment ends: a torn last write, or damage with nothing valid after it. */
  truncatedBytes: number;
  /** Damaged stretches skipped because valid records follow them; left in place. */
  corrupt: CorruptRegion[];
  /** Seqs missing between retained entries, i.e. written once and now unreadable. */
  lostSeqs: number;
  /** The cursor file was unreadable: every sink starts again at the oldest retained entry. */
  cursorsReset: boolean;
}

export interface OutboxOptions {
  /**
   * Every sink that reads the outbox. A segment is deleted only when all of them acked it. A sink
   * new to the directory starts at the oldest entry still held; a sink no longer listed is
   * forgotten at the next cursor write.
   */
  sinks: readonly string[];
  /** A segment is closed once it would grow past this. Default 1 MiB. */
  segmentBytes?: number;
  /** Oldest segments are dropped, acked or not, while the total exceeds this. Default 64 MiB. */
  maxBytes?: number;
  /**
   * Segments whose newest entry is older than this are dropped. Default: no limit. Entries
   * appended by this process are aged on `monotonicNow`, so a step of the wall clock does not
   * age them; entries from an earlier process on the wall clock, and those stamped while the
   * clock was not synchronised from when this process loaded them (see age.ts).
   */
  maxAgeMs?: number;
  /** How long an append may wait for others to share its write and fsync. Default 20 ms. */
  commitWindowMs?: number;
  /** Commit at once when this many appends are waiting. Default 64. */
  commitBatch?: number;
  /** Acks are written to the cursor file at most this often. Default 1000 ms. */
  cursorFlushMs?: number;
  /** Wall clock for `at`, and for the age of entries from an earlier process. Default Date.now. */
  now?: () => number;
  /**
   * Monotonic clock (ms, any origin) that ages the entries appended by this process. Default
   * performance.now; when only `now` is given, `now` (a test clock then drives both).
   */
  monotonicNow?: () => number;
  /** Whether `now` is synchronised to a time source (NTP, a real-time clock). Default: always. */
  clockSynchronized?: () => boolean;
  /** Called for every gap a sink will see; dropping is never silent. */
  onDrop?: (event: DropEvent) => void;
  /** Background failures (cursor writes, deletions). Without it they surface from flush()/close(). */
  onError?: (error: OutboxError) => void;
  /**
   * After a failed write or sync, the outbox reopens its storage after these delays, doubling
   * from `initialMs` up to `maxMs` (default 1 s to 60 s), until it takes writes again.
   */
  repairBackoff?: { initialMs: number; maxMs: number };
  /** Called when the outbox starts failing, after each failed attempt to reopen, on recovery. */
  onHealth?: (health: OutboxHealth) => void;
}

/** One stretch of time during which the storage refused writes. */
export interface OutboxFailure {
  /** When it started (the `now` clock, ms since the epoch). */
  since: number;
  /** The latest error: the operation, the file it was on, what the system said. */
  op: string;
  file: string;
  error: string;
  /** Readings refused during it: never accepted, so never sent. */
  refused: number;
  /** Attempts to reopen the storage so far. */
  attempts: number;
  /** When the next attempt is due, while failing. */
  nextAttemptAt: number | undefined;
  /** Set once the storage took writes again. */
  recoveredAt: number | undefined;
}

export interface OutboxHealth {
  /** "failing" from a refused write or sync until the storage proved to take writes again. */
  state: "ok" | "failing";
  /** The current failure, or the last one (with `recoveredAt`); undefined if none yet. */
  failure: OutboxFailure | undefined;
  /** Times the outbox started failing since open. */
  failures: number;
  /** Readings refused while failing, since open. */
  refusedWhileFailing: number;
}

/** The contract shared by every outbox implementation (file-backed, in-memory). */
export interface Outbox {
  /** Resolves once the reading is durable (fsync'ed); only then does it count as accepted. */
  append(reading: Reading): Promise<OutboxEntry>;
  /**
   * The newest entry held, acked or not: where the device's readings stood when the last process
   * stopped. Read back from disk if needed; throws OutboxError if it no longer reads back.
   */
  newest(): OutboxEntry | undefined;
  /** The sink named in the options; throws OutboxUsageError for any other name. */
  sink(name: string): OutboxSink;
  /** Commits waiting appends and writes the cursors now. */
  flush(): Promise<void>;
  /** Commits waiting appends, writes the cursors, releases files. Idempotent. */
  close(): Promise<void>;
  readonly stats: OutboxStats;
  readonly recovery: RecoveryReport;
  /** Whether the storage takes writes; a copy, taken now. */
  readonly health: OutboxHealth;
}
