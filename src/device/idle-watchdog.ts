/**
 * Notices a device that went quiet. Silence alone is not a fault (a device may report once a
 * minute), so after `idleMs` without a byte it sends PING, and only an unanswered ping makes the
 * device count as stalled. Pings repeat while the silence lasts.
 */
export interface IdleWatchdogOptions {
  idleMs: number;
  answerMs: number;
  now: () => number;
  ping: (id: string) => void;
  stalled: () => void;
}

export class IdleWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private outstanding: { id: string; sentAt: number } | undefined;
  private reported = false;
  private counter = 0;

  constructor(private readonly options: IdleWatchdogOptions) {}

  start(): void {
    this.stop();
    this.activity();
    const tick = Math.max(10, Math.min(this.options.idleMs, this.options.answerMs) / 4);
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.outstanding = undefined;
  }

  /** Any byte from the device proves it alive. */
  activity(): void {
    this.lastActivity = this.options.now();
    this.outstanding = undefined;
    this.reported = false;
  }

  answered(_id: string): void {
    this.activity();
  }

  private check(): void {
    const now = this.options.now();
    const sent = this.outstanding;
    if (sent && now - sent.sentAt >= this.options.answerMs) {
      if (!this.reported) this.options.stalled();
      this.reported = true;
      this.outstanding = undefined;
      this.lastActivity = now - this.options.idleMs;
    }
    if (!this.outstanding && now - this.lastActivity >= this.options.idleMs) {
      this.counter = (this.counter + 1) % 36 ** 8;
      const id = `p${this.counter.toString(36)}`.slice(0, 8);
      this.outstanding = { id, sentAt: now };
      this.options.ping(id);
    }
  }
}
