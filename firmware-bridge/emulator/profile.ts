/**
 * What an emulated device is: identity, capabilities, signal shapes and line settings.
 * `envnodeProfile()` mirrors the reference firmware so the agent can be exercised without a board.
 */
import type { Capability } from "../../src/core/reading.js";
import type { WaveSpec } from "./waveforms.js";

export type SensorSpec = Capability & { wave: WaveSpec };

/** `initial` is the wire token the actuator holds after boot; the first allowed value if unset. */
export type ActuatorSpec = Capability & { initial?: string };

export interface EmulatorConfig {
  deviceId: string;
  firmware: string;
  sensors: SensorSpec[];
  actuators: ActuatorSpec[];
  /** Requested readings per second; capped to what the line can carry. */
  rateHz: number;
  /** Serial line speed; output is paced to baud/10 bytes/s (8N1). */
  baud: number;
  /** Seeds the signal and noise generators (not the boot id, which must differ per boot). */
  seed: number;
  /** Delay before a CMD is answered; the protocol allows up to 1 s. */
  ackDelayMs?: number;
  /** Receive commands but never answer them, to exercise the agent's timeouts. */
  ignoreCommands?: boolean;
  /** Time from power-on to HELLO, during which the device neither sends nor listens. */
  bootDelayMs?: number;
}

export function envnodeProfile(overrides: Partial<EmulatorConfig> = {}): EmulatorConfig {
  return {
    deviceId: "envnode-emu",
    firmware: "1.0.0-emu",
    sensors: [
      {
        name: "temp",
        kind: "num",
        unit: "°C",
        min: -40,
        max: 85,
        wave: { type: "sine", offset: 21, amplitude: 1.5, periodS: 600, noise: 0.05 },
      },
      {
        name: "hum",
        kind: "num",
        unit: "%",
        min: 0,
        max: 100,
        wave: { type: "walk", start: 40, step: 0.2, decimals: 1 },
      },
      { name: "door", kind: "bool", wave: { type: "toggle", everyS: 30, forS: 5 } },
    ],
    actuators: [
      { name: "relay", kind: "bool", initial: "0" },
      { name: "led", kind: "enum", values: ["off", "on", "blink"], initial: "off" },
    ],
    rateHz: 2,
    baud: 115200,
    seed: 1,
    ackDelayMs: 5,
    bootDelayMs: 50,
    ...overrides,
  };
}

/** The wire token an actuator starts from when the profile does not say. */
export function initialToken(actuator: ActuatorSpec): string {
  if (actuator.initial !== undefined) return actuator.initial;
  if (actuator.kind === "bool") return "0";
  if (actuator.kind === "enum") return actuator.values?.[0] ?? "off";
  return String(actuator.min ?? 0);
}
