/**
 * Durable outbox cost (src/core/outbox): how many appends per second group commit sustains, and
 * what each reading costs the SD card in write() calls, fsyncs and bytes. Three runs:
 * - steady: 100 readings/s, the agent's realistic load, with a sink acking everything (so the
 *   cursor file's writes are included in the per-reading figures);
 * - flat out: 64 appends always waiting, the most a commit loop can take;
 * - unbatched: one append at a time with no commit window, the cost group commit avoids.
 * Set BENCH_OUTBOX_DIR to measure on the card itself: tmpdir() may be a RAM disk on the device.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Outbox } from "../src/core/outbox/index.js";
import type { OutboxOptions } from "../src/core/outbox/index.js";
import type { Reading } from "../src/core/reading.js";
import { percentile, round } from "./support/proc.js";

type Result = { bench: string } & Record<string, number | string>;

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 1.5);
const STEADY_RATE_HZ = 100;
const FLAT_OUT_CONCURRENCY = 64;

function reading(seq: number): Reading {
  return {
    device: "envnode-01",
    boot: "3f9a12c0",
    seq,
    deviceTime: 1_234_567 + seq * 10,
    receivedAt: Date.now(),
    values: [
      { sensor: "temp", kind: "num", value: 21.37, unit: "°C" },
      { sensor: "hum", kind: "num", value: 48.2, unit: "%" },
      { sensor: "door", kind: "bool", value: seq % 2 === 0 },
    ],
  };
}

interface Load {
  /** Issues appends until `until`, recording each one's latency. */
  drive(outbox: Outbox, until: number, latencies: number[]): Promise<void>;
  options?: Partial<OutboxOptions>;
  ack?: boolean;
}

async function timedAppend(outbox: Outbox, seq: number, latencies: number[]): Promise<void> {
  const start = performance.now();
  await outbox.append(reading(seq));
  latencies.push(performance.now() - start);
}

const steady: Load["drive"] = async (outbox, until, latencies) => {
  const inflight: Array<Promise<void>> = [];
  const start = performance.now();
  for (let i = 0; performance.now() < until; i++) {
    inflight.push(timedAppend(outbox, i, latencies));
    // Sleep to the next slot of the schedule rather than a fixed 10 ms, so timer lag does not
    // lower the rate.
    await sleep(Math.max(0, start + ((i + 1) * 1000) / STEADY_RATE_HZ - performance.now()));
  }
  await Promise.all(inflight);
};

const flatOut: Load["drive"] = async (outbox, until, latencies) => {
  let seq = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) await timedAppend(outbox, seq++, latencies);
  };
  await Promise.all(Array.from({ length: FLAT_OUT_CONCURRENCY }, worker));
};

const oneAtATime: Load["drive"] = async (outbox, until, latencies) => {
  for (let seq = 0; performance.now() < until; seq++) await timedAppend(outbox, seq, latencies);
};

/** Acks everything as it arrives, as a healthy XMPP connection would. */
async function ackAll(outbox: Outbox, done: () => boolean): Promise<void> {
  const sink = outbox.sink("xmpp");
  while (!done()) {
    await Promise.race([sink.whenAvailable(), sleep(50)]);
    for (const entry of sink.next(1000)) sink.ack(entry.seq);
  }
}

async function measure(bench: string, load: Load): Promise<Result> {
  const base = process.env["BENCH_OUTBOX_DIR"] ?? tmpdir();
  const dir = await mkdtemp(join(base, "outbox-bench-"));
  try {
    const outbox = await Outbox.open(dir, { sinks: ["xmpp"], ...load.options });
    const before = outbox.stats;
    const latencies: number[] = [];
    let finished = false;
    const acking = load.ack ? ackAll(outbox, () => finished) : Promise.resolve();
    const start = performance.now();
    await load.drive(outbox, start + SECONDS * 1000, latencies);
    const seconds = (performance.now() - start) / 1000;
    finished = true;
    await acking;
    await outbox.close();
    return report(bench, outbox, before, latencies, seconds);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(
  bench: string,
  outbox: Outbox,
  before: Outbox["stats"],
  latencies: number[],
  seconds: number,
): Result {
  const after = outbox.stats;
  const records = after.records - before.records;
  const per = (key: "writes" | "fsyncs" | "bytesWritten"): number =>
    round((after[key] - before[key]) / records, 3);
  latencies.sort((a, b) => a - b);
  return {
    bench,
    readings: records,
    appends_per_s: Math.round(records / seconds),
    writes_per_reading: per("writes"),
    fsyncs_per_reading: per("fsyncs"),
    bytes_per_reading: per("bytesWritten"),
    cursor_writes: after.cursorWrites - before.cursorWrites,
    append_p50_ms: round(percentile(latencies, 50)),
    append_p99_ms: round(percentile(latencies, 99)),
  };
}

/** Runs the outbox benchmarks; one result per load. */
export async function benchOutbox(): Promise<Result[]> {
  return [
    await measure("outbox steady 100/s", { drive: steady, ack: true }),
    await measure("outbox flat out", { drive: flatOut }),
    await measure("outbox unbatched", { drive: oneAtATime, options: { commitWindowMs: 0 } }),
  ];
}
