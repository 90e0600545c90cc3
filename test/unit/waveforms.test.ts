import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkWave,
  clamp,
  createSampler,
  cycle,
  deriveRng,
  mulberry32,
  ramp,
  sine,
  square,
  toggle,
} from "../../firmware-bridge/emulator/waveforms.js";
import type { WaveSpec } from "../../firmware-bridge/emulator/waveforms.js";
import type { Capability } from "../../src/core/reading.js";

const temp: Capability = { name: "temp", kind: "num", min: -40, max: 85 };
const door: Capability = { name: "door", kind: "bool" };
const led: Capability = { name: "led", kind: "enum", values: ["off", "on", "blink"] };

const take = (n: number, next: () => number): number[] => Array.from({ length: n }, next);

describe("seeded PRNG", () => {
  it("repeats exactly for the same seed and differs for another", () => {
    expect(take(5, mulberry32(42))).toEqual(take(5, mulberry32(42)));
    expect(take(5, mulberry32(42))).not.toEqual(take(5, mulberry32(43)));
  });

  it("stays in [0, 1)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        for (const x of take(50, mulberry32(seed))) expect(x >= 0 && x < 1).toBe(true);
      }),
    );
  });

  it("gives each sensor its own stream", () => {
    expect(take(3, deriveRng(1, "temp"))).not.toEqual(take(3, deriveRng(1, "hum")));
    expect(take(3, deriveRng(1, "temp"))).toEqual(take(3, deriveRng(1, "temp")));
  });
});

describe("wave shapes", () => {
  it("sine hits offset, peak and trough at quarter periods", () => {
    expect(sine(0, 21, 2, 60)).toBeCloseTo(21);
    expect(sine(15, 21, 2, 60)).toBeCloseTo(23);
    expect(sine(45, 21, 2, 60)).toBeCloseTo(19);
  });

  it("square, ramp, toggle and cycle follow their periods", () => {
    expect([0, 4, 5, 9, 10].map((t) => square(t, 0, 1, 10))).toEqual([1, 1, 0, 0, 1]);
    expect([0, 5, 10].map((t) => ramp(t, 0, 100, 10))).toEqual([0, 50, 0]);
    expect([0, 4.9, 5, 29, 30].map((t) => toggle(t, 30, 5))).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    expect([0, 1, 2, 3].map((t) => cycle(t, 1, ["a", "b", "c"]))).toEqual(["a", "b", "c", "a"]);
  });

  it("clamp keeps values inside optional bounds", () => {
    expect(clamp(90, -40, 85)).toBe(85);
    expect(clamp(-50, -40, 85)).toBe(-40);
    expect(clamp(3)).toBe(3);
  });
});

describe("samplers", () => {
  const numericWave = fc.oneof(
    fc.record({
      type: fc.constant("sine" as const),
      offset: fc.double({ min: -100, max: 200, noNaN: true }),
      amplitude: fc.double({ min: 0, max: 200, noNaN: true }),
      periodS: fc.double({ min: 0.1, max: 1000, noNaN: true }),
      noise: fc.double({ min: 0, max: 10, noNaN: true }),
    }),
    fc.record({
      type: fc.constant("walk" as const),
      start: fc.double({ min: -100, max: 200, noNaN: true }),
      step: fc.double({ min: 0, max: 50, noNaN: true }),
    }),
  );

  it("never leave the declared range, whatever the wave and noise", () => {
    fc.assert(
      fc.property(numericWave, fc.integer(), (wave: WaveSpec, seed) => {
        const sample = createSampler(temp, wave, mulberry32(seed));
        for (let t = 0; t < 20_000; t += 997) {
          const value = sample(t);
          expect(typeof value).toBe("number");
          expect(value).toBeGreaterThanOrEqual(-40);
          expect(value).toBeLessThanOrEqual(85);
        }
      }),
    );
  });

  it("are reproducible from the seed", () => {
    const wave: WaveSpec = { type: "walk", start: 40, step: 1, decimals: 1 };
    const run = (): unknown[] => {
      const sample = createSampler(temp, wave, mulberry32(7));
      return [0, 500, 1000, 1500].map(sample);
    };
    expect(run()).toEqual(run());
  });

  it("round to the requested decimals", () => {
    const sample = createSampler(
      temp,
      { type: "sine", offset: 21, amplitude: 1, periodS: 7, decimals: 1 },
      mulberry32(1),
    );
    const value = sample(1234);
    expect(Math.round(Number(value) * 10) / 10).toBe(value);
  });

  it("drive bool and enum sensors", () => {
    const doorSample = createSampler(door, { type: "toggle", everyS: 10, forS: 2 }, mulberry32(1));
    expect([0, 1500, 2500, 10_000].map(doorSample)).toEqual([true, true, false, true]);
    const ledSample = createSampler(led, { type: "cycle", everyS: 1 }, mulberry32(1));
    expect([0, 1000, 2000, 3000].map(ledSample)).toEqual(["off", "on", "blink", "off"]);
  });

  it("refuse a wave that does not fit the sensor kind", () => {
    expect(checkWave(door, { type: "sine", offset: 0, amplitude: 1, periodS: 1 })).toMatch(
      /needs kind num/,
    );
    expect(checkWave(temp, { type: "cycle", everyS: 1 })).toMatch(/needs kind enum/);
    expect(checkWave(temp, { type: "ramp", from: 0, to: 1, periodS: 0 })).toMatch(
      /period must be > 0/,
    );
    expect(() => createSampler(led, { type: "toggle", everyS: 1 }, mulberry32(1))).toThrow(/led/);
  });
});
