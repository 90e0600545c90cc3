/**
 * Properties of the outbox (src/core/outbox): random append/take/ack/requeue/restart sequences
 * agree with a small model, and no single damaged byte makes recovery invent or lose a record
 * beyond the one it hit.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryDisk, MemoryOutbox, Outbox } from "../../src/core/outbox/index.js";
import type { OutboxOptions } from "../../src/core/outbox/index.js";
import { encodePayload, encodeRecord, scanRecords } from "../../src/core/outbox/record.js";
import type { Reading } from "../../src/core/reading.js";

const SINKS = ["xmpp", "mqtt"] as const;

type Command =
  | { op: "append"; count: number }
  | { op: "take"; sink: number; limit: number }
  | { op: "ack"; sink: number; pick: number }
  | { op: "requeue"; sink: number; pick: number | undefined }
  | { op: "restart" };

const sinkIndex = fc.integer({ min: 0, max: 1 });
// Weighted so that runs build up several entries in flight before acks and requeues cut in.
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      count: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("take" as const),
      sink: sinkIndex,
      limit: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("ack" as const), sink: sinkIndex, pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("requeue" as const),
      sink: sinkIndex,
      pick: fc.option(fc.nat(), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "restart" as const }) },
);

/** What a sink should see: the durable cursor plus the in-memory acks and in-flight set. */
class SinkModel {
  cursor = 0;
  acked = new Set<number>();
  flying = new Set<number>();

  take(appended: number, limit: number): number[] {
    const out: number[] = [];
    for (let seq = this.cursor + 1; seq <= appended && out.length < limit; seq++) {
      if (!this.acked.has(seq) && !this.flying.has(seq)) out.push(seq);
    }
    for (const seq of out) this.flying.add(seq);
    return out;
  }

  ack(seq: number): void {
    this.flying.delete(seq);
    this.acked.add(seq);
    while (this.acked.delete(this.cursor + 1)) this.cursor++;
  }

  /** A restart keeps only the cursor; acks beyond it are forgotten (at least once). */
  restart(): void {
    this.acked.clear();
    this.flying.clear();
  }

  pending(appended: number): number {
    return appended - this.cursor - this.acked.size;
  }
}

function reading(seq: number): Reading {
  const values = [{ sensor: "temp", kind: "num" as const, value: seq }];
  return { device: "d", boot: "b", seq, receivedAt: seq, values };
}

interface State {
  outbox: Outbox;
  open: () => Promise<Outbox>;
  models: SinkModel[];
  appended: number;
}

async function apply(state: State, c: Command): Promise<void> {
  if (c.op === "append") {
    const from = state.appended + 1;
    const seqs = Array.from({ length: c.count }, (_, i) => from + i);
    const entries = await Promise.all(seqs.map((seq) => state.outbox.append(reading(seq))));
    expect(entries.map((e) => e.seq)).toEqual(seqs);
    state.appended += c.count;
    return;
  }
  if (c.op === "restart") {
    await state.outbox.close();
    state.outbox = await state.open();
    for (const m of state.models) m.restart();
    return;
  }
  const sink = state.outbox.sink(SINKS[c.sink] ?? "");
  const model = state.models[c.sink] as SinkModel;
  if (c.op === "take") {
    const got = sink.next(c.limit);
    expect(got.map((e) => e.seq)).toEqual(model.take(state.appended, c.limit));
    expect(got.map((e) => e.reading.seq)).toEqual(got.map((e) => e.seq));
  } else if (c.op === "ack") {
    const flying = [...model.flying];
    const seq = flying[c.pick % Math.max(1, flying.length)];
    if (seq === undefined) return;
    sink.ack(seq);
    model.ack(seq);
  } else if (c.pick === undefined) {
    sink.requeue();
    model.flying.clear();
  } else {
    const flying = [...model.flying];
    const seq = flying[c.pick % Math.max(1, flying.length)];
    if (seq === undefined) return;
    sink.requeue([seq]);
    model.flying.delete(seq);
  }
}

async function runCommands(open: () => Promise<Outbox>, commands: Command[]): Promise<void> {
  const state: State = {
    outbox: await open(),
    open,
    models: SINKS.map(() => new SinkModel()),
    appended: 0,
  };
  try {
    for (const c of commands) {
      await apply(state, c);
      SINKS.forEach((name, i) => {
        const m = state.models[i] as SinkModel;
        const s = state.outbox.sink(name);
        const expected = [m.cursor, m.pending(state.appended), m.flying.size];
        expect([s.cursor, s.pending, s.inFlight]).toEqual(expected);
      });
    }
  } finally {
    await state.outbox.close();
  }
}

const options: OutboxOptions = { sinks: SINKS, commitWindowMs: 0, segmentBytes: 300 };

describe("outbox model", () => {
  it("agrees with the model in memory", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 80 }), async (commands) => {
        const disk = new MemoryDisk();
        await runCommands(() => MemoryOutbox.open(options, disk), commands);
      }),
      { numRuns: 150 },
    );
  });

  it("agrees with the model on disk", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 40 }), async (commands) => {
        const dir = await mkdtemp(join(tmpdir(), "outbox-prop-"));
        try {
          await runCommands(() => Outbox.open(dir, options), commands);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});

describe("outbox record scan", () => {
  it("keeps every record a damaged byte did not hit, and only real records", () => {
    const damage = fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) });
    const texts = fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(texts, damage, (strings, { at, xor }) => {
        const payloads = strings.map((device, i) =>
          encodePayload(i + 1, 0, JSON.stringify({ ...reading(i), device })),
        );
        const records = payloads.map(encodeRecord);
        const image = Buffer.concat(records);
        const hit = at % image.length;
        image[hit] = (image[hit] ?? 0) ^ xor;
        let start = 0;
        const expected: number[] = [];
        records.forEach((r, i) => {
          if (hit < start || hit >= start + r.length) expected.push(i + 1);
          start += r.length;
        });
        const scan = scanRecords(image, 0);
        expect(scan.records.map((r) => r.entry.seq)).toEqual(expected);
        for (const r of scan.records) expect(r.entry.payload).toBe(payloads[r.entry.seq - 1]);
      }),
      { numRuns: 500 },
    );
  });
});
