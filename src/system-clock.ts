/**
 * The Clock of a running agent (see core/clock.ts): Date.now, performance.now, and whether the
 * system says its time is synchronised. systemd-timesyncd, the default on Raspberry Pi OS and
 * Debian, keeps /run/systemd/timesync while it runs and creates `synchronized` in it once it has
 * set the clock from a server; that is one stat, cheap enough to repeat. Without timesyncd there
 * is nothing as cheap to ask (chrony, ntpd or an RTC), so the clock counts as synchronised;
 * `clock.synchronized: always | never` says otherwise where that is wrong.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { StepDetector } from "./core/clock.js";
import type { Clock } from "./core/clock.js";

export type ClockSyncMode = "auto" | "always" | "never";

export const TIMESYNC_DIR = "/run/systemd/timesync";
/** Readings in the first second after a sync may still be marked unsynchronised: harmless. */
const PROBE_INTERVAL_MS = 1000;
/** Steps are noticed this soon even when nothing else asks for the time. */
const WATCH_INTERVAL_MS = 10_000;

export interface ClockLog {
  info(fields: object, message: string): void;
}

export interface SystemClockOptions {
  mode: ClockSyncMode;
  log: ClockLog;
  /** Where timesyncd keeps its state; tests point it at a directory of their own. */
  timesyncDir?: string;
  now?: () => number;
  monotonic?: () => number;
}

/** `given`, or the system's clock started now, then also returned as `owned`: the caller stops it. */
export function clockFor(
  given: Clock | undefined,
  options: SystemClockOptions,
): { clock: Clock; owned?: SystemClock } {
  if (given) return { clock: given };
  const owned = SystemClock.start(options);
  return { clock: owned, owned };
}

export class SystemClock implements Clock {
  private readonly steps: StepDetector;
  private synced: boolean;
  private probedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: Required<SystemClockOptions>) {
    this.steps = new StepDetector((stepMs) => {
      const sign = stepMs >= 0 ? "+" : "-";
      options.log.info(
        { stepMs },
        `wall clock stepped by ${sign}${(Math.abs(stepMs) / 1000).toFixed(1)} s`,
      );
    });
    this.synced = this.probe();
    this.steps.observe(options.now(), options.monotonic());
    this.probedAt = options.monotonic();
    if (!this.synced) {
      const until = options.mode === "never" ? "(clock.synchronized: never)" : "until it is";
      options.log.info(
        { mode: options.mode },
        `clock not synchronised yet: readings are stamped timeSynced=false ${until}`,
      );
    }
  }

  /** A clock that also checks for steps every few seconds until stop(). */
  static start(options: SystemClockOptions): SystemClock {
    const clock = new SystemClock({
      timesyncDir: TIMESYNC_DIR,
      now: Date.now,
      monotonic: () => performance.now(),
      ...options,
    });
    clock.timer = setInterval(() => clock.refresh(), WATCH_INTERVAL_MS);
    // Watching the clock is no reason to keep the process alive.
    clock.timer.unref();
    return clock;
  }

  now(): number {
    return this.options.now();
  }

  monotonic(): number {
    return this.options.monotonic();
  }

  synchronized(): boolean {
    this.refresh();
    return this.synced;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private refresh(): void {
    const mono = this.options.monotonic();
    if (mono - this.probedAt < PROBE_INTERVAL_MS) return;
    this.probedAt = mono;
    this.steps.observe(this.options.now(), mono);
    const synced = this.probe();
    if (synced && !this.synced) this.options.log.info({}, "clock synchronised");
    this.synced = synced;
  }

  private probe(): boolean {
    const { mode, timesyncDir } = this.options;
    if (mode !== "auto") return mode === "always";
    return existsSync(join(timesyncDir, "synchronized")) || !existsSync(timesyncDir);
  }
}
