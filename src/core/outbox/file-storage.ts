/**
 * Segment files and the cursor file in one directory, on node:fs alone.
 *
 * Durability rules, each for a crash at the worst moment:
 * - an append returns only after fdatasync of its segment (for an append that grows the file,
 *   fdatasync also flushes the new size, which is all the metadata a reader needs);
 * - a new segment's directory entry is fsync'ed before anything in it counts as written,
 *   otherwise the file itself could vanish while its data was "synced";
 * - the cursor file is replaced by write-temp, fsync, rename, fsync-directory, so a reader sees
 *   the old file or the new one, never a mix.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { mkdir, open, readdir, readFile, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { replaceFile, syncDirectory, temporaryFileOf } from "../atomic-file.js";
import { OutboxIoError } from "./errors.js";
import { decodeCursors, encodeCursors, newCounters, recover } from "./storage.js";
import { parseSegmentFileName, segmentFileName } from "./storage.js";
import type { Loaded, Storage } from "./storage.js";

const CURSORS = "cursors.json";
const CURSORS_TMP = temporaryFileOf(CURSORS);

interface OpenSegment {
  firstSeq: number;
  path: string;
  handle: FileHandle;
  size: number;
}

/** A segment whose tail is in doubt after a failed sync or rollback, and its size known durable. */
interface Doubt {
  error: OutboxIoError;
  path: string;
  size: number;
}

export class FileStorage implements Storage {
  readonly counters = newCounters();
  private segment: OpenSegment | undefined;
  /** Set after a failed fsync or rollback: the file's state is unknown, so appends wait for repair(). */
  private doubt: Doubt | undefined;

  constructor(private readonly dir: string) {}

  async load(): Promise<Loaded> {
    await io("mkdir", this.dir, () => mkdir(this.dir, { recursive: true }));
    const names = await io("readdir", this.dir, () => readdir(this.dir));
    if (names.includes(CURSORS_TMP)) await this.unlinkIfPresent(join(this.dir, CURSORS_TMP));
    const firstSeqs = names.flatMap((n) => parseSegmentFileName(n) ?? []).sort((a, b) => a - b);
    let removed = false;
    const recovered = await recover({
      firstSeqs,
      read: (seq) => io("read", this.path(seq), () => readFile(this.path(seq))),
      truncate: (seq, length) => this.truncate(this.path(seq), length),
      remove: async (seq) => {
        removed = true;
        await this.unlinkIfPresent(this.path(seq));
      },
    });
    if (removed) await this.syncDir();
    return { ...recovered, cursors: await this.readCursors() };
  }

  async append(firstSeq: number, records: readonly Buffer[]): Promise<void> {
    if (this.doubt) throw this.doubt.error;
    const segment = await this.open(firstSeq);
    const data = records.length === 1 ? (records[0] as Buffer) : Buffer.concat(records);
    try {
      await this.writeAll(segment.handle, data);
    } catch (cause) {
      // ENOSPC and the like: cut the partial batch off so later appends follow valid data.
      await this.rollback(segment);
      throw new OutboxIoError("write", segment.path, segment.size, cause);
    }
    try {
      await segment.handle.datasync();
      this.counters.fsyncs++;
    } catch (cause) {
      // After a failed fsync Linux may drop the dirty pages and report the next fsync as a
      // success; retrying would claim durability we do not have. repair() starts afresh.
      throw this.distrust(
        segment,
        new OutboxIoError("fdatasync", segment.path, segment.size, cause),
      );
    }
    segment.size += data.length;
    this.counters.records += records.length;
    this.counters.bytesWritten += data.length;
  }

  async create(firstSeq: number): Promise<void> {
    await this.open(firstSeq);
  }

  async remove(firstSeqs: readonly number[]): Promise<void> {
    if (firstSeqs.length === 0) return;
    for (const seq of firstSeqs) {
      if (this.segment?.firstSeq === seq) await this.closeSegment();
      await this.unlinkIfPresent(this.path(seq));
    }
    await this.syncDir();
  }

  async saveCursors(cursors: ReadonlyMap<string, number>): Promise<void> {
    await replaceFile(join(this.dir, CURSORS), encodeCursors(cursors), io, () => {
      this.counters.fsyncs++;
    });
    this.counters.cursorWrites++;
  }

