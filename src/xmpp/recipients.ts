/**
 * Health of telemetry recipients. A recipient whose server answers with an error (no such user,
 * unavailable, unknown domain) is backed off instead of being sent every reading: one error per
 * interval at most, never a retry storm against a broken address.
 */
import { createBackoff, type Backoff } from "../core/backoff.js";

export interface RecipientState {
  jid: string;
  errors: number;
  lastCondition?: string;
  /** Epoch ms until which nothing is sent to this recipient. */
  pausedUntil: number;
  skipped: number;
}

export interface RecipientHealthOptions {
  initialMs?: number;
  maxMs?: number;
  now?: () => number;
  random?: () => number;
}

export class RecipientHealth {
  private readonly states = new Map<string, RecipientState & { backoff: Backoff }>();
  private readonly options: Required<RecipientHealthOptions>;

  constructor(options: RecipientHealthOptions = {}) {
    this.options = {
      initialMs: 30_000,
      maxMs: 3_600_000,
      now: Date.now,
      random: Math.random,
      ...options,
    };
  }

  /** Whether to send to this recipient now; a skipped send is counted. */
  shouldSend(jid: string): boolean {
    const state = this.states.get(jid);
    if (!state || state.pausedUntil <= this.options.now()) return true;
    state.skipped += 1;
    return false;
  }

  /** The server bounced a message to this recipient; returns the pause applied in ms. */
  failed(jid: string, condition: string): number {
    const state = this.stateOf(jid);
    state.errors += 1;
    state.lastCondition = condition;
    const pause = state.backoff.next();
    state.pausedUntil = this.options.now() + pause;
    return pause;
  }

  /** Evidence the recipient is reachable again (it wrote to us, or came online). */
  recovered(jid: string): void {
    const state = this.states.get(jid);
    if (!state) return;
    state.backoff.reset();
    state.pausedUntil = 0;
  }

  snapshot(): RecipientState[] {
    return [...this.states.values()].map(({ backoff: _b, ...s }) => ({ ...s }));
  }

  private stateOf(jid: string): RecipientState & { backoff: Backoff } {
    let state = this.states.get(jid);
    if (!state) {
      const { initialMs, maxMs, random } = this.options;
      state = {
        jid,
        errors: 0,
        pausedUntil: 0,
        skipped: 0,
        backoff: createBackoff({ initialMs, maxMs, jitter: 0.2, random }),
      };
      this.states.set(jid, state);
    }
    return state;
  }
}
