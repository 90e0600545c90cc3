/**
 * What a serial line of a given baud rate can carry, and what noise does to it. At 8N1 a byte
 * costs 10 bit times; readings get at most LINE_SHARE of that so HELLO, ACK and PONG still fit.
 */
import { encodeFrame } from "../../src/device/wire/index.js";
import { Firmware } from "./firmware.js";
import type { EmulatorConfig } from "./profile.js";
import type { Rng } from "./waveforms.js";

const LINE_SHARE = 0.9;
/** Room for num values that print wider later on than at t=0 (sign, more digits). */
const SLACK_PER_VALUE = 4;
const WIDEST_UINT = 4294967295;

export interface LinkBudget {
  bytesPerSecond: number;
  /** Worst-case bytes of one RD line, terminator included. */
  readingBytes: number;
  maxRateHz: number;
  /** Set when the requested rate had to be capped. */
  warning?: string;
}

export function linkBudget(config: EmulatorConfig): LinkBudget {
  const bytesPerSecond = config.baud / 10;
  const probe = new Firmware(config);
  probe.powerOn();
  const sample = probe.reading(0, 0, () => undefined);
  const widest = { ...sample, seq: WIDEST_UINT, t: WIDEST_UINT };
  const readingBytes = encodeFrame(widest).length + 1 + SLACK_PER_VALUE * sample.values.length;
  const maxRateHz = (bytesPerSecond * LINE_SHARE) / readingBytes;
  const budget: LinkBudget = { bytesPerSecond, readingBytes, maxRateHz };
  if (config.rateHz > maxRateHz) {
    budget.warning =
      `rate ${config.rateHz} Hz needs ${Math.round(config.rateHz * readingBytes)} bytes/s but ` +
      `${config.baud} baud carries ${bytesPerSecond}; sending ${maxRateHz.toFixed(1)} Hz instead`;
  }
  return budget;
}

const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Alters one byte after `$` (payload, `*` or CRC digits) so the line fails with crc, frame or
 * syntax. `$`, CR and LF are never produced: they would change the framing, not just the line.
 */
export function corruptLine(line: string, rng: Rng): string {
  if (line.length < 2) return line;
  const at = 1 + Math.floor(rng() * (line.length - 1));
  const original = line.charCodeAt(at);
  let replacement = original;
  while ([original, DOLLAR, CR, LF].includes(replacement)) replacement = Math.floor(rng() * 256);
  return line.slice(0, at) + String.fromCharCode(replacement) + line.slice(at + 1);
}

/** Random bytes, as a loose wire or a ground loop produces between lines. */
export function noiseBytes(count: number, rng: Rng): Buffer {
  return Buffer.from(Array.from({ length: count }, () => Math.floor(rng() * 256)));
}
