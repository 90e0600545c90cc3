/**
 * Per-key rate limiting (one key per sender), so that one chatty or hostile account cannot
 * flood the device or the agent. A token bucket, kept in its GCRA form: one timestamp per key
 * (the "theoretical arrival time") instead of a token count and a refill time.
 *
 * Memory is bounded two ways: a bucket that has refilled completely is indistinguishable from
 * a new one, so it is dropped; and past maxKeys the least recently used bucket is dropped.
 * The second can hand a drained bucket a fresh start, so maxKeys should exceed the number of
 * keys that are active within one perMs window.
 */

export interface RateLimiterOptions {
  /** Requests a key may make in a burst. */
  capacity: number;
  /** Time in which a drained bucket refills completely (capacity / perMs is the steady rate). */
  perMs: number;
  now: () => number;
  /** Most buckets kept at once (default 10,000). */
  maxKeys?: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/** Float slack, so that waiting exactly retryAfterMs is always enough. */
const EPSILON_MS = 1e-6;
/** Idle buckets examined per take(); keeps the sweep amortized O(1). */
const SWEEP_PER_TAKE = 2;

export class RateLimiter {
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** key → theoretical arrival time; Map order is least recently used first. */
  private readonly buckets = new Map<string, number>();

  constructor(options: RateLimiterOptions) {
    const { capacity, perMs, maxKeys = 10_000 } = options;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`rate limiter: capacity must be a positive integer, got ${capacity}`);
    }
    if (!(perMs > 0) || !Number.isFinite(perMs)) {
      throw new RangeError(`rate limiter: perMs must be a positive number, got ${perMs}`);
    }
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`rate limiter: maxKeys must be a positive integer, got ${maxKeys}`);
    }
    this.capacity = capacity;
    this.perMs = perMs;
    this.intervalMs = perMs / capacity;
    this.maxKeys = maxKeys;
    this.now = options.now;
  }

  /** Number of buckets currently held. */
  get size(): number {
    return this.buckets.size;
  }

  /** Spend one token of key's bucket, or say how long until one is available. */
  take(key: string): RateDecision {
    const now = this.now();
    this.sweep(now);
    const stored = this.buckets.get(key);
    const tat = Math.max(stored ?? now, now);
    const next = tat + this.intervalMs;
    const excess = next - now - this.perMs;
    if (excess > EPSILON_MS) {
      this.touch(key, tat);
      return { ok: false, retryAfterMs: Math.ceil(excess - EPSILON_MS) };
    }
    this.touch(key, next);
    return { ok: true };
  }

  /** Forget a key, e.g. when its sender's rights change. */
  reset(key: string): void {
    this.buckets.delete(key);
  }

  private touch(key: string, tat: number): void {
    this.buckets.delete(key);
    this.buckets.set(key, tat);
    // Only new keys grow the map, so one eviction restores the cap.
    if (this.buckets.size > this.maxKeys) this.evictOldest();
  }

  private sweep(now: number): void {
    for (let i = 0; i < SWEEP_PER_TAKE; i += 1) {
      const oldest = this.buckets.entries().next();
      if (oldest.done || oldest.value[1] > now) return;
      this.buckets.delete(oldest.value[0]);
    }
  }

  private evictOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}
