/**
 * How the outbox (src/core/outbox) behaves when the disk fails: a refused write must not count
 * as accepted nor leave a gap, and background failures must surface rather than vanish.
 */
import { describe, expect, it } from "vitest";
import { MemoryDisk, OutboxError, OutboxIoError } from "../../src/core/outbox/index.js";
import type { Outbox, OutboxOptions } from "../../src/core/outbox/index.js";
import { MemoryStorage } from "../../src/core/outbox/memory-storage.js";
import { openLogOutbox } from "../../src/core/outbox/outbox.js";
import type { Reading } from "../../src/core/reading.js";

class FlakyStorage extends MemoryStorage {
  failAppends = 0;
  failCursors = false;

  override append(firstSeq: number, records: readonly Buffer[]): Promise<void> {
    if (this.failAppends-- > 0) {
      return Promise.reject(new OutboxIoError("write", "seg-x.log", 0, new Error("ENOSPC")));
    }
    return super.append(firstSeq, records);
  }

  override saveCursors(cursors: ReadonlyMap<string, number>): Promise<void> {
    if (this.failCursors) return Promise.reject(new Error("EIO"));
    return super.saveCursors(cursors);
  }
}

function reading(seq: number): Reading {
  return { device: "d", boot: "b", seq, receivedAt: seq, values: [] };
}

const options: OutboxOptions = { sinks: ["xmpp"], commitWindowMs: 1, cursorFlushMs: 1 };

async function open(disk: MemoryDisk, extra: Partial<OutboxOptions> = {}) {
  const storage = new FlakyStorage(disk);
  const outbox: Outbox = await openLogOutbox(storage, { ...options, ...extra });
  return { storage, outbox };
}

describe("outbox under disk failures", () => {
  it("rejects the appends of a failed write and hands their numbers out again", async () => {
    const disk = new MemoryDisk();
    const { storage, outbox } = await open(disk);
    await Promise.all([1, 2, 3].map((i) => outbox.append(reading(i))));
    storage.failAppends = 1;
    const failed = await Promise.allSettled([outbox.append(reading(4)), outbox.append(reading(5))]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(failed[0]).toMatchObject({ reason: { op: "write", file: "seg-x.log" } });
    expect((await outbox.append(reading(6))).seq).toBe(4);
    expect(
      outbox
        .sink("xmpp")
        .next(10)
        .map((e) => e.reading.seq),
    ).toEqual([1, 2, 3, 6]);
    await outbox.close();
    const reopened = (await open(disk)).outbox;
    expect(reopened.recovery).toMatchObject({ entries: 4, lostSeqs: 0 });
    await reopened.close();
  });

  it("never deletes a segment before the cursors that passed it are saved", async () => {
    const disk = new MemoryDisk();
    const { storage, outbox } = await open(disk, { segmentBytes: 200, cursorFlushMs: 60_000 });
    await Promise.all([1, 2, 3, 4, 5, 6].map((i) => outbox.append(reading(i))));
    const segments = disk.segments.size;
    expect(segments).toBeGreaterThan(1);
    const sink = outbox.sink("xmpp");
    for (const e of sink.next(10)) sink.ack(e.seq);
    storage.failCursors = true;
    await expect(outbox.flush()).rejects.toBeInstanceOf(OutboxError);
    expect(disk.segments.size).toBe(segments);
    storage.failCursors = false;
    await outbox.flush();
    expect(disk.segments.size).toBe(1);
    await outbox.close();
  });

  it("surfaces a failed cursor write from flush(), and to onError when given", async () => {
    const { storage, outbox } = await open(new MemoryDisk());
    await outbox.append(reading(1));
    storage.failCursors = true;
    outbox.sink("xmpp").next(1);
    outbox.sink("xmpp").ack(1);
    await expect(outbox.flush()).rejects.toBeInstanceOf(OutboxError);
    storage.failCursors = false;
    await outbox.flush(); // the cursor is still dirty, so this retries and succeeds
    await outbox.close();

    const errors: OutboxError[] = [];
    const second = await open(new MemoryDisk(), { onError: (e) => errors.push(e) });
    await second.outbox.append(reading(1));
    second.storage.failCursors = true;
    second.outbox.sink("xmpp").next(1);
    second.outbox.sink("xmpp").ack(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(errors.length).toBeGreaterThan(0);
    second.storage.failCursors = false;
    await second.outbox.close();
  });
});
