/**
 * The in-memory index of the retained segments. Entries of the active segment keep their payload
 * as the JSON string that was written (live readings are handed out from memory); older
 * segments keep only where each record is, and payloads are read back from the file on demand.
 * A full 64 MiB outbox thus costs a few MiB of memory, not several times its size. Sinks get
 * freshly parsed objects they cannot use to alter the stored copy.
 */
import { SegmentAge } from "./age.js";
import type { StoredEntry } from "./record.js";

export class Segment {
  readonly entries: StoredEntry[] = [];
  /** A segment expires only when its youngest entry is older than maxAge. */
  readonly age = new SegmentAge();

  /** `bytes` is the file size, damaged stretches included, since that is what the disk holds. */
  constructor(
    readonly firstSeq: number,
    public bytes = 0,
  ) {}

  get lastSeq(): number | undefined {
    return this.entries[this.entries.length - 1]?.seq;
  }

  /** Drops the payloads held in memory; they stay on disk. */
  evict(): void {
    for (const entry of this.entries) entry.payload = undefined;
  }

  /** An entry read back at open; `synced`: its stamp was taken with a synchronised clock. */
  addLoaded(entry: StoredEntry, synced: boolean): void {
    this.entries.push(entry);
    this.age.loaded(entry.at, synced);
  }

  /** An entry this process appended at monotonic time `mono`. */
  addAppended(entry: StoredEntry, mono: number): void {
    this.entries.push(entry);
    this.age.appended(mono);
  }

  /** Index of the first entry with seq >= `seq` (entries.length when none). */
  indexAtOrAfter(seq: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid] as StoredEntry).seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Segments oldest first. The last one is the active segment appends go to; only it can be
 * empty. Seqs increase strictly across the whole log; gaps are entries lost to damage.
 */
export class SegmentLog {
  readonly segments: Segment[];
  /**
   * Highest seq whose fate is settled: committed, or known lost. Sinks may skip missing seqs up
   * to here, never beyond, since a commit in progress has numbers that are not in the log yet.
   */
  end: number;

  constructor(segments: Segment[], end: number) {
    this.segments = segments;
    this.end = end;
    for (const segment of segments.slice(0, -1)) segment.evict();
  }

  get active(): Segment | undefined {
    return this.segments[this.segments.length - 1];
  }

  get oldest(): Segment | undefined {
    return this.segments[0];
  }

  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  get entryCount(): number {
    return this.segments.reduce((sum, s) => sum + s.entries.length, 0);
  }

  get firstSeq(): number | undefined {
    return this.firstAtOrAfter(-Infinity)?.seq;
  }

  get lastSeq(): number | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const last = this.segments[i]?.lastSeq;
      if (last !== undefined) return last;
    }
    return undefined;
  }

  /** Makes `segment` the active one; the previous one is closed, its payloads left on disk. */
  push(segment: Segment): void {
    this.active?.evict();
    this.segments.push(segment);
  }

  /** The segment holding `seq`, if any. */
  segmentOf(seq: number): Segment | undefined {
    return this.segments.find(
      (s) => s.lastSeq !== undefined && s.lastSeq >= seq && s.firstSeq <= seq,
    );
  }

  shift(): Segment | undefined {
    return this.segments.shift();
  }

  firstAtOrAfter(seq: number): StoredEntry | undefined {
    for (const segment of this.segments) {
      const last = segment.lastSeq;
      if (last === undefined || last < seq) continue;
      return segment.entries[segment.indexAtOrAfter(seq)];
    }
    return undefined;
  }

  has(seq: number): boolean {
    return this.firstAtOrAfter(seq)?.seq === seq;
  }

  /** Entries with seq >= `seq`, in order. The log must not change while iterating. */
  *from(seq: number): Generator<StoredEntry> {
    for (const segment of this.segments) {
      const last = segment.lastSeq;
      if (last === undefined || last < seq) continue;
      for (let i = segment.indexAtOrAfter(seq); i < segment.entries.length; i++) {
        yield segment.entries[i] as StoredEntry;
      }
    }
  }

  countAfter(seq: number): number {
    let count = 0;
    for (const segment of this.segments) {
      const last = segment.lastSeq;
      if (last === undefined || last <= seq) continue;
      count += segment.entries.length - segment.indexAtOrAfter(seq + 1);
    }
    return count;
  }

  /** Ranges of seqs in (after, end] that are not in the log. */
  missingAfter(after: number): Array<[from: number, to: number]> {
    const ranges: Array<[number, number]> = [];
    let previous = after;
    for (const entry of this.from(after + 1)) {
      if (entry.seq > previous + 1) ranges.push([previous + 1, entry.seq - 1]);
      previous = entry.seq;
    }
    if (this.end > previous) ranges.push([previous + 1, this.end]);
    return ranges;
  }
}
