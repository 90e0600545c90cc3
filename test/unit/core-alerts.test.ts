/** Threshold alerts that fire once per crossing (src/core/alerts.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AlertEngine, type AlertEvent, type AlertRule } from "../../src/core/alerts.js";
import type { Reading, ReadingValue } from "../../src/core/reading.js";

const T0 = 1_700_000_000_000;

function at(seconds: number, values: ReadingValue[]): Reading {
  return { device: "envnode-01", boot: "b", seq: seconds, receivedAt: T0 + seconds * 1000, values };
}

function temp(seconds: number, value: number): Reading {
  return at(seconds, [{ sensor: "temp", kind: "num", value, unit: "°C" }]);
}

const tooHot: AlertRule = { name: "too-hot", sensor: "temp", above: 30, forSeconds: 60 };

function texts(events: AlertEvent[]): string[] {
  return events.map((e) => e.text);
}

describe("AlertEngine", () => {
  it("fires once after the condition held for forSeconds, and recovers once", () => {
    const engine = new AlertEngine([tooHot]);
    expect(engine.observe(temp(0, 31))).toEqual([]);
    expect(engine.observe(temp(30, 31.5))).toEqual([]);
    expect(texts(engine.observe(temp(60, 31.2)))).toEqual([
      "ALERT too-hot: temp 31.2 °C above 30 for 60 s",
    ]);
    expect(engine.observe(temp(90, 35))).toEqual([]);
    expect(engine.firing()).toEqual(["too-hot"]);
    const [recovered] = engine.observe(temp(120, 29.1));
    expect(recovered).toEqual({
      type: "recovered",
      rule: "too-hot",
      device: "envnode-01",
      sensor: "temp",
      value: 29.1,
      unit: "°C",
      at: T0 + 120_000,
      text: "RECOVERED too-hot: temp back to 29.1 °C",
    });
    expect(engine.observe(temp(150, 28))).toEqual([]);
    expect(engine.firing()).toEqual([]);
  });

  it("restarts the clock when the condition breaks before firing", () => {
    const engine = new AlertEngine([tooHot]);
    engine.observe(temp(0, 31));
    expect(engine.observe(temp(50, 29))).toEqual([]);
    expect(engine.observe(temp(70, 31))).toEqual([]);
    expect(engine.observe(temp(129, 31))).toEqual([]);
    expect(engine.observe(temp(130, 31))).toHaveLength(1);
  });

  it("ignores readings without the sensor or with a non-numeric value", () => {
    const engine = new AlertEngine([tooHot]);
    engine.observe(temp(0, 31));
    engine.observe(at(30, [{ sensor: "hum", kind: "num", value: 10 }]));
    engine.observe(at(40, [{ sensor: "temp", kind: "enum", value: "error" }]));
    expect(engine.observe(temp(60, 31))).toHaveLength(1);
  });

  it("fires on the first reading with forSeconds 0, and handles both bounds", () => {
    const band: AlertRule = {
      name: "out-of-band",
      sensor: "temp",
      above: 25,
      below: 15,
      forSeconds: 0,
    };
    const engine = new AlertEngine([band]);
    expect(texts(engine.observe(temp(0, 10)))).toEqual(["ALERT out-of-band: temp 10 °C below 15"]);
    expect(engine.observe(temp(1, 30))).toEqual([]); // still outside the band: no new alert
    expect(texts(engine.observe(temp(2, 20)))).toEqual([
      "RECOVERED out-of-band: temp back to 20 °C",
    ]);
    expect(texts(engine.observe(temp(3, 26)))).toEqual(["ALERT out-of-band: temp 26 °C above 25"]);
  });

  it("keeps rules independent", () => {
    const cold: AlertRule = { name: "too-cold", sensor: "temp", below: 5, forSeconds: 0 };
    const engine = new AlertEngine([tooHot, cold]);
    expect(texts(engine.observe(temp(0, 4)))).toEqual(["ALERT too-cold: temp 4 °C below 5"]);
    expect(engine.observe(temp(0, 4))).toEqual([]);
  });

  it.each([
    [{ name: "x", sensor: "temp", forSeconds: 1 }, /needs "above", "below" or both/],
    [{ name: "x", sensor: "temp", above: 10, below: 20, forSeconds: 1 }, /always hold/],
    [{ name: "x", sensor: "temp", above: NaN, forSeconds: 1 }, /finite/],
    [{ name: "x", sensor: "temp", above: 1, forSeconds: -1 }, /forSeconds must be 0 or more/],
  ])("rejects %j", (rule, message) => {
    expect(() => new AlertEngine([rule])).toThrow(message);
  });

  it("rejects a rule name used twice", () => {
    expect(() => new AlertEngine([tooHot, tooHot])).toThrow(/"too-hot" is defined twice/);
  });
});

describe("AlertEngine properties", () => {
  const step = fc.record({
    wait: fc.integer({ min: 0, max: 40 }),
    value: fc.option(fc.integer({ min: 25, max: 35 }), { nil: undefined }),
  });

  it("fires once per crossing that lasts forSeconds, and recovers once after it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 90 }),
        fc.array(step, { maxLength: 60 }),
        (forSeconds, steps) => {
          const engine = new AlertEngine([{ ...tooHot, forSeconds }]);
          let t = 0;
          let runStart: number | undefined;
          let fired = false;
          for (const { wait, value } of steps) {
            t += wait;
            const reading = value === undefined ? at(t, []) : temp(t, value);
            const events = engine.observe(reading).map((e) => e.type);
            // Reference model: a run of readings above 30 alerts when it has lasted forSeconds.
            const expected: string[] = [];
            if (value !== undefined && value > 30) {
              runStart ??= t;
              if (!fired && t - runStart >= forSeconds) expected.push("alert");
              fired ||= t - runStart >= forSeconds;
            } else if (value !== undefined) {
              if (fired) expected.push("recovered");
              runStart = undefined;
              fired = false;
            }
            expect(events).toEqual(expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
