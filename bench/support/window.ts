/**
 * One measurement window over a running process: CPU seconds and memory from /proc at both
 * ends, and the readings the device wrote in the window matched against what a subscriber got.
 */
import { latencies, type Arrivals, type TrackedDevice } from "./collectors.js";
import { percentile, round, sample, sleep } from "./proc.js";

export interface WindowFigures {
  written: number;
  delivered: number;
  delivered_per_s: number;
  cpu_s_per_1000: number;
  cpu_percent: number;
  rss_mb: number;
  hwm_mb: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface WindowOptions {
  pid: number;
  device: TrackedDevice;
  /** The first is the one figures are reported for; more subscribers get their own latencies. */
  arrivals: Arrivals[];
  seconds: number;
  /** Time given to readings written late in the window before they count as lost. */
  graceMs?: number;
}

function latencyFigures(lat: number[]) {
  return {
    p50_ms: round(percentile(lat, 50)),
    p99_ms: round(percentile(lat, 99)),
    max_ms: round(lat.length ? Math.max(...lat) : NaN),
  };
}

export async function measureWindow(
  options: WindowOptions,
): Promise<WindowFigures & { others: Array<ReturnType<typeof latencyFigures>> }> {
  const { pid, device, arrivals, seconds } = options;
  const from = performance.now();
  const before = sample(pid);
  await sleep(seconds * 1000);
  const to = performance.now();
  const after = sample(pid);
  await sleep(options.graceMs ?? 1_000);
  const written = [...device.sent.values()].filter((t) => t >= from && t < to).length;
  const [main, ...rest] = arrivals.map((a) => latencies(device.sent, a, from, to));
  const lat = main ?? [];
  const elapsed = (to - from) / 1000;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    written,
    delivered: lat.length,
    delivered_per_s: round(lat.length / elapsed),
    cpu_s_per_1000: round((cpu / Math.max(1, written)) * 1000, 3),
    cpu_percent: round((cpu / elapsed) * 100, 1),
    rss_mb: round(after.rssMb),
    hwm_mb: round(after.hwmMb),
    ...latencyFigures(lat),
    others: rest.map(latencyFigures),
  };
}
