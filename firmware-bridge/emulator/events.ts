/** What the emulator reports to tests and to the CLI. */
import type { AckFrame, CmdFrame, DeviceFrame, NackFrame } from "../../src/device/wire/frames.js";
import type { EmulatorConfig } from "./profile.js";

export interface EmulatorStartOptions extends Partial<EmulatorConfig> {
  /** Path the agent opens; the device side is `${link}.dev` unless `devicePath` is set. */
  link: string;
  devicePath?: string;
}

export type FaultKind = "corrupt" | "garbage" | "reboot" | "stall" | "unplug";

export interface FaultStats {
  /** Lines actually sent with an altered byte. */
  corrupted: number;
  garbageBursts: number;
  garbageBytes: number;
  reboots: number;
  stalls: number;
  unplugs: number;
}

export function emptyFaults(): FaultStats {
  return { corrupted: 0, garbageBursts: 0, garbageBytes: 0, reboots: 0, stalls: 0, unplugs: 0 };
}

/** Which counter a fault bumps when injected; corruption is counted per line actually sent. */
export const FAULT_COUNTERS: Readonly<Record<FaultKind, keyof FaultStats | undefined>> = {
  corrupt: undefined,
  garbage: "garbageBursts",
  reboot: "reboots",
  stall: "stalls",
  unplug: "unplugs",
};

export interface SentLine {
  frame: DeviceFrame;
  /** The line as it went out, without "\n"; differs from encodeFrame(frame) when corrupted. */
  line: string;
  corrupted: boolean;
}

export interface CommandEvent {
  frame: CmdFrame;
  result: "ack" | "nack" | "ignored";
  reply?: AckFrame | NackFrame;
}

/** start: first power-on; reboot: reboot() fault; power: came back after an unplug with reboot. */
export type BootReason = "start" | "reboot" | "power";

export interface EmulatorStatus {
  boot: string;
  /** Last seq sent in the current boot; 0 before the first reading. */
  seq: number;
  actuators: Record<string, string>;
  plugged: boolean;
  sentLines: number;
  commandsReceived: number;
  faults: FaultStats;
}

export interface EmulatorEvents {
  "line-sent": [sent: SentLine];
  command: [event: CommandEvent];
  boot: [event: { boot: string; reason: BootReason }];
  fault: [event: { kind: FaultKind; detail: string }];
  /** Something the user should know but that does not stop the device, e.g. a capped rate. */
  warning: [message: string];
  /** The device side of the cable opened again (after an unplug) or closed. */
  plugged: [];
  unplugged: [];
}
