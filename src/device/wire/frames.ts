/**
 * Typed frames of the iot-wire protocol v1 (firmware-bridge/PROTOCOL.md).
 * Pure data: the codec in this folder turns lines into these and back.
 */

export const PROTOCOL_VERSION = 1;
/** Bytes from `$` to the last CRC digit. */
export const MAX_FRAME = 250;
export const MAX_FIELDS = 16;
export const MAX_VALUE = 64;
export const MAX_CAPABILITIES = 32;

/** Error names shared with the C codec and the test vectors. */
export type WireErrorCode =
  "noise" | "truncated" | "length" | "frame" | "crc" | "syntax" | "type" | "field";

export interface WireError {
  code: WireErrorCode;
  /** What was wrong and where, e.g. `RD field 'seq': expected uint, got "12a"`. */
  detail: string;
}

export type ValueKind = "num" | "bool" | "enum";
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface HelloFrame {
  type: "HELLO";
  proto: number;
  min: number;
  dev: string;
  fw: string;
  boot: string;
  sensors: number;
  actuators: number;
}

export interface CapabilityFrame {
  type: "SENSOR" | "ACTUATOR";
  name: string;
  kind: ValueKind;
  unit?: string;
  min?: number;
  max?: number;
  values?: string[];
}

export interface ReadingFrame {
  type: "RD";
  boot: string;
  seq: number;
  t?: number;
  /** Sensor name and raw scalar token, in wire order; typed against the capabilities later. */
  values: Array<[string, string]>;
}

export interface AckFrame {
  type: "ACK";
  id: string;
  val?: string;
}

export interface NackFrame {
  type: "NACK";
  id: string;
  reason: string;
  msg?: string;
}

export interface PongFrame {
  type: "PONG";
  id: string;
}

export interface LogFrame {
  type: "LOG";
  level: LogLevel;
  msg: string;
}

export interface ErrFrame {
  type: "ERR";
  code: string;
  sensor?: string;
  msg?: string;
}

export interface WhoFrame {
  type: "WHO";
}

export interface UseFrame {
  type: "USE";
  v: number;
}

export interface CmdFrame {
  type: "CMD";
  id: string;
  act: string;
  val: string;
}

export interface PingFrame {
  type: "PING";
  id: string;
}

export type DeviceFrame =
  | HelloFrame
  | CapabilityFrame
  | ReadingFrame
  | AckFrame
  | NackFrame
  | PongFrame
  | LogFrame
  | ErrFrame;

export type AgentFrame = WhoFrame | UseFrame | CmdFrame | PingFrame;

export type Frame = DeviceFrame | AgentFrame;

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; error: WireError };
