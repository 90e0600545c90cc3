/**
 * What the outbox engine needs from a disk, and the recovery both storages share: the file store
 * reads segment files, the memory store reads buffers, and both go through `recover()`.
 */
import { Segment } from "./log.js";
import type { SegmentLog } from "./log.js";
import { OutboxError } from "./errors.js";
import { payloadAt, scanRecords } from "./record.js";
import type { StoredEntry } from "./record.js";
import type { CorruptRegion, OutboxCounters, RecoveryReport } from "./types.js";

export interface Loaded {
  /** Oldest first; only the last can be empty. */
  segments: Segment[];
  /** undefined when there was a cursor file but it could not be read. */
  cursors: Map<string, number> | undefined;
  truncatedBytes: number;
  corrupt: CorruptRegion[];
}

export interface Storage {
  readonly counters: OutboxCounters;
  load(): Promise<Loaded>;
  /** Appends records to the segment named by `firstSeq`, creating it if needed; durable on return. */
  append(firstSeq: number, records: readonly Buffer[]): Promise<void>;
  /** Makes an empty segment exist durably (it carries the numbering when nothing else does). */
  create(firstSeq: number): Promise<void>;
  remove(firstSeqs: readonly number[]): Promise<void>;
  /**
   * `length` bytes at `offset` of the segment named by `firstSeq`. Synchronous: sinks take
   * entries synchronously, and this reads a few KiB of a file written earlier (usually still in
   * the page cache).
   */
  readRange(firstSeq: number, offset: number, length: number): Buffer;
  /** Replaces the cursor file atomically. */
  saveCursors(cursors: ReadonlyMap<string, number>): Promise<void>;
  /**
   * After a failed append: brings the active segment back to what is known durable, so that
   * appends can go on; throws while the disk refuses. Does nothing when nothing is in doubt.
   */
  repair(): Promise<void>;
  close(): Promise<void>;
}

export function newCounters(): OutboxCounters {
  return { records: 0, bytesWritten: 0, writes: 0, fsyncs: 0, cursorWrites: 0 };
}

export function segmentFileName(firstSeq: number): string {
  // Zero-padded so that `ls` lists segments in log order.
  return `seg-${String(firstSeq).padStart(16, "0")}.log`;
}

export function parseSegmentFileName(name: string): number | undefined {
  const match = /^seg-(\d+)\.log$/.exec(name);
  const seq = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : undefined;
}

export function encodeCursors(cursors: ReadonlyMap<string, number>): string {
  return JSON.stringify({ version: 1, sinks: Object.fromEntries(cursors) }) + "\n";
}

export function decodeCursors(text: string): Map<string, number> | undefined {
  try {
    const parsed = JSON.parse(text) as { version?: unknown; sinks?: unknown };
    if (parsed.version !== 1 || typeof parsed.sinks !== "object" || parsed.sinks === null) {
      return undefined;
    }
    const entries = Object.entries(parsed.sinks as Record<string, unknown>);
    if (!entries.every(([, v]) => Number.isSafeInteger(v) && (v as number) >= 0)) return undefined;
    return new Map(entries as Array<[string, number]>);
  } catch {
    return undefined;
  }
}

/** How recovery reads and repairs one storage's segments. */
export interface RecoverySource {
  /** Segment names (first seqs), ascending. */
  firstSeqs: readonly number[];
  read(firstSeq: number): Promise<Buffer>;
  truncate(firstSeq: number, length: number): Promise<void>;
  remove(firstSeq: number): Promise<void>;
}

/**
 * Scans every segment in order, cuts invalid tails and deletes empty segments except the last,
 * whose name still carries the numbering when everything else is gone.
 */
export async function recover(source: RecoverySource): Promise<Omit<Loaded, "cursors">> {
  const segments: Segment[] = [];
  const corrupt: CorruptRegion[] = [];
  let truncatedBytes = 0;
  let lastSeq = 0;
  for (const [i, firstSeq] of source.firstSeqs.entries()) {
    const data = await source.read(firstSeq);
    const scan = scanRecords(data, lastSeq);
    const file = segmentFileName(firstSeq);
    corrupt.push(...scan.corrupt.map((c) => ({ file, ...c })));
    if (scan.validEnd < data.length) {
      truncatedBytes += data.length - scan.validEnd;
      await source.truncate(firstSeq, scan.validEnd);
    }
    if (scan.records.length === 0 && i < source.firstSeqs.length - 1) {
      await source.remove(firstSeq);
      continue;
    }
    const segment = new Segment(firstSeq, scan.validEnd);
    for (const record of scan.records) segment.addLoaded(record.entry, record.synced);
    lastSeq = segment.lastSeq ?? lastSeq;
    segments.push(segment);
  }
  return { segments, truncatedBytes, corrupt };
}

/**
 * Numbers are never handed out twice: past the last record, past every cursor (a sink may have
 * acked records that were lost since), and at least the name of the newest segment file.
 */
export function firstFreeSeq(loaded: Loaded): number {
  const lastRecord = loaded.segments.reduce((max, s) => Math.max(max, s.lastSeq ?? 0), 0);
  const cursors = [...(loaded.cursors?.values() ?? [])];
  const newestFile = loaded.segments[loaded.segments.length - 1]?.firstSeq ?? 1;
  return Math.max(lastRecord + 1, ...cursors.map((c) => c + 1), newestFile);
}

export function recoveryReport(loaded: Loaded, log: SegmentLog): RecoveryReport {
  const lost = log.missingAfter((log.firstSeq ?? log.end + 1) - 1);
  return {
    segments: loaded.segments.length,
    entries: log.entryCount,
    truncatedBytes: loaded.truncatedBytes,
    corrupt: loaded.corrupt,
    lostSeqs: lost.reduce((n, [from, to]) => n + to - from + 1, 0),
    cursorsReset: loaded.cursors === undefined,
  };
}

/**
 * The payloads of `entries` (ascending seqs), from memory where the log still holds them, else
 * from disk with one read per run of adjacent records of one segment.
 */
export function readPayloads(
  log: SegmentLog,
  storage: Storage,
  entries: readonly StoredEntry[],
): string[] {
  const payloads: string[] = [];
  let i = 0;
  while (i < entries.length) {
    const first = entries[i] as StoredEntry;
    if (first.payload !== undefined) {
      payloads.push(first.payload);
      i++;
      continue;
    }
    const segment = log.segmentOf(first.seq);
    if (!segment) throw new OutboxError(`outbox entry ${first.seq} is no longer held`);
    let end = i + 1;
    for (let prev = first; end < entries.length; end++) {
      const next = entries[end] as StoredEntry;
      const adjacent =
        next.offset === prev.offset + prev.size && next.seq <= (segment.lastSeq ?? 0);
      if (!adjacent || next.payload !== undefined) break;
      prev = next;
    }
    const last = entries[end - 1] as StoredEntry;
    const buf = storage.readRange(
      segment.firstSeq,
      first.offset,
      last.offset + last.size - first.offset,
    );
    for (const entry of entries.slice(i, end)) {
      const payload = payloadAt(buf, entry.offset - first.offset, entry.size);
      if (payload === undefined) {
        throw new OutboxError(
          `outbox entry ${entry.seq} no longer reads back from ${segmentFileName(segment.firstSeq)} at offset ${entry.offset}`,
        );
      }
      payloads.push(payload);
    }
    i = end;
  }
  return payloads;
}
