/**
 * The reading model shared by every sink: what the agent knows about one sample of a device.
 * (device, boot, seq) identifies a reading uniquely, so consumers can de-duplicate.
 */
import type { ValueKind } from "../device/wire/frames.js";

export type SensorValue = number | boolean | string;

export interface ReadingValue {
  sensor: string;
  kind: ValueKind;
  value: SensorValue;
  unit?: string;
}

export interface Reading {
  device: string;
  boot: string;
  seq: number;
  /** Device uptime in ms when sampled, if the device sent one. */
  deviceTime?: number;
  /** Agent clock (ms since the epoch) when the line was received. */
  receivedAt: number;
  /**
   * false: `receivedAt` was taken before the agent's clock was synchronised (a board without a
   * real-time clock boots with a stale time), so it may be far off. Absent when synchronised.
   */
  timeSynced?: false;
  values: ReadingValue[];
}

/** What identifies a reading: its device, the boot of that device, and its seq in that boot. */
export type ReadingId = Pick<Reading, "device" | "boot" | "seq">;

export interface Capability {
  name: string;
  kind: ValueKind;
  unit?: string;
  min?: number;
  max?: number;
  values?: string[];
}

/** What a device declared in its HELLO handshake. */
export interface DeviceDescription {
  id: string;
  firmware: string;
  boot: string;
  /** Negotiated protocol version. */
  protocol: number;
  sensors: Capability[];
  actuators: Capability[];
}