  /**
   * Lets go of the descriptor that failed and cuts its segment back to the size last synced:
   * what lies beyond was refused, and its seqs go to the next readings. The cut is synced on a
   * new descriptor, which proves the file takes writes again; the next append reopens it.
   */
  async repair(): Promise<void> {
    const doubt = this.doubt;
    if (!doubt) return;
    const segment = this.segment;
    this.segment = undefined;
    // Closing a descriptor that failed can only repeat that failure, which is reported already;
    // Linux releases the descriptor either way.
    await segment?.handle.close().catch(() => undefined);
    await this.truncate(doubt.path, doubt.size);
    this.doubt = undefined;
  }

  async close(): Promise<void> {
    await this.closeSegment();
  }

  readRange(firstSeq: number, offset: number, length: number): Buffer {
    const path = this.path(firstSeq);
    const buf = Buffer.alloc(length);
    let fd: number | undefined;
    try {
      fd = openSync(path, "r");
      let done = 0;
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return buf.subarray(0, done);
    } catch (cause) {
      throw new OutboxIoError("read", path, offset, cause);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private path(firstSeq: number): string {
    return join(this.dir, segmentFileName(firstSeq));
  }

  private async open(firstSeq: number): Promise<OpenSegment> {
    if (this.segment?.firstSeq === firstSeq) return this.segment;
    await this.closeSegment();
    const path = this.path(firstSeq);
    const created = await createExclusive(path);
    if (created) await this.syncDir();
    const handle = created ?? (await io("open", path, () => open(path, "a")));
    const { size } = await io("stat", path, () => handle.stat());
    this.segment = { firstSeq, path, handle, size };
    return this.segment;
  }

  private async closeSegment(): Promise<void> {
    const segment = this.segment;
    this.segment = undefined;
    if (segment) await io("close", segment.path, () => segment.handle.close());
  }

  private async writeAll(handle: FileHandle, data: Buffer): Promise<void> {
    // The file is opened for appending, so each write lands at the current end.
    for (let offset = 0; offset < data.length;) {
      const { bytesWritten } = await handle.write(data, offset, data.length - offset);
      this.counters.writes++;
      offset += bytesWritten;
    }
  }

  private async rollback(segment: OpenSegment): Promise<void> {
    try {
      await segment.handle.truncate(segment.size);
    } catch (cause) {
      this.distrust(segment, new OutboxIoError("truncate", segment.path, segment.size, cause));
    }
  }

  private distrust(segment: OpenSegment, error: OutboxIoError): OutboxIoError {
    this.doubt = { error, path: segment.path, size: segment.size };
    return error;
  }

  /** Cuts `path` back to `length` bytes and syncs it; never grows it, which would invent zeros. */
  private async truncate(path: string, length: number): Promise<void> {
    const handle = await io("open", path, () => open(path, "r+"));
    try {
      const { size } = await io("stat", path, () => handle.stat());
      if (size < length) {
        const short = new Error(`${size} bytes left of ${length} synced`);
        throw new OutboxIoError("truncate", path, length, short);
      }
      if (size > length) await io("truncate", path, () => handle.truncate(length), length);
      await io("fdatasync", path, () => handle.datasync(), length);
      this.counters.fsyncs++;
    } finally {
      await io("close", path, () => handle.close());
    }
  }

  private async unlinkIfPresent(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new OutboxIoError("unlink", path, undefined, cause);
      }
    }
  }

  private async syncDir(): Promise<void> {
    await syncDirectory(this.dir, io);
    this.counters.fsyncs++;
  }

  private async readCursors(): Promise<Map<string, number> | undefined> {
    const path = join(this.dir, CURSORS);
    try {
      return decodeCursors(await readFile(path, "utf8"));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw new OutboxIoError("read", path, undefined, cause);
    }
  }
}

/** A handle on a file this call created, or undefined when it already existed. */
async function createExclusive(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "ax");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw new OutboxIoError("create", path, undefined, cause);
  }
}

async function io<T>(op: string, file: string, run: () => Promise<T>, offset?: number): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new OutboxIoError(op, file, offset, cause);
  }
}
