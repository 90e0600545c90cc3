/**
 * Durable outbox: every reading the agent accepts is on disk before it counts as accepted, and
 * it leaves for a sink (XMPP, later MQTT) only when that sink's peer acknowledged it.
 *
 * Why an append-only segmented log on node:fs rather than SQLite: SQLite bindings need a native
 * build that cannot be fetched on the device, and the outbox needs little of a database. An
 * append-only file is only ever extended, so a power cut can damage nothing but the last write,
 * and a per-record CRC makes that torn tail detectable: recovery is "read until the first bad
 * record, cut there". Splitting the log into segments makes dropping the oldest data one unlink
 * instead of a rewrite, and lets acked data go away without compaction.
 *
 * Layout of the directory:
 *   seg-<firstSeq, 16 digits>.log   records, see record.ts (length, CRC-32, JSON payload)
 *   cursors.json                    {"version":1,"sinks":{"xmpp":1234}} replaced atomically
 *
 * Semantics:
 * - append() resolves after fsync; appends within `commitWindowMs` (or `commitBatch` of them)
 *   share one write and one fsync. Entries get outbox seqs 1, 2, 3… in order.
 * - Each sink has its own cursor: everything up to it is acked or dropped. Acks are per entry;
 *   the cursor advances over the contiguous acked prefix and is written at most every
 *   `cursorFlushMs`. Delivery is at least once: after a crash, or a requeue on connection loss,
 *   entries not covered by the saved cursor are delivered again. Duplicates are recognisable by
 *   the reading's (device, boot, seq).
 * - Bounds: while the segments exceed `maxBytes`, or a segment's newest entry is older than
 *   `maxAgeMs`, the oldest segment is dropped whether acked or not (a segment is closed once its
 *   oldest entry is maxAgeMs/8 old, so age drops stay timely at low rates). Each sink counts
 *   what it lost (`dropped`) and `onDrop` reports the range; nothing disappears silently. Age
 *   is measured so that a step of the wall clock (NTP on a board without a real-time clock)
 *   does not age fresh entries, see age.ts; each record says whether its stamp was synchronised.
 *   The active segment is never dropped for size, so keep maxBytes at several segmentBytes.
 *   Segments all sinks acked are deleted, cursors first, so a crash in between only leaves a
 *   segment behind.
 * - Recovery (open): a torn or damaged tail is cut. Damage in the middle of a segment is
 *   skipped: the scan resumes at the next record that passes its CRC and continues the seq
 *   order, so one bad sector costs the records it hit, not the rest of the log. Since seqs are
 *   consecutive, the lost ones are known exactly; each sink that had not acked them gets an
 *   `onDrop` with reason "lost" (again at each open, until its cursor passes them). Damage to
 *   the very last record cannot be told from a torn write and is cut as one.
 * - Memory: only the active segment's payloads stay in memory (live readings go out from
 *   there); for older segments the index keeps each record's offset and size, about 90 bytes
 *   an entry, and payloads are read back when a sink gets that far (one read per batch).
 *   200,000 entries (58 MiB on disk) index in 18 MiB of heap.
 * - One process per directory; nothing locks it.
 */
import { FileStorage } from "./file-storage.js";
import { MemoryDisk, MemoryStorage } from "./memory-storage.js";
import { openLogOutbox } from "./outbox.js";
import type { Outbox as OutboxApi, OutboxOptions } from "./types.js";

export type Outbox = OutboxApi;

export const Outbox = {
  /** Opens (creating if needed) the outbox in `dir`, recovering whatever a crash left. */
  open(dir: string, options: OutboxOptions): Promise<Outbox> {
    return openLogOutbox(new FileStorage(dir), options);
  },
};

/**
 * The same outbox on a MemoryDisk instead of files: same numbering, bounds and sink semantics,
 * for tests of code that uses an outbox. Open it again on the same disk to model a restart.
 */
export const MemoryOutbox = {
  open(options: OutboxOptions, disk: MemoryDisk = new MemoryDisk()): Promise<Outbox> {
    return openLogOutbox(new MemoryStorage(disk), options);
  },
};

export { MemoryDisk };
export { OutboxClosedError, OutboxError, OutboxIoError, OutboxUsageError } from "./errors.js";
export { segmentFileName } from "./storage.js";
export type {
  CorruptRegion,
  DropEvent,
  DropReason,
  OutboxCounters,
  OutboxEntry,
  OutboxFailure,
  OutboxHealth,
  OutboxOptions,
  OutboxSink,
  OutboxStats,
  RecoveryReport,
} from "./types.js";
