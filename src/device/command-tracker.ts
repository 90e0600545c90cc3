/**
 * Commands in flight to the device, matched to ACK/NACK by correlation id. Bounded, and every
 * entry ends exactly once: answered, timed out, or interrupted.
 */
import {
  CommandInterruptedError,
  CommandRejectedError,
  CommandTimeoutError,
  DeviceBusyError,
  type DeviceCommandError,
} from "./errors.js";
import type { AckFrame, NackFrame } from "./wire/frames.js";

export interface CommandAnswer {
  id: string;
  actuator: string;
  /** The actuator's value after the command, as the device reported it (wire token). */
  token: string | undefined;
  latencyMs: number;
}

interface Pending {
  actuator: string;
  sentAt: number;
  timer: NodeJS.Timeout;
  resolve: (answer: CommandAnswer) => void;
  reject: (error: DeviceCommandError) => void;
}

export interface CommandTrackerOptions {
  maxInFlight?: number;
  now?: () => number;
}

/** Correlation ids are base-36 and at most 8 characters (class `cid`). */
const ID_SPACE = 36 ** 8;

export class CommandTracker {
  private readonly pending = new Map<string, Pending>();
  private counter = 0;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  /** Answers that arrived after their command had timed out, or for ids never sent. */
  lateAnswers = 0;

  constructor(options: CommandTrackerOptions = {}) {
    this.maxInFlight = options.maxInFlight ?? 4;
    this.now = options.now ?? Date.now;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Reserve an id and start the clock. The caller sends the CMD frame with this id;
   * `answer` settles when the device replies or the timeout passes.
   */
  begin(actuator: string, timeoutMs: number): { id: string; answer: Promise<CommandAnswer> } {
    if (this.pending.size >= this.maxInFlight)
      throw new DeviceBusyError(actuator, this.pending.size);
    this.counter = (this.counter + 1) % ID_SPACE;
    const id = this.counter.toString(36);
    const answer = new Promise<CommandAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandTimeoutError(actuator, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { actuator, sentAt: this.now(), timer, resolve, reject });
    });
    return { id, answer };
  }

  /** Settle with a failure that happened before or while sending. */
  fail(id: string, error: DeviceCommandError): void {
    this.take(id)?.reject(error);
  }

  ack(frame: AckFrame): boolean {
    const entry = this.take(frame.id);
    if (!entry) return this.late();
    entry.resolve({
      id: frame.id,
      actuator: entry.actuator,
      token: frame.val,
      latencyMs: this.now() - entry.sentAt,
    });
    return true;
  }

  nack(frame: NackFrame): boolean {
    const entry = this.take(frame.id);
    if (!entry) return this.late();
    entry.reject(new CommandRejectedError(entry.actuator, frame.reason, frame.msg));
    return true;
  }

  /** The port closed or the device rebooted: nothing pending will be answered. */
  interruptAll(cause: string): void {
    for (const [id, entry] of [...this.pending]) {
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new CommandInterruptedError(entry.actuator, cause));
    }
  }

  private take(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }

  private late(): false {
    this.lateAnswers += 1;
    return false;
  }
}
