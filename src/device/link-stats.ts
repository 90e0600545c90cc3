/**
 * Counters of the serial link. Plain numbers, so status reports and metrics read one object.
 */
import type { WireErrorCode } from "./wire/frames.js";

export interface LinkStats {
  bytesIn: number;
  framesIn: number;
  framesOut: number;
  readings: number;
  /** Lines or byte runs dropped by the framer or the decoder, by error name. */
  wireErrors: Record<WireErrorCode, number>;
  /** Readings decoded but not accepted (invalid for the declared capabilities, unknown boot). */
  readingsDropped: number;
  gaps: number;
  missingReadings: number;
  duplicates: number;
  handshakes: number;
  reboots: number;
  opens: number;
  disconnects: number;
  stalls: number;
  commandsOk: number;
  commandsFailed: number;
  lateAnswers: number;
  deviceErrors: number;
}

export function emptyLinkStats(): LinkStats {
  return {
    bytesIn: 0,
    framesIn: 0,
    framesOut: 0,
    readings: 0,
    wireErrors: {
      noise: 0,
      truncated: 0,
      length: 0,
      frame: 0,
      crc: 0,
      syntax: 0,
      type: 0,
      field: 0,
    },
    readingsDropped: 0,
    gaps: 0,
    missingReadings: 0,
    duplicates: 0,
    handshakes: 0,
    reboots: 0,
    opens: 0,
    disconnects: 0,
    stalls: 0,
    commandsOk: 0,
    commandsFailed: 0,
    lateAnswers: 0,
    deviceErrors: 0,
  };
}

export function totalWireErrors(stats: LinkStats): number {
  return Object.values(stats.wireErrors).reduce((a, b) => a + b, 0);
}
