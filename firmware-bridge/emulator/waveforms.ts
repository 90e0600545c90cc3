/**
 * Deterministic sample generators for emulated sensors. Every random choice comes from a seeded
 * PRNG, so a test or a bug report can replay exactly the same values with the same seed.
 */
import type { Capability, SensorValue } from "../../src/core/reading.js";

/** Uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, and good enough for test signals (not for anything secret). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent stream per name, so adding a sensor does not shift the others' values. */
export function deriveRng(seed: number, name: string): Rng {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return mulberry32((seed ^ hash) >>> 0);
}

/** Standard normal sample (Box-Muller). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: log(0) would be -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

interface NumericShaping {
  /** Standard deviation of gaussian noise added to the wave. */
  noise?: number;
  /** Decimal places sent on the wire; 2 unless set. */
  decimals?: number;
}

export type WaveSpec =
  | { type: "constant"; value: number | boolean | string }
  | ({ type: "sine"; offset: number; amplitude: number; periodS: number } & NumericShaping)
  | ({ type: "square"; low: number; high: number; periodS: number; duty?: number } & NumericShaping)
  | ({ type: "walk"; start: number; step: number } & NumericShaping)
  | ({ type: "ramp"; from: number; to: number; periodS: number } & NumericShaping)
  /** bool: true for `forS` seconds at the start of every `everyS` (a door opening every N s). */
  | { type: "toggle"; everyS: number; forS?: number }
  /** enum: steps through the declared values, one every `everyS` seconds. */
  | { type: "cycle"; everyS: number };

/** Produces one value per call; `tMs` is the emulated world's clock in ms. */
export type Sampler = (tMs: number) => SensorValue;

const NUMERIC = new Set(["sine", "square", "walk", "ramp"]);

/** Says why `wave` cannot drive `cap`, or undefined when it can. */
export function checkWave(cap: Capability, wave: WaveSpec): string | undefined {
  const where = `sensor ${cap.name} (${cap.kind})`;
  if (wave.type === "constant") return undefined;
  if (NUMERIC.has(wave.type) && cap.kind !== "num") return `${where}: ${wave.type} needs kind num`;
  if (wave.type === "toggle" && cap.kind !== "bool") return `${where}: toggle needs kind bool`;
  if (wave.type === "cycle" && (cap.kind !== "enum" || !cap.values?.length)) {
    return `${where}: cycle needs kind enum with values`;
  }
  const period = "periodS" in wave ? wave.periodS : "everyS" in wave ? wave.everyS : 1;
  if (!(period > 0)) return `${where}: period must be > 0, got ${period}`;
  return undefined;
}

/** Pure wave shapes: the value at time t (seconds) without noise or clamping. */
export function sine(t: number, offset: number, amplitude: number, periodS: number): number {
  return offset + amplitude * Math.sin((2 * Math.PI * t) / periodS);
}

export function square(t: number, low: number, high: number, periodS: number, duty = 0.5): number {
  return phase(t, periodS) < duty ? high : low;
}

export function ramp(t: number, from: number, to: number, periodS: number): number {
  return from + (to - from) * phase(t, periodS);
}

export function toggle(t: number, everyS: number, forS = everyS / 2): boolean {
  return phase(t, everyS) * everyS < forS;
}

export function cycle(t: number, everyS: number, values: readonly string[]): string {
  return values[Math.floor(t / everyS) % values.length] ?? "";
}

/** Position within the current period, in [0, 1). */
function phase(t: number, periodS: number): number {
  const p = (t / periodS) % 1;
  return p < 0 ? p + 1 : p;
}

export function clamp(value: number, min = -Infinity, max = Infinity): number {
  return Math.min(max, Math.max(min, value));
}

/** Builds the sampler for one sensor; throws if the wave does not fit the capability. */
export function createSampler(cap: Capability, wave: WaveSpec, rng: Rng): Sampler {
  const problem = checkWave(cap, wave);
  if (problem) throw new Error(problem);
  switch (wave.type) {
    case "constant":
      return () => wave.value;
    case "toggle":
      return (tMs) => toggle(tMs / 1000, wave.everyS, wave.forS);
    case "cycle":
      return (tMs) => cycle(tMs / 1000, wave.everyS, cap.values ?? []);
    default:
      return numericSampler(cap, wave, rng);
  }
}

type NumericWave = Extract<WaveSpec, { type: "sine" | "square" | "walk" | "ramp" }>;

function numericSampler(cap: Capability, wave: NumericWave, rng: Rng): Sampler {
  const base = baseShape(cap, wave, rng);
  const scale = 10 ** (wave.decimals ?? 2);
  return (tMs) => {
    const noisy = base(tMs / 1000) + (wave.noise ?? 0) * gaussian(rng);
    // Rounding after clamping could step outside the range, so clamp last.
    return clamp(Math.round(noisy * scale) / scale, cap.min, cap.max);
  };
}

function baseShape(cap: Capability, wave: NumericWave, rng: Rng): (t: number) => number {
  switch (wave.type) {
    case "sine":
      return (t) => sine(t, wave.offset, wave.amplitude, wave.periodS);
    case "square":
      return (t) => square(t, wave.low, wave.high, wave.periodS, wave.duty);
    case "ramp":
      return (t) => ramp(t, wave.from, wave.to, wave.periodS);
    case "walk": {
      // The walk is the one stateful shape: each call moves from the previous position.
      let position = wave.start;
      return () => {
        position = clamp(position + wave.step * gaussian(rng), cap.min, cap.max);
        return position;
      };
    }
  }
}
