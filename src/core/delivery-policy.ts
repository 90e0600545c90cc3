/**
 * How much telemetry leaves the agent. A sensor sampled every second need not cost a message
 * every second: per sensor, send every value, at most one per interval, or only changes that
 * matter. The Batcher then packs what is due into fewer stanzas or publishes.
 *
 * Time is the reading's receivedAt (agent clock). One filter serves one device stream: state is
 * kept per sensor name.
 */
import type { Reading, ReadingValue, SensorValue } from "./reading.js";

export type DeliveryPolicy =
  | { mode: "every" }
  | { mode: "interval"; intervalSeconds: number }
  | {
      mode: "change";
      /** A numeric value is due when it differs by more than this from the last one sent. */
      deadband: number;
      /** Send anyway after this long, so that silence still means "no news", not "agent gone". */
      maxIntervalSeconds?: number;
    };

export interface DeliveryFilterOptions {
  /** Policy per sensor name; sensors not listed use `fallback`. */
  policies?: Readonly<Record<string, DeliveryPolicy>>;
  fallback?: DeliveryPolicy;
}

interface Sent {
  value: SensorValue;
  at: number;
}

export class DeliveryFilter {
  private readonly policies: ReadonlyMap<string, DeliveryPolicy>;
  private readonly fallback: DeliveryPolicy;
  private readonly sent = new Map<string, Sent>();

  constructor(options: DeliveryFilterOptions = {}) {
    this.fallback = options.fallback ?? { mode: "every" };
    this.policies = new Map(Object.entries(options.policies ?? {}));
    checkPolicy("fallback", this.fallback);
    for (const [sensor, policy] of this.policies) checkPolicy(sensor, policy);
  }

  /**
   * The reading with only the values due for delivery, or undefined when none is. A value
   * counts as sent once it is returned here: callers are expected to deliver what they get.
   */
  select(reading: Reading): Reading | undefined {
    const due = reading.values.filter((v) => this.isDue(v, reading.receivedAt));
    for (const v of due) this.sent.set(v.sensor, { value: v.value, at: reading.receivedAt });
    if (due.length === 0) return undefined;
    return due.length === reading.values.length ? reading : { ...reading, values: due };
  }

  /** Forget what was sent, e.g. after a reconnect, so that the next values all go out. */
  reset(): void {
    this.sent.clear();
  }

  private isDue(v: ReadingValue, now: number): boolean {
    const policy = this.policies.get(v.sensor) ?? this.fallback;
    const last = this.sent.get(v.sensor);
    if (policy.mode === "every" || last === undefined) return true;
    const elapsed = now - last.at;
    // A clock stepped backwards would otherwise silence the sensor until it caught up.
    if (elapsed < 0) return true;
    if (policy.mode === "interval") return elapsed >= policy.intervalSeconds * 1000;
    if (policy.maxIntervalSeconds !== undefined && elapsed >= policy.maxIntervalSeconds * 1000) {
      return true;
    }
    return changed(last.value, v.value, policy.deadband);
  }
}

function changed(before: SensorValue, after: SensorValue, deadband: number): boolean {
  if (typeof before === "number" && typeof after === "number") {
    return Math.abs(after - before) > deadband;
  }
  return before !== after;
}

function checkPolicy(sensor: string, policy: DeliveryPolicy): void {
  const bad = (detail: string): never => {
    throw new Error(`delivery policy for ${sensor}: ${detail}`);
  };
  if (policy.mode === "interval" && !(policy.intervalSeconds >= 0)) {
    bad(`intervalSeconds must be 0 or more, got ${policy.intervalSeconds}`);
  }
  if (policy.mode === "change") {
    if (!(policy.deadband >= 0)) bad(`deadband must be 0 or more, got ${policy.deadband}`);
    const max = policy.maxIntervalSeconds;
    if (max !== undefined && !(max > 0)) bad(`maxIntervalSeconds must be positive, got ${max}`);
  }
}

export interface BatchTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BatcherOptions {
  /** Flush as soon as this many readings are waiting. */
  maxReadings: number;
  /** Flush at the latest this long after the first reading of a batch arrived. */
  maxDelayMs: number;
  /** Receives each non-empty batch; must handle its own errors (it may run from a timer). */
  flush: (readings: Reading[]) => void;
  timers?: BatchTimers;
}

/** Groups readings so that a burst costs one message, while bounding the added latency. */
export class Batcher {
  private readonly options: BatcherOptions;
  private readonly timers: BatchTimers;
  private pending: Reading[] = [];
  private timer: unknown;
  private timerSet = false;

  constructor(options: BatcherOptions) {
    if (!Number.isInteger(options.maxReadings) || options.maxReadings < 1) {
      throw new RangeError(
        `batcher: maxReadings must be a positive integer, got ${options.maxReadings}`,
      );
    }
    if (!(options.maxDelayMs >= 0)) {
      throw new RangeError(`batcher: maxDelayMs must be 0 or more, got ${options.maxDelayMs}`);
    }
    this.options = options;
    this.timers = options.timers ?? { setTimeout, clearTimeout };
  }

  get size(): number {
    return this.pending.length;
  }

  add(reading: Reading): void {
    this.pending.push(reading);
    if (this.pending.length >= this.options.maxReadings) return this.flush();
    if (!this.timerSet) {
      this.timer = this.timers.setTimeout(() => {
        this.timerSet = false;
        this.flush();
      }, this.options.maxDelayMs);
      this.timerSet = true;
    }
  }

  /** Deliver what is waiting now (e.g. before shutting down). */
  flush(): void {
    if (this.timerSet) {
      this.timers.clearTimeout(this.timer);
      this.timerSet = false;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.options.flush(batch);
  }
}
