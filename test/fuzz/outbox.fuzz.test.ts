/**
 * Fuzz of outbox recovery (src/core/outbox) on real files: random garbage written after the
 * last record of a segment (a torn write: random bytes, zeros, or a cut-off record) never loses
 * a record before it, and the outbox goes on numbering after the records it kept.
 */
import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Outbox, type OutboxOptions } from "../../src/core/outbox/index.js";
import { encodePayload, encodeRecord } from "../../src/core/outbox/record.js";
import type { Reading } from "../../src/core/reading.js";
import { FUZZ_TIMEOUT_MS, fuzzAsync, runs, type ValueOf } from "./runs.js";

const SURFACE = "outbox torn tail";

function reading(seq: number, device: string): Reading {
  return {
    device,
    boot: "b",
    seq,
    receivedAt: seq,
    values: [{ sensor: "t", kind: "num", value: seq }],
  };
}

const garbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1, max: 4096 }).map((n) => Buffer.alloc(n)),
  // A record cut short: what a power cut in the middle of a write leaves.
  fc.tuple(fc.string({ maxLength: 30 }), fc.nat()).map(([device, cut]) => {
    const record = encodeRecord(encodePayload(999, 0, JSON.stringify(reading(999, device))));
    return record.subarray(0, 1 + (cut % (record.length - 1)));
  }),
);

const scenario = fc.record({
  devices: fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 25 }),
  segmentBytes: fc.integer({ min: 200, max: 3000 }),
  target: fc.nat(),
  garbage,
});

async function tornTail(s: ValueOf<typeof scenario>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "fuzz-outbox-"));
  const options: OutboxOptions = {
    sinks: ["xmpp"],
    commitWindowMs: 0,
    segmentBytes: s.segmentBytes,
  };
  try {
    let outbox = await Outbox.open(dir, options);
    for (const [i, device] of s.devices.entries()) await outbox.append(reading(i + 1, device));
    await outbox.close();
    const segments = (await readdir(dir)).filter((n) => n.startsWith("seg-")).sort();
    // Mostly the newest segment, where a torn write really happens; sometimes an older one.
    const pick = s.target % 4 === 0 ? s.target % segments.length : segments.length - 1;
    await appendFile(join(dir, segments[pick] as string), s.garbage);

    outbox = await Outbox.open(dir, options);
    const n = s.devices.length;
    const kept = outbox.sink("xmpp").next(10_000);
    expect(kept.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(kept.map((e) => e.reading)).toEqual(s.devices.map((d, i) => reading(i + 1, d)));
    const next = await outbox.append(reading(n + 1, "after"));
    expect(next.seq).toBe(n + 1);
    await outbox.close();

    outbox = await Outbox.open(dir, options);
    expect(
      outbox
        .sink("xmpp")
        .next(10_000)
        .map((e) => e.seq),
    ).toHaveLength(n + 1);
    await outbox.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("outbox torn-tail fuzz", () => {
  it(
    "garbage after a segment's last record never costs a record written before it",
    async () => {
      await fuzzAsync(
        SURFACE,
        "garbage appended to a segment file",
        fc.asyncProperty(scenario, tornTail),
        {
          numRuns: runs(0.075),
        },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
