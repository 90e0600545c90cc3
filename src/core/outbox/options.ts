/** Defaults and validation of OutboxOptions. */
import { OutboxUsageError } from "./errors.js";
import type { OutboxOptions } from "./types.js";

type Callbacks = "onDrop" | "onError" | "onHealth";

export interface Settings extends Required<Omit<OutboxOptions, Callbacks>> {
  onDrop: OutboxOptions["onDrop"];
  onError: OutboxOptions["onError"];
  onHealth: OutboxOptions["onHealth"];
}

const MiB = 1024 * 1024;

export const DEFAULTS = {
  // 1 MiB segments: deleting one frees space in a single unlink, and 64 of them keep the
  // per-segment bookkeeping (a linear scan on lookups) negligible.
  segmentBytes: 1 * MiB,
  maxBytes: 64 * MiB,
  maxAgeMs: Infinity,
  // 20 ms adds little latency to a reading while letting a burst share one fsync; an SD card
  // wears per erase block written, so fewer, larger writes also last longer.
  commitWindowMs: 20,
  commitBatch: 64,
  // Lost cursor updates only cause redelivery, so they are batched far more than appends.
  cursorFlushMs: 1000,
  // A failing SD card is retried soon in case the fault was brief, then once a minute, so that
  // a card that stays bad costs little I/O and few log lines.
  repairBackoff: { initialMs: 1000, maxMs: 60_000 },
} as const;

export function resolveOptions(options: OutboxOptions): Settings {
  const settings: Settings = {
    ...DEFAULTS,
    now: Date.now,
    monotonicNow: options.now ?? (() => performance.now()),
    clockSynchronized: () => true,
    ...withoutUndefined(options),
    sinks: [...options.sinks],
    onDrop: options.onDrop,
    onError: options.onError,
    onHealth: options.onHealth,
  };
  validate(settings);
  return settings;
}

function validate(s: Settings): void {
  if (s.sinks.length === 0) throw new OutboxUsageError("outbox options: sinks must not be empty");
  if (new Set(s.sinks).size !== s.sinks.length) {
    throw new OutboxUsageError(`outbox options: duplicate sink names in ${s.sinks.join(", ")}`);
  }
  for (const key of ["segmentBytes", "maxBytes", "maxAgeMs", "commitBatch"] as const) {
    if (!(s[key] > 0)) throw new OutboxUsageError(`outbox options: ${key} must be > 0`);
  }
  for (const key of ["commitWindowMs", "cursorFlushMs"] as const) {
    if (!(s[key] >= 0) || !Number.isFinite(s[key])) {
      throw new OutboxUsageError(`outbox options: ${key} must be a finite number >= 0`);
    }
  }
  const { initialMs, maxMs } = s.repairBackoff;
  if (!(initialMs > 0) || !(maxMs >= initialMs) || !Number.isFinite(maxMs)) {
    throw new OutboxUsageError("outbox options: repairBackoff needs 0 < initialMs <= maxMs");
  }
}

function withoutUndefined(options: OutboxOptions): Partial<OutboxOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
