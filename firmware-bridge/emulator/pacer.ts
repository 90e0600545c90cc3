/**
 * Output pacing: a pty moves bytes as fast as the CPU allows, a UART does not. A token bucket at
 * baud/10 bytes/s (8N1) keeps the emulator honest, so an agent that keeps up with the emulator will
 * keep up with a real line of that speed.
 */

export interface PacerOptions {
  bytesPerSecond: number;
  /** Bytes that may go out back to back after an idle period; absorbs timer jitter. */
  burst?: number;
  now?: () => number;
}

/** Anything with bytes to send; the sink gets the item back when its bytes may leave. */
export interface Paced {
  bytes: Buffer;
}

export type Sink<T extends Paced> = (item: T) => void;

export class Pacer<T extends Paced> {
  readonly bytesPerSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sink: Sink<T>;
  readonly #queue: T[] = [];
  #queuedBytes = 0;
  #tokens: number;
  #refilledAt: number;
  #pausedUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(sink: Sink<T>, options: PacerOptions) {
    if (!(options.bytesPerSecond > 0)) {
      throw new Error(`pacer needs bytesPerSecond > 0, got ${options.bytesPerSecond}`);
    }
    this.#sink = sink;
    this.bytesPerSecond = options.bytesPerSecond;
    this.#burst = options.burst ?? Math.max(16, Math.round(options.bytesPerSecond / 20));
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#refilledAt = this.#now();
  }

  /** Bytes waiting to go out. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  push(item: T): void {
    if (item.bytes.length === 0) return;
    this.#queue.push(item);
    this.#queuedBytes += item.bytes.length;
    if (this.#timer === undefined) this.#pump(); // else the pending timer will get to it
  }

  /** Drops everything not yet sent (a reset loses the UART buffer). */
  clear(): void {
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#settleIdle();
  }

  /** Holds output for `ms`; queued bytes go out afterwards. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + ms);
    this.#reschedule();
  }

  /** Resolves once every queued byte has been handed to the sink. */
  idle(): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.clear();
  }

  #refill(): void {
    const now = this.#now();
    const earned = ((now - this.#refilledAt) * this.bytesPerSecond) / 1000;
    this.#tokens = Math.min(this.#burst, this.#tokens + earned);
    this.#refilledAt = now;
  }

  /**
   * A chunk may leave while the bucket is not in debt; its size is then owed. Waiting for the full
   * size instead would stall lines longer than the burst forever.
   */
  #pump = (): void => {
    this.#timer = undefined;
    this.#refill();
    while (this.#queue.length > 0 && this.#tokens >= 0 && this.#now() >= this.#pausedUntil) {
      const item = this.#queue.shift();
      if (!item) break;
      this.#queuedBytes -= item.bytes.length;
      this.#tokens -= item.bytes.length;
      this.#sink(item);
    }
    if (this.#queue.length === 0) this.#settleIdle();
    else this.#reschedule();
  };

  #reschedule(): void {
    if (this.#queue.length === 0) return;
    clearTimeout(this.#timer);
    const debtMs = this.#tokens < 0 ? (-this.#tokens * 1000) / this.bytesPerSecond : 0;
    const pauseMs = this.#pausedUntil - this.#now();
    this.#timer = setTimeout(this.#pump, Math.max(1, Math.ceil(Math.max(debtMs, pauseMs))));
  }

  #settleIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
