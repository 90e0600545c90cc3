/** Telemetry delivery policies and batching (src/core/delivery-policy.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Batcher, DeliveryFilter, type BatchTimers } from "../../src/core/delivery-policy.js";
import type { Reading, SensorValue } from "../../src/core/reading.js";

const T0 = 1_700_000_000_000;

function reading(seconds: number, values: Record<string, SensorValue>): Reading {
  return {
    device: "d",
    boot: "b",
    seq: seconds,
    receivedAt: T0 + seconds * 1000,
    values: Object.entries(values).map(([sensor, value]) => ({
      sensor,
      kind: typeof value === "number" ? "num" : typeof value === "boolean" ? "bool" : "enum",
      value,
    })),
  };
}

function sensors(r: Reading | undefined): Record<string, SensorValue> | undefined {
  return r && Object.fromEntries(r.values.map((v) => [v.sensor, v.value]));
}

describe("DeliveryFilter", () => {
  it("passes every value by default, returning the same reading", () => {
    const filter = new DeliveryFilter();
    const r = reading(0, { temp: 21 });
    expect(filter.select(r)).toBe(r);
    expect(filter.select(reading(0, { temp: 21 }))).toBeDefined();
  });

  it("sends at most one value per interval per sensor", () => {
    const filter = new DeliveryFilter({
      policies: { temp: { mode: "interval", intervalSeconds: 10 } },
    });
    expect(sensors(filter.select(reading(0, { temp: 1, hum: 5 })))).toEqual({ temp: 1, hum: 5 });
    expect(sensors(filter.select(reading(5, { temp: 2, hum: 6 })))).toEqual({ hum: 6 });
    expect(sensors(filter.select(reading(10, { temp: 3 })))).toEqual({ temp: 3 });
    expect(filter.select(reading(19, { temp: 4 }))).toBeUndefined();
  });

  it("sends numeric changes beyond the deadband, measured from the last value sent", () => {
    const filter = new DeliveryFilter({ fallback: { mode: "change", deadband: 0.5 } });
    const temps = [20, 20.3, 20.5, 20.6, 20.1, 19.9];
    const sent = temps.map((t, i) => filter.select(reading(i, { temp: t })) !== undefined);
    expect(sent).toEqual([true, false, false, true, false, true]);
  });

  it("sends any change of a non-numeric value", () => {
    const filter = new DeliveryFilter({ fallback: { mode: "change", deadband: 100 } });
    const doors = [false, false, true, true, false];
    expect(doors.map((d, i) => filter.select(reading(i, { door: d })) !== undefined)).toEqual([
      true,
      false,
      true,
      false,
      true,
    ]);
  });

  it("sends an unchanged value again after maxIntervalSeconds", () => {
    const filter = new DeliveryFilter({
      fallback: { mode: "change", deadband: 1, maxIntervalSeconds: 60 },
    });
    expect(filter.select(reading(0, { temp: 20 }))).toBeDefined();
    expect(filter.select(reading(59, { temp: 20 }))).toBeUndefined();
    expect(filter.select(reading(60, { temp: 20 }))).toBeDefined();
  });

  it("does not go silent when the clock steps back", () => {
    const filter = new DeliveryFilter({ fallback: { mode: "interval", intervalSeconds: 60 } });
    filter.select(reading(1000, { temp: 1 }));
    expect(filter.select(reading(0, { temp: 2 }))).toBeDefined();
  });

  it("sends everything again after reset", () => {
    const filter = new DeliveryFilter({ fallback: { mode: "interval", intervalSeconds: 60 } });
    filter.select(reading(0, { temp: 1 }));
    filter.reset();
    expect(filter.select(reading(1, { temp: 1 }))).toBeDefined();
  });

  it.each([
    [{ fallback: { mode: "interval", intervalSeconds: -1 } }, /fallback: intervalSeconds/],
    [{ policies: { temp: { mode: "change", deadband: NaN } } }, /temp: deadband/],
    [{ policies: { temp: { mode: "change", deadband: 1, maxIntervalSeconds: 0 } } }, /maxInterval/],
  ] as const)("rejects %j", (options, message) => {
    expect(() => new DeliveryFilter(options)).toThrow(message);
  });

  it("interval mode never sends a sensor twice within one interval", () => {
    const steps = fc.array(fc.record({ wait: fc.nat(30), value: fc.integer() }), { maxLength: 80 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), steps, (interval, list) => {
        const filter = new DeliveryFilter({
          fallback: { mode: "interval", intervalSeconds: interval },
        });
        let t = 0;
        let last: number | undefined;
        for (const { wait, value } of list) {
          t += wait;
          if (filter.select(reading(t, { temp: value })) === undefined) continue;
          if (last !== undefined) expect(t - last).toBeGreaterThanOrEqual(interval);
          last = t;
        }
      }),
    );
  });

  it("change mode keeps every sent value within the deadband of what was last sent", () => {
    const steps = fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 80 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), steps, (deadband, values) => {
        const filter = new DeliveryFilter({ fallback: { mode: "change", deadband } });
        let lastSent: number | undefined;
        values.forEach((value, i) => {
          const sent = filter.select(reading(i, { temp: value })) !== undefined;
          expect(sent).toBe(lastSent === undefined || Math.abs(value - lastSent) > deadband);
          if (sent) lastSent = value;
        });
      }),
    );
  });
});

/** Timers driven by hand: `fire()` runs whatever is pending, as if its delay had passed. */
function manualTimers(): BatchTimers & { pending: number; fire(): void } {
  let next: (() => void) | undefined;
  return {
    setTimeout: (callback) => ((next = callback), 1),
    clearTimeout: () => void (next = undefined),
    get pending() {
      return next === undefined ? 0 : 1;
    },
    fire() {
      const callback = next;
      next = undefined;
      callback?.();
    },
  };
}

