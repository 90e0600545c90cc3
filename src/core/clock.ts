/**
 * The agent's time sources, as an interface so that core stays free of I/O and tests can step
 * the wall clock. The wall clock stamps readings; the monotonic clock measures durations inside
 * the process, which a step of the wall clock (NTP on a board without a real-time clock) must
 * not change; `synchronized` says whether the wall clock's stamps can be trusted yet.
 */
export interface Clock {
  /** Wall clock, ms since the epoch. */
  now(): number;
  /** Monotonic clock, ms from an arbitrary origin; never steps. */
  monotonic(): number;
  /** Whether the wall clock is synchronised to a time source (NTP, a real-time clock). */
  synchronized(): boolean;
}

/**
 * Above any slew between two checks (NTP slews at most 0.05 %, 5 ms in 10 s), below any step
 * worth mentioning.
 */
export const STEP_THRESHOLD_MS = 1000;

/**
 * Notices steps of the wall clock: wall minus monotonic stays nearly constant while the clock
 * is slewed and jumps when it is stepped. Each step is reported once, with its size (positive
 * when the clock moved forward).
 */
export class StepDetector {
  private offset: number | undefined;

  constructor(
    private readonly onStep: (stepMs: number) => void,
    private readonly thresholdMs = STEP_THRESHOLD_MS,
  ) {}

  observe(wall: number, mono: number): void {
    const offset = wall - mono;
    const previous = this.offset;
    this.offset = offset;
    if (previous !== undefined && Math.abs(offset - previous) > this.thresholdMs) {
      this.onStep(offset - previous);
    }
  }
}
