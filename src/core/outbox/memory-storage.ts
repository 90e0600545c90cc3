/**
 * Storage in a plain object, for tests and for callers that want the outbox's semantics without
 * a disk. A MemoryDisk outlives the outbox opened on it, so reopening one models a restart; its
 * counters model the writes and fsyncs the file storage would make for the same calls.
 */
import { encodeCursors, decodeCursors, newCounters, recover } from "./storage.js";
import type { Loaded, Storage } from "./storage.js";

export class MemoryDisk {
  /** Segment contents by first seq, as the record bytes a file would hold. */
  readonly segments = new Map<number, Buffer>();
  cursors: string | undefined;
}

export class MemoryStorage implements Storage {
  readonly counters = newCounters();

  constructor(private readonly disk: MemoryDisk) {}

  async load(): Promise<Loaded> {
    const { segments } = this.disk;
    const recovered = await recover({
      firstSeqs: [...segments.keys()].sort((a, b) => a - b),
      read: (seq) => Promise.resolve(segments.get(seq) ?? Buffer.alloc(0)),
      truncate: (seq, length) => {
        segments.set(seq, (segments.get(seq) ?? Buffer.alloc(0)).subarray(0, length));
        return Promise.resolve();
      },
      remove: (seq) => Promise.resolve(void segments.delete(seq)),
    });
    const text = this.disk.cursors;
    const cursors = text === undefined ? new Map<string, number>() : decodeCursors(text);
    return { ...recovered, cursors };
  }

  append(firstSeq: number, records: readonly Buffer[]): Promise<void> {
    this.ensure(firstSeq);
    const data = Buffer.concat(records);
    const existing = this.disk.segments.get(firstSeq) ?? Buffer.alloc(0);
    this.disk.segments.set(firstSeq, Buffer.concat([existing, data]));
    this.counters.records += records.length;
    this.counters.bytesWritten += data.length;
    this.counters.writes++;
    this.counters.fsyncs++;
    return Promise.resolve();
  }

  readRange(firstSeq: number, offset: number, length: number): Buffer {
    const data = this.disk.segments.get(firstSeq) ?? Buffer.alloc(0);
    return Buffer.from(data.subarray(offset, offset + length));
  }

  create(firstSeq: number): Promise<void> {
    this.ensure(firstSeq);
    return Promise.resolve();
  }

  remove(firstSeqs: readonly number[]): Promise<void> {
    for (const seq of firstSeqs) this.disk.segments.delete(seq);
    if (firstSeqs.length > 0) this.counters.fsyncs++;
    return Promise.resolve();
  }

  saveCursors(cursors: ReadonlyMap<string, number>): Promise<void> {
    this.disk.cursors = encodeCursors(cursors);
    this.counters.cursorWrites++;
    this.counters.fsyncs += 2;
    return Promise.resolve();
  }

  /** A memory disk never leaves a segment in doubt. */
  repair(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private ensure(firstSeq: number): void {
    if (this.disk.segments.has(firstSeq)) return;
    this.disk.segments.set(firstSeq, Buffer.alloc(0));
    this.counters.fsyncs++;
  }
}
