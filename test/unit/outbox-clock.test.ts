/**
 * The outbox's age bound against a board without a real-time clock: it boots with a stale wall
 * clock (fake-hwclock) and NTP steps it later. Real files; the three clocks are injected.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "../../src/core/outbox/index.js";
import type { DropEvent, OutboxOptions } from "../../src/core/outbox/index.js";
import type { Reading } from "../../src/core/reading.js";

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
/** What fake-hwclock restores on a Pi that was last shut down long ago. */
const STALE = Date.parse("2023-01-01T00:00:00Z");

interface TestClock {
  wall: number;
  mono: number;
  synced: boolean;
}

let dir: string;
const opened: Outbox[] = [];
const drops: DropEvent[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "outbox-clock-"));
  drops.length = 0;
});
afterEach(async () => {
  for (const outbox of opened.splice(0)) await outbox.close();
  await rm(dir, { recursive: true, force: true });
});

function reading(seq: number, receivedAt: number): Reading {
  return { device: "envnode-01", boot: "b1", seq, receivedAt, values: [] };
}

async function open(clock: TestClock, extra: Partial<OutboxOptions> = {}): Promise<Outbox> {
  const outbox = await Outbox.open(dir, {
    sinks: ["xmpp"],
    maxAgeMs: DAY,
    commitWindowMs: 0,
    now: () => clock.wall,
    monotonicNow: () => clock.mono,
    clockSynchronized: () => clock.synced,
    onDrop: (event) => drops.push(event),
    ...extra,
  });
  opened.push(outbox);
  return outbox;
}

/** One reading a second, each committed on its own, as a slow sensor would. */
async function appendEverySecond(outbox: Outbox, clock: TestClock, from: number, count: number) {
  for (let seq = from; seq < from + count; seq++) {
    clock.wall += SECOND;
    clock.mono += SECOND;
    await outbox.append(reading(seq, clock.wall));
  }
}

const seqsHeld = (outbox: Outbox): number[] =>
  outbox
    .sink("xmpp")
    .next(1000)
    .map((e) => e.seq);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("outbox age across clock steps", () => {
  it("keeps readings 30 s old when the wall clock steps 4 days ahead", async () => {
    const clock = { wall: STALE, mono: 5_000, synced: true };
    const outbox = await open(clock);
    await appendEverySecond(outbox, clock, 1, 30);
    clock.wall += 4 * DAY; // NTP steps the clock
    await appendEverySecond(outbox, clock, 31, 5); // a commit plans segments and enforces bounds
    expect(drops).toEqual([]);
    expect(seqsHeld(outbox)).toEqual(range(1, 35));
    outbox.sink("xmpp").requeue();

    // Age still counts: a day of monotonic time later the first segment is gone.
    clock.mono += DAY;
    await appendEverySecond(outbox, clock, 36, 1);
    expect(drops.map((d) => [d.fromSeq, d.reason])).toEqual([[1, "maxAge"]]);
    expect(seqsHeld(outbox).at(-1)).toBe(36);
  });

  it("does not age readings stamped before the clock was synchronised by a later step, across a restart", async () => {
    const clock = { wall: STALE, mono: 5_000, synced: false };
    let outbox = await open(clock);
    await appendEverySecond(outbox, clock, 1, 30);
    await outbox.close();
    const segments = (await readdir(dir)).filter((n) => n.startsWith("seg-"));
    const stored = await readFile(join(dir, segments[0] ?? ""), "utf8");
    expect(stored.match(/"synced":false/g)).toHaveLength(30);

    // A restart, still before NTP: the process and its monotonic clock start again.
    clock.wall += 10 * SECOND;
    clock.mono = 2_000;
    outbox = await open(clock);
    clock.synced = true;
    clock.wall += 4 * DAY;
    await appendEverySecond(outbox, clock, 31, 2);
    expect(drops).toEqual([]);
    expect(seqsHeld(outbox)).toEqual(range(1, 32));
    outbox.sink("xmpp").requeue();

    // They age from when this process loaded them.
    clock.mono += DAY;
    await appendEverySecond(outbox, clock, 33, 1);
    expect(drops.map((d) => [d.fromSeq, d.toSeq, d.reason])).toEqual([[1, 32, "maxAge"]]);
  });

  it("ages readings stamped with a synchronised clock by an earlier process on the wall clock", async () => {
    const clock = { wall: Date.parse("2026-03-01T00:00:00Z"), mono: 5_000, synced: true };
    let outbox = await open(clock);
    await appendEverySecond(outbox, clock, 1, 3);
    await outbox.close();
    clock.wall += 2 * DAY; // off for two days
    clock.mono = 1_000;
    outbox = await open(clock);
    expect(drops.map((d) => [d.fromSeq, d.toSeq, d.reason])).toEqual([[1, 3, "maxAge"]]);
    expect(seqsHeld(outbox)).toEqual([]);
  });
});
