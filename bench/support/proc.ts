/**
 * What a benchmark reads about a process from /proc, and the small statistics every module shares.
 * CPU is counted in clock ticks (CLK_TCK is 100 on Linux for x86-64 and arm64), memory in kB.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

const CLK_TCK = 100;

export type Result = { bench: string } & Record<string, number | string>;

export interface ProcSample {
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  rssMb: number;
  /** Peak RSS so far (VmHWM). */
  hwmMb: number;
}

export class ProcError extends Error {
  override readonly name = "ProcError";
  constructor(pid: number, what: string) {
    super(`cannot read /proc/${pid}: ${what}`);
  }
}

/** utime and stime of `pid` (fields 14 and 15 of /proc/PID/stat), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readProc(pid, "stat");
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new ProcError(pid, `stat has no utime/stime: ${stat.slice(0, 80)}`);
  }
  return (utime + stime) / CLK_TCK;
}

function statusKb(status: string, key: string, pid: number): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match) throw new ProcError(pid, `status has no ${key}`);
  return Number(match[1]);
}

export function sample(pid: number): ProcSample {
  const status = readProc(pid, "status");
  return {
    cpuSeconds: cpuSeconds(pid),
    rssMb: statusKb(status, "VmRSS", pid) / 1024,
    hwmMb: statusKb(status, "VmHWM", pid) / 1024,
  };
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch (error) {
    throw new ProcError(pid, (error as Error).message);
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const median = (values: number[]) => percentile(values, 50);

export const round = (n: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** The 1-minute load average, put in each result so a busy machine shows in the figures. */
export const load1 = () => round(loadavg()[0] ?? NaN);

export function machine(): Result {
  return {
    bench: "machine",
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    mem_gib: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    load1: load1(),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it is true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

/** `--name value` options of a bench script, as numbers, with defaults. */
export function numberArgs<K extends string>(
  argv: string[],
  defaults: Record<K, number>,
): Record<K, number> {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, "") as K;
    if (!(name in defaults))
      throw new Error(`unknown option ${argv[i]}; known: ${Object.keys(defaults).join(", ")}`);
    const value = Number(argv[++i]);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`--${name} expects a positive number, found ${argv[i] ?? "nothing"}`);
    }
    out[name] = value;
  }
  return out;
}

export const emit = (result: Result) => process.stdout.write(JSON.stringify(result) + "\n");
