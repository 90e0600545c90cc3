/** Per-key token buckets (src/core/rate-limit.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/core/rate-limit.js";

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe("RateLimiter", () => {
  it("allows a burst of capacity, then says when to retry", () => {
    const c = clock();
    const limiter = new RateLimiter({ capacity: 3, perMs: 3000, now: c.now });
    expect([1, 2, 3].map(() => limiter.take("a").ok)).toEqual([true, true, true]);
    expect(limiter.take("a")).toEqual({ ok: false, retryAfterMs: 1000 });
    c.advance(999);
    expect(limiter.take("a")).toEqual({ ok: false, retryAfterMs: 1 });
    c.advance(1);
    expect(limiter.take("a")).toEqual({ ok: true });
  });

  it("keeps keys independent", () => {
    const limiter = new RateLimiter({ capacity: 1, perMs: 1000, now: clock().now });
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a").ok).toBe(false);
    expect(limiter.take("b").ok).toBe(true);
  });

  it("drops buckets that have refilled, since they equal new ones", () => {
    const c = clock();
    const limiter = new RateLimiter({ capacity: 2, perMs: 1000, now: c.now });
    for (const key of ["a", "b", "c"]) limiter.take(key);
    expect(limiter.size).toBe(3);
    c.advance(1000);
    limiter.take("d");
    limiter.take("d");
    expect(limiter.size).toBeLessThanOrEqual(2);
  });

  it("caps the number of keys, evicting the least recently used", () => {
    const limiter = new RateLimiter({ capacity: 1, perMs: 60_000, now: clock().now, maxKeys: 3 });
    for (const key of ["a", "b", "c"]) limiter.take(key);
    limiter.take("a"); // refused, but a is now the most recently used
    limiter.take("d");
    expect(limiter.size).toBe(3);
    expect(limiter.take("a").ok).toBe(false); // still remembered
    expect(limiter.take("b").ok).toBe(true); // evicted, so it starts afresh
  });

  it("forgets a key on reset", () => {
    const limiter = new RateLimiter({ capacity: 1, perMs: 1000, now: clock().now });
    limiter.take("a");
    limiter.reset("a");
    expect(limiter.take("a").ok).toBe(true);
  });

  it("does not crash or refill when the clock steps back", () => {
    const c = clock();
    const limiter = new RateLimiter({ capacity: 1, perMs: 1000, now: c.now });
    limiter.take("a");
    c.advance(-5000);
    expect(limiter.take("a").ok).toBe(false);
  });

  it.each([
    [{ capacity: 0, perMs: 1000 }, /capacity must be a positive integer, got 0/],
    [{ capacity: 1.5, perMs: 1000 }, /capacity/],
    [{ capacity: 1, perMs: 0 }, /perMs must be a positive number, got 0/],
    [{ capacity: 1, perMs: Infinity }, /perMs/],
    [{ capacity: 1, perMs: 1, maxKeys: 0 }, /maxKeys/],
  ])("rejects %j", (options, message) => {
    expect(() => new RateLimiter({ ...options, now: Date.now })).toThrow(message);
  });
});

describe("RateLimiter properties", () => {
  const scenario = fc.record({
    capacity: fc.integer({ min: 1, max: 20 }),
    perMs: fc.integer({ min: 1, max: 100_000 }),
    steps: fc.array(
      fc.record({ key: fc.constantFrom("a", "b", "c"), wait: fc.nat({ max: 5000 }) }),
      { maxLength: 200 },
    ),
  });

  it("never lets a key exceed capacity plus what the elapsed time refilled", () => {
    fc.assert(
      fc.property(scenario, ({ capacity, perMs, steps }) => {
        const c = clock();
        const start = c.now();
        const limiter = new RateLimiter({ capacity, perMs, now: c.now });
        const accepted = new Map<string, number>();
        for (const { key, wait } of steps) {
          c.advance(wait);
          if (!limiter.take(key).ok) continue;
          const count = (accepted.get(key) ?? 0) + 1;
          accepted.set(key, count);
          const bound = capacity + Math.floor(((c.now() - start) * capacity) / perMs);
          expect(count).toBeLessThanOrEqual(bound);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("accepts a take after waiting exactly retryAfterMs", () => {
    fc.assert(
      fc.property(scenario, ({ capacity, perMs, steps }) => {
        const c = clock();
        const limiter = new RateLimiter({ capacity, perMs, now: c.now });
        for (const { key, wait } of steps) {
          c.advance(wait);
          const decision = limiter.take(key);
          if (decision.ok) continue;
          expect(decision.retryAfterMs).toBeGreaterThan(0);
          c.advance(decision.retryAfterMs);
          expect(limiter.take(key).ok).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never holds more than maxKeys buckets", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3 }), { maxLength: 300 }), (keys) => {
        const limiter = new RateLimiter({ capacity: 1, perMs: 1e9, now: clock().now, maxKeys: 5 });
        for (const key of keys) {
          limiter.take(key);
          expect(limiter.size).toBeLessThanOrEqual(5);
        }
      }),
    );
  });
});
