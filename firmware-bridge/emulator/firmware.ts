/**
 * The emulated firmware's logic, free of I/O and timers: boot state, capability frames, readings
 * and answers to agent frames, as the reference sketch does them. The emulator decides when.
 */
import { randomBytes } from "node:crypto";
import { formatValue, validateValue } from "../../src/device/validate.js";
import { encodeText } from "../../src/device/wire/index.js";
import { MAX_VALUE, PROTOCOL_VERSION } from "../../src/device/wire/frames.js";
import type {
  AckFrame,
  CapabilityFrame,
  CmdFrame,
  DeviceFrame,
  Frame,
  NackFrame,
  ReadingFrame,
} from "../../src/device/wire/frames.js";
import type { Capability } from "../../src/core/reading.js";
import { initialToken, type EmulatorConfig } from "./profile.js";
import { createSampler, deriveRng, type Sampler } from "./waveforms.js";

const SEQ_WRAP = 4294967296;

export interface CommandOutcome {
  frame: CmdFrame;
  reply: AckFrame | NackFrame;
}

export class Firmware {
  boot = "";
  /** Last seq sent in this boot; 0 before the first reading. */
  seq = 0;
  readonly #config: EmulatorConfig;
  readonly #samplers: Array<{ cap: Capability; sample: Sampler }>;
  readonly #actuators = new Map<string, string>();

  constructor(config: EmulatorConfig) {
    this.#config = config;
    this.#samplers = config.sensors.map(({ wave, ...cap }) => ({
      cap,
      sample: createSampler(cap, wave, deriveRng(config.seed, cap.name)),
    }));
    checkUnique("sensor", config.sensors);
    checkUnique("actuator", config.actuators);
  }

  /** A reset: new boot id, seq from 1 again, actuators back to their initial values. */
  powerOn(): string {
    let boot: string;
    do boot = randomBytes(4).toString("hex");
    while (boot === this.boot);
    this.boot = boot;
    this.seq = 0;
    for (const act of this.#config.actuators) this.#actuators.set(act.name, initialToken(act));
    return boot;
  }

  actuatorState(): Record<string, string> {
    return Object.fromEntries(this.#actuators);
  }

  /** HELLO followed by every capability, as sent at boot and on WHO. */
  hello(): DeviceFrame[] {
    const { deviceId, firmware, sensors, actuators } = this.#config;
    return [
      {
        type: "HELLO",
        proto: PROTOCOL_VERSION,
        min: PROTOCOL_VERSION,
        dev: deviceId,
        fw: firmware,
        boot: this.boot,
        sensors: sensors.length,
        actuators: actuators.length,
      },
      ...sensors.map((s) => capabilityFrame("SENSOR", s)),
      ...actuators.map((a) => capabilityFrame("ACTUATOR", a)),
    ];
  }

  /**
   * Samples every sensor and advances seq. A value the codec refuses to format is left out and
   * reported, rather than sending a line the agent would reject as a whole.
   */
  reading(worldMs: number, uptimeMs: number, warn: (message: string) => void): ReadingFrame {
    const values: Array<[string, string]> = [];
    for (const { cap, sample } of this.#samplers) {
      const value = sample(worldMs);
      const formatted = formatValue(cap, value);
      if (formatted.ok) values.push([cap.name, formatted.token]);
      else warn(`sensor ${cap.name}: cannot send ${String(value)}: ${formatted.detail}`);
    }
    this.seq = (this.seq + 1) % SEQ_WRAP;
    return { type: "RD", boot: this.boot, seq: this.seq, t: uptimeMs % SEQ_WRAP, values };
  }

  /** Applies a CMD and returns the ACK or NACK the firmware owes for it. */
  command(frame: CmdFrame): CommandOutcome {
    const cap = this.#config.actuators.find((a) => a.name === frame.act);
    if (!cap) return nack(frame, "unknown_actuator", `no actuator ${frame.act}`);
    const parsed = validateValue(cap, frame.val);
    if (!parsed.ok) return nack(frame, "bad_value", parsed.detail);
    const formatted = formatValue(cap, parsed.value);
    if (!formatted.ok) return nack(frame, "bad_value", formatted.detail);
    this.#actuators.set(cap.name, formatted.token);
    return { frame, reply: { type: "ACK", id: frame.id, val: formatted.token } };
  }

  /** Answers for the non-command agent frames; frames a device does not act on give nothing. */
  respond(frame: Frame): DeviceFrame[] {
    switch (frame.type) {
      case "WHO":
        return this.hello();
      case "PING":
        return [{ type: "PONG", id: frame.id }];
      case "USE":
        return frame.v === PROTOCOL_VERSION
          ? []
          : [
              {
                type: "ERR",
                code: "bad_version",
                msg: `only v${PROTOCOL_VERSION}, not v${frame.v}`,
              },
            ];
      default:
        return [];
    }
  }
}

function capabilityFrame(type: "SENSOR" | "ACTUATOR", spec: Capability): CapabilityFrame {
  const { name, kind, unit, min, max, values } = spec;
  return { type, name, kind, unit, min, max, values };
}

function nack(frame: CmdFrame, reason: string, msg: string): CommandOutcome {
  return { frame, reply: { type: "NACK", id: frame.id, reason, msg: fitText(msg) } };
}

/** Shortens free text until its escaped form fits one value (escapes cost 3 bytes each). */
export function fitText(text: string, limit = MAX_VALUE): string {
  let fitted = text;
  while (fitted.length > 0 && encodeText(fitted).length > limit) fitted = fitted.slice(0, -1);
  return fitted;
}

function checkUnique(what: string, caps: readonly Capability[]): void {
  const seen = new Set<string>();
  for (const { name } of caps) {
    if (seen.has(name)) throw new Error(`profile declares ${what} ${name} twice`);
    seen.add(name);
  }
}
