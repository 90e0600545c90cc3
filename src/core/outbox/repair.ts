/**
 * The outbox's way back from a failing disk. A refused write or sync puts the outbox in the
 * "failing" state; from then on it tries to reopen its storage after exponentially growing
 * delays, and the state is "ok" again once an attempt, or a commit, proved the disk takes writes.
 * While failing, appends are refused (not queued: a reading counts only once it is durable),
 * and each refused one is counted.
 */
import { createBackoff } from "../backoff.js";
import type { Backoff } from "../backoff.js";
import { OutboxIoError } from "./errors.js";
import type { OutboxError } from "./errors.js";
import type { OutboxFailure, OutboxHealth } from "./types.js";

export interface RepairOptions {
  initialMs: number;
  maxMs: number;
  now: () => number;
  /** One attempt: reopen the storage and prove it takes writes; throws while it cannot. */
  attempt: () => Promise<void>;
  onHealth: ((health: OutboxHealth) => void) | undefined;
  /** `onHealth` threw. */
  onCallbackError: (cause: unknown) => void;
}

export class Repair {
  private failure: OutboxFailure | undefined;
  private failing = false;
  private failures = 0;
  private refused = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(private readonly options: RepairOptions) {
    this.backoff = createBackoff({ initialMs: options.initialMs, maxMs: options.maxMs });
  }

  get health(): OutboxHealth {
    return {
      state: this.failing ? "failing" : "ok",
      failure: this.failure && { ...this.failure },
      failures: this.failures,
      refusedWhileFailing: this.refused,
    };
  }

  /** A commit failed with `error`; its `refused` readings were rejected. */
  failed(error: OutboxError, refused: number): void {
    this.refused += refused;
    if (this.failing && this.failure) {
      this.failure.refused += refused;
      Object.assign(this.failure, describe(error));
      return;
    }
    this.failing = true;
    this.failures += 1;
    const since = this.options.now();
    this.failure = { since, ...describe(error), refused, attempts: 0, ...NOT_YET };
    this.schedule();
    this.report();
  }

  /**
   * A background write (cursors, deletions) failed: while failing that is the latest news of
   * the same fault, kept as the failure's error rather than told again; false otherwise.
   */
  absorbed(error: OutboxError): boolean {
    if (!this.failing || !this.failure || !(error instanceof OutboxIoError)) return false;
    Object.assign(this.failure, describe(error));
    return true;
  }

  /** A commit went through: the disk takes writes. */
  succeeded(): void {
    this.backoff.reset();
    if (this.failing) this.recovered();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.stopped || !this.failure) return;
    const delay = this.backoff.next();
    this.failure.nextAttemptAt = this.options.now() + delay;
    this.timer = setTimeout(() => void this.tryAgain(), delay);
    // While the agent runs other handles keep it alive; a failing disk must not keep it alive.
    this.timer.unref();
  }

  private async tryAgain(): Promise<void> {
    this.timer = undefined;
    const failure = this.failure;
    if (!this.failing || this.stopped || !failure) return;
    failure.attempts += 1;
    try {
      await this.options.attempt();
    } catch (cause) {
      Object.assign(failure, describe(cause));
      this.schedule();
      this.report();
      return;
    }
    if (this.failing) this.recovered();
  }

  private recovered(): void {
    this.failing = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.failure) {
      this.failure.nextAttemptAt = undefined;
      this.failure.recoveredAt = this.options.now();
    }
    this.report();
  }

  private report(): void {
    try {
      this.options.onHealth?.(this.health);
    } catch (cause) {
      this.options.onCallbackError(cause);
    }
  }
}

const NOT_YET = { nextAttemptAt: undefined, recoveredAt: undefined };

function describe(cause: unknown): Pick<OutboxFailure, "op" | "file" | "error"> {
  if (cause instanceof OutboxIoError) {
    const why = cause.cause instanceof Error ? cause.cause.message : cause.message;
    return { op: cause.op, file: cause.file, error: why };
  }
  return { op: "storage", file: "", error: cause instanceof Error ? cause.message : String(cause) };
}
