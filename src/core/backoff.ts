/**
 * Exponential backoff with full jitter. Shared by every reconnecting edge (serial port, XMPP,
 * MQTT) so that a fleet of agents losing the same server does not come back in lock step.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of each delay that is randomised, 0..1. */
  jitter?: number;
  random?: () => number;
}

export interface Backoff {
  /** Delay before the next attempt; each call counts one more failure. */
  next(): number;
  reset(): void;
  readonly attempts: number;
}

export function createBackoff(options: BackoffOptions): Backoff {
  const { initialMs, maxMs, factor = 2, jitter = 0.3, random = Math.random } = options;
  let attempts = 0;
  return {
    next() {
      const base = Math.min(maxMs, initialMs * factor ** attempts);
      attempts += 1;
      const spread = base * jitter;
      return Math.round(base - spread + random() * spread * 2);
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
