/**
 * Wire codec throughput: how far the agent's decoder is from being the bottleneck of a serial line.
 * Lines are the PROTOCOL.md §8 reading with varying seq, t and values, generated up front so the
 * measured loop does nothing but codec work.
 */
import { performance } from "node:perf_hooks";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { decodeLine, encodeFrame, LineFramer } from "../src/device/wire/index.js";
import type { ReadingFrame } from "../src/device/wire/index.js";
import { validateReading } from "../src/device/validate.js";
import type { DeviceDescription } from "../src/core/reading.js";
import { round } from "./support/proc.js";

export type BenchResult = { bench: string } & Record<string, number | string>;

/** The agent must decode and validate at least this many typical RD lines per second on one core. */
export const DECODE_TARGET_LINES_PER_S = 200_000;

const LINES = 10_000;
const RUNS = 5;
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 1.5);
const WARMUP_SECONDS = Math.min(0.5, SECONDS);
const BOOT = "3f9a12c0";

const DEVICE: DeviceDescription = {
  id: "envnode-01",
  firmware: "1.0.0",
  boot: BOOT,
  protocol: 1,
  sensors: [
    { name: "temp", kind: "num", unit: "°C", min: -40, max: 85 },
    { name: "hum", kind: "num", unit: "%", min: 0, max: 100 },
    { name: "door", kind: "bool" },
  ],
  actuators: [],
};

function typicalFrames(): ReadingFrame[] {
  // A fixed LCG rather than Math.random so every run measures the same lines.
  let state = 12345;
  const next = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: LINES }, (_, i) => ({
    type: "RD",
    boot: BOOT,
    seq: 1000 + i,
    t: 1_234_567 + i * 1000,
    values: [
      ["temp", (15 + next() * 15).toFixed(2)],
      ["hum", (30 + next() * 40).toFixed(1)],
      ["door", next() < 0.5 ? "0" : "1"],
    ],
  }));
}

/**
 * Repeats `pass` (one pass = `unitsPerPass` units of work) for `seconds`; returns units per second.
 * The checksum each pass returns is accumulated so the work cannot be optimised away.
 */
function measure(pass: () => number, unitsPerPass: number, seconds: number): number {
  let units = 0;
  let sink = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    sink += pass();
    units += unitsPerPass;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds);
  if (sink < 0) throw new Error("unreachable: keeps the checksum alive");
  return units / elapsed;
}

async function repeat(pass: () => number, unitsPerPass: number): Promise<number> {
  measure(pass, unitsPerPass, WARMUP_SECONDS);
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await yieldToLoop();
    rates.push(measure(pass, unitsPerPass, SECONDS));
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1] ?? 0;
}

function lineBudget(lineBytes: number, rate: number): Record<string, number> {
  // 8N1 costs 10 bit times per byte, and every line carries a trailing \n.
  const at115200 = 115200 / 10 / (lineBytes + 1);
  const at921600 = 921600 / 10 / (lineBytes + 1);
  return {
    line_rate_115200: round(at115200, 1),
    line_rate_921600: round(at921600, 1),
    headroom_115200: round(rate / at115200, 0),
    headroom_921600: round(rate / at921600, 0),
  };
}

function decodeAndValidate(lines: readonly string[]): number {
  let values = 0;
  for (const line of lines) {
    const decoded = decodeLine(line);
    if (!decoded.ok || decoded.frame.type !== "RD") throw new Error(`bench line rejected: ${line}`);
    const checked = validateReading(decoded.frame, DEVICE, 0);
    if (!checked.ok) throw new Error(checked.detail);
    values += checked.reading.values.length;
  }
  return values;
}

function frameAndDecode(stream: Uint8Array): number {
  let ok = 0;
  for (const event of new LineFramer().push(stream)) {
    if (event.kind === "line" && decodeLine(event.line).ok) ok++;
  }
  if (ok !== LINES) throw new Error(`framer bench decoded ${ok} of ${LINES} lines`);
  return ok;
}

function encodeAll(frames: readonly ReadingFrame[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += encodeFrame(frame).length;
  return bytes;
}

/** Runs the codec benchmarks; one result per benchmark. */
export async function benchCodec(): Promise<BenchResult[]> {
  const frames = typicalFrames();
  // Round-tripped through bytes so the lines are flat strings, as the framer produces them; the
  // encoder's concatenations would leave ropes that are slower to index.
  const lines = frames.map((f) => Buffer.from(encodeFrame(f), "latin1").toString("latin1"));
  const lineBytes = round(lines.reduce((n, l) => n + l.length, 0) / lines.length, 1);
  const stream = Buffer.from(lines.join("\n") + "\n", "latin1");

  const decodeRate = await repeat(() => decodeAndValidate(lines), lines.length);
  const framerRate = await repeat(() => frameAndDecode(stream), lines.length);
  const encodeRate = await repeat(() => encodeAll(frames), frames.length);
  const common = { runs: RUNS, line_bytes: lineBytes };
  return [
    {
      bench: "decode+validate",
      lines_per_s: Math.round(decodeRate),
      ...common,
      ...lineBudget(lineBytes, decodeRate),
    },
    {
      bench: "framer+decode",
      lines_per_s: Math.round(framerRate),
      bytes_per_s: Math.round((framerRate * stream.length) / lines.length),
      ...common,
      ...lineBudget(lineBytes, framerRate),
    },
    { bench: "encode", lines_per_s: Math.round(encodeRate), ...common },
  ];
}
