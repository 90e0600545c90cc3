/**
 * The outbox contract (src/core/outbox), run against the file-backed outbox and MemoryOutbox.
 * `outboxContract` takes a fixture factory so that another implementation can run the same suite.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MemoryDisk,
  MemoryOutbox,
  Outbox,
  OutboxClosedError,
} from "../../src/core/outbox/index.js";
import { OutboxUsageError } from "../../src/core/outbox/index.js";
import type { DropEvent, OutboxOptions, OutboxSink } from "../../src/core/outbox/index.js";
import type { Reading } from "../../src/core/reading.js";

export interface OutboxFixture {
  /** Opens the outbox on the fixture's storage; opening again after close() is a restart. */
  open(options: OutboxOptions): Promise<Outbox>;
  cleanup(): Promise<void>;
}

function reading(seq: number): Reading {
  return {
    device: "envnode-01",
    boot: "3f9a12c0",
    seq,
    receivedAt: 1_700_000_000_000 + seq * 1000,
    values: [
      { sensor: "temp", kind: "num", value: 20 + seq / 100, unit: "°C" },
      { sensor: "door", kind: "bool", value: seq % 2 === 0 },
    ],
  };
}

async function appendMany(outbox: Outbox, from: number, count: number): Promise<number[]> {
  const entries = await Promise.all(
    Array.from({ length: count }, (_, i) => outbox.append(reading(from + i))),
  );
  return entries.map((e) => e.seq);
}