describe("Batcher", () => {
  function setup(maxReadings = 3) {
    const timers = manualTimers();
    const batches: number[][] = [];
    const batcher = new Batcher({
      maxReadings,
      maxDelayMs: 500,
      timers,
      flush: (rs) => batches.push(rs.map((r) => r.seq)),
    });
    return { timers, batches, batcher };
  }

  it("flushes as soon as maxReadings are waiting", () => {
    const { timers, batches, batcher } = setup();
    for (const s of [1, 2, 3, 4]) batcher.add(reading(s, { temp: s }));
    expect(batches).toEqual([[1, 2, 3]]);
    expect(batcher.size).toBe(1);
    expect(timers.pending).toBe(1);
  });

  it("flushes a partial batch when maxDelayMs has passed", () => {
    const { timers, batches, batcher } = setup();
    batcher.add(reading(1, { temp: 1 }));
    batcher.add(reading(2, { temp: 2 }));
    timers.fire();
    expect(batches).toEqual([[1, 2]]);
    expect(batcher.size).toBe(0);
  });

  it("flushes on demand, and never delivers an empty batch", () => {
    const { timers, batches, batcher } = setup();
    batcher.flush();
    batcher.add(reading(1, { temp: 1 }));
    batcher.flush();
    expect(timers.pending).toBe(0);
    batcher.flush();
    expect(batches).toEqual([[1]]);
  });

  it("works with the real timers by default", async () => {
    const batches: Reading[][] = [];
    const batcher = new Batcher({
      maxReadings: 10,
      maxDelayMs: 5,
      flush: (rs) => batches.push(rs),
    });
    batcher.add(reading(1, { temp: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(batches).toHaveLength(1);
  });

  it.each([
    [{ maxReadings: 0, maxDelayMs: 1 }, /maxReadings must be a positive integer, got 0/],
    [{ maxReadings: 1, maxDelayMs: -1 }, /maxDelayMs must be 0 or more, got -1/],
  ])("rejects %j", (options, message) => {
    expect(() => new Batcher({ ...options, flush: () => undefined })).toThrow(message);
  });
});