const seqsOf = (sink: OutboxSink, limit = 1000): number[] => sink.next(limit).map((e) => e.seq);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function outboxContract(name: string, makeFixture: () => Promise<OutboxFixture>): void {
  describe(`outbox contract: ${name}`, () => {
    let fixture: OutboxFixture;
    const open: Outbox[] = [];
    const start = async (options: Partial<OutboxOptions> = {}): Promise<Outbox> => {
      const outbox = await fixture.open({ sinks: ["xmpp", "mqtt"], commitWindowMs: 2, ...options });
      open.push(outbox);
      return outbox;
    };

    beforeEach(async () => {
      fixture = await makeFixture();
    });
    afterEach(async () => {
      for (const outbox of open.splice(0)) await outbox.close();
      await fixture.cleanup();
    });

    it("numbers appends in call order and hands them out in that order, intact", async () => {
      const outbox = await start();
      expect(await appendMany(outbox, 100, 10)).toEqual(range(1, 10));
      const entries = outbox.sink("xmpp").next(100);
      expect(entries.map((e) => e.seq)).toEqual(range(1, 10));
      expect(entries.map((e) => e.reading)).toEqual(range(100, 109).map(reading));
    });

    it("keeps sinks independent: a slow sink does not hold back the other", async () => {
      const outbox = await start();
      const [xmpp, mqtt] = [outbox.sink("xmpp"), outbox.sink("mqtt")];
      await appendMany(outbox, 1, 5);
      expect(seqsOf(mqtt)).toEqual(range(1, 5)); // taken, never acked
      for (const seq of seqsOf(xmpp)) xmpp.ack(seq);
      await appendMany(outbox, 6, 3);
      expect(seqsOf(xmpp)).toEqual([6, 7, 8]);
      expect([xmpp.pending, xmpp.inFlight, xmpp.cursor]).toEqual([3, 3, 5]);
      expect([mqtt.pending, mqtt.inFlight, mqtt.cursor]).toEqual([8, 5, 0]);
      expect(seqsOf(mqtt)).toEqual([6, 7, 8]);
    });

    it("hands out each entry once until requeued, then again in order", async () => {
      const outbox = await start();
      const sink = outbox.sink("xmpp");
      await appendMany(outbox, 1, 8);
      expect(seqsOf(sink, 3)).toEqual([1, 2, 3]);
      expect(seqsOf(sink, 3)).toEqual([4, 5, 6]);
      sink.ack(1);
      sink.ack(3);
      sink.requeue([5]);
      expect(seqsOf(sink, 2)).toEqual([5, 7]);
      sink.requeue();
      expect(sink.inFlight).toBe(0);
      expect(seqsOf(sink)).toEqual([2, 4, 5, 6, 7, 8]);
      expect(sink.pending).toBe(6);
    });

    it("hands out entries of closed segments intact, before and after a restart", async () => {
      const outbox = await start({ segmentBytes: 1024, maxBytes: 1 << 20 });
      await appendMany(outbox, 1, 40);
      expect(outbox.stats.segments).toBeGreaterThan(5);
      const sink = outbox.sink("xmpp");
      expect(sink.take(3)?.reading).toEqual(reading(3));
      const entries = sink.next(100);
      expect(entries.map((e) => e.reading)).toEqual(
        range(1, 40)
          .filter((s) => s !== 3)
          .map(reading),
      );
      await outbox.close();
      const again = await start({ segmentBytes: 1024, maxBytes: 1 << 20 });
      expect(
        again
          .sink("mqtt")
          .next(100)
          .map((e) => e.reading),
      ).toEqual(range(1, 40).map(reading));
    });

    it("takes a live entry out of turn; next() skips it, or hands it out in place if requeued", async () => {
      const outbox = await start();
      const sink = outbox.sink("xmpp");
      await appendMany(outbox, 1, 8);
      expect(seqsOf(sink, 2)).toEqual([1, 2]);
      expect(sink.take(6)?.reading).toEqual(reading(6));
      expect(sink.take(7)?.seq).toBe(7);
      expect(sink.take(6)).toBeUndefined(); // already in flight
      expect(sink.take(99)).toBeUndefined(); // never appended
      expect(seqsOf(sink, 3)).toEqual([3, 4, 5]);
      sink.requeue([7]); // not reached by next() yet: it comes back in its place
      sink.ack(6);
      expect(sink.take(6)).toBeUndefined(); // acked
      expect(seqsOf(sink)).toEqual([7, 8]);
      sink.requeue([4, 2]);
      expect(seqsOf(sink)).toEqual([2, 4]);
      for (const seq of [1, 2, 3, 4, 5, 7, 8]) sink.ack(seq);
      expect([sink.cursor, sink.pending, sink.inFlight]).toEqual([8, 0, 0]);
    });

    it("advances the cursor over the contiguous acked prefix only", async () => {
      const outbox = await start();
      const sink = outbox.sink("xmpp");
      await appendMany(outbox, 1, 4);
      sink.next(4);
      sink.ack(2);
      sink.ack(3);
      expect([sink.cursor, sink.pending]).toEqual([0, 2]);
      sink.ack(1);
      expect([sink.cursor, sink.pending]).toEqual([3, 1]);
      sink.ack(1); // a duplicate ack from the peer is harmless
      expect(() => sink.ack(5)).toThrow(OutboxUsageError);
      expect(() => sink.ack(1.5)).toThrow(OutboxUsageError);
      expect(() => sink.next(0)).toThrow(OutboxUsageError);
    });

    it("keeps unacked entries and the numbering across a restart", async () => {
      let outbox = await start();
      let sink = outbox.sink("xmpp");
      await appendMany(outbox, 1, 10);
      sink.next(10);
      for (const seq of [1, 2, 3, 4, 6]) sink.ack(seq);
      await outbox.close();
      outbox = await start();
      sink = outbox.sink("xmpp");
      // 6 was acked out of order; only the contiguous prefix is durable, so it comes again.
      expect(seqsOf(sink)).toEqual(range(5, 10));
      expect(seqsOf(outbox.sink("mqtt"))).toEqual(range(1, 10));
      expect((await outbox.append(reading(11))).seq).toBe(11);
    });

    it("continues the numbering after every entry was acked and deleted", async () => {
      let outbox = await start({ segmentBytes: 400 });
      await appendMany(outbox, 1, 6);
      for (const name of ["xmpp", "mqtt"]) {
        const sink = outbox.sink(name);
        for (const seq of seqsOf(sink)) sink.ack(seq);
      }
      await outbox.flush();
      expect(outbox.stats.segments).toBe(1);
      await outbox.close();
      outbox = await start({ segmentBytes: 400 });
      expect(outbox.sink("xmpp").pending).toBe(0);
      expect((await outbox.append(reading(7))).seq).toBe(7);
    });

    it("tells the newest reading held, also after a restart with every entry acked", async () => {
      let outbox = await start({ segmentBytes: 400 });
      expect(outbox.newest()).toBeUndefined();
      await appendMany(outbox, 1, 6);
      expect(outbox.newest()).toMatchObject({ seq: 6, reading: reading(6) });
      for (const name of ["xmpp", "mqtt"]) {
        const sink = outbox.sink(name);
        for (const seq of seqsOf(sink)) sink.ack(seq);
      }
      await outbox.close();
      outbox = await start({ segmentBytes: 400 });
      expect(outbox.newest()).toMatchObject({ seq: 6, reading: reading(6) });
    });

    it("drops the oldest segments beyond maxBytes and reports the gap per sink", async () => {
      const drops: DropEvent[] = [];
      const outbox = await start({
        segmentBytes: 600,
        maxBytes: 1800,
        onDrop: (e) => drops.push(e),
      });
      const [fast, slow] = [outbox.sink("xmpp"), outbox.sink("mqtt")];
      for (let i = 0; i < 40; i += 2) {
        await appendMany(outbox, i, 2);
        for (const seq of seqsOf(fast)) fast.ack(seq);
      }
      expect(outbox.stats.bytes).toBeLessThanOrEqual(1800);
      expect(fast.dropped).toBe(0);
      expect(drops.every((d) => d.sink === "mqtt" && d.reason === "maxBytes")).toBe(true);
      const dropped = drops.reduce((n, d) => n + d.count, 0);
      expect(slow.dropped).toBe(dropped);
      expect(dropped).toBeGreaterThan(0);
      expect(drops[0]?.fromSeq).toBe(1);
      drops.slice(1).forEach((d, i) => expect(d.fromSeq).toBe((drops[i]?.toSeq ?? 0) + 1));
      expect(seqsOf(slow)).toEqual(range(dropped + 1, 40));
    });

    it("drops segments older than maxAgeMs, and only whole segments", async () => {
      let now = 1_000_000;
      const drops: DropEvent[] = [];
      const options = { maxAgeMs: 10_000, now: () => now, onDrop: (e: DropEvent) => drops.push(e) };
      let outbox = await start(options);
      await appendMany(outbox, 1, 3);
      now += 5_000;
      await appendMany(outbox, 4, 1); // closes the first segment: it holds entries > maxAge/8 old
      now += 6_000;
      expect(seqsOf(outbox.sink("xmpp"))).toEqual([4]);
      expect(drops).toEqual([
        { sink: "xmpp", count: 3, fromSeq: 1, toSeq: 3, reason: "maxAge" },
        { sink: "mqtt", count: 3, fromSeq: 1, toSeq: 3, reason: "maxAge" },
      ]);
      await outbox.close();
      now += 20_000; // the last segment expires while the agent is off
      outbox = await start(options);
      expect(outbox.sink("mqtt").pending).toBe(0);
      expect(drops.slice(2).map((d) => [d.sink, d.fromSeq, d.toSeq])).toEqual([
        ["xmpp", 4, 4], // handed out but never acked: in flight does not count as delivered
        ["mqtt", 4, 4],
      ]);
      expect((await outbox.append(reading(5))).seq).toBe(5);
    });

    it("shares one write and one fsync among appends within the commit window", async () => {
      const outbox = await start({ commitWindowMs: 20 });
      const before = outbox.stats;
      await appendMany(outbox, 1, 30);
      const after = outbox.stats;
      expect(after.records - before.records).toBe(30);
      expect(after.writes - before.writes).toBe(1);
      expect(after.fsyncs - before.fsyncs).toBe(1);
      expect(after.bytesWritten - before.bytesWritten).toBe(after.bytes - before.bytes);
    });

    it("commits at once when commitBatch appends are waiting", async () => {
      const outbox = await start({ commitWindowMs: 60_000, commitBatch: 4 });
      const before = outbox.stats.fsyncs;
      await appendMany(outbox, 1, 4); // would time out if it waited for the window
      expect(outbox.stats.fsyncs - before).toBe(1);
    });

    it("wakes a waiting sink on append and on requeue", async () => {
      const outbox = await start();
      const sink = outbox.sink("xmpp");
      const woken = sink.whenAvailable();
      await outbox.append(reading(1));
      await woken;
      sink.next(1);
      let again = false;
      const next = sink.whenAvailable().then(() => (again = true));
      await new Promise((r) => setTimeout(r, 10));
      expect(again).toBe(false);
      sink.requeue();
      await next;
    });

    it("commits pending appends on close, then refuses to append", async () => {
      const outbox = await start({ commitWindowMs: 60_000 });
      const pending = outbox.append(reading(1));
      await outbox.close();
      expect((await pending).seq).toBe(1);
      await expect(outbox.append(reading(2))).rejects.toBeInstanceOf(OutboxClosedError);
      expect(() => outbox.sink("xmpp").next(1)).toThrow(OutboxClosedError);
      expect(() => outbox.sink("sms")).toThrow(OutboxUsageError);
    });

    it("starts a newly configured sink at the oldest entry held", async () => {
      let outbox = await start({ sinks: ["xmpp"] });
      await appendMany(outbox, 1, 3);
      const xmpp = outbox.sink("xmpp");
      for (const seq of seqsOf(xmpp)) xmpp.ack(seq);
      await outbox.close();
      outbox = await start({ sinks: ["xmpp", "mqtt"] });
      expect(outbox.sink("xmpp").pending).toBe(0);
      expect(seqsOf(outbox.sink("mqtt"))).toEqual([1, 2, 3]);
    });
  });
}

outboxContract("files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "outbox-"));
  return {
    open: (options) => Outbox.open(dir, options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

outboxContract("memory", () => {
  const disk = new MemoryDisk();
  return Promise.resolve({
    open: (options) => MemoryOutbox.open(options, disk),
    cleanup: () => Promise.resolve(),
  });
});
