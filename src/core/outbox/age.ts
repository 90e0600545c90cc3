/**
 * How old a segment's entries are, without trusting the wall clock more than it deserves. A
 * board without a real-time clock boots with a stale time and NTP steps it later, so:
 * - entries appended by this process are aged on the monotonic clock, from their append;
 * - entries loaded at open whose stamp was taken with a synchronised clock can only be aged by
 *   the wall clock (the time the agent was off is known to nothing else), and only while the
 *   wall clock is synchronised: until then their age is unknown, so they are kept;
 * - entries loaded at open whose stamp was not synchronised are aged from when this process
 *   loaded them, on the monotonic clock: a later step says nothing about how old they are.
 */

/** The clocks read at one moment. */
export interface AgeNow {
  /** Wall clock, ms since the epoch. */
  wall: number;
  /** Monotonic clock, ms from any origin. */
  mono: number;
  /** The wall clock is synchronised to a time source. */
  synced: boolean;
}

/** The newest and oldest of a set of times on one clock. */
class Span {
  newest = -Infinity;
  oldest = Infinity;

  add(t: number): void {
    if (t > this.newest) this.newest = t;
    if (t < this.oldest) this.oldest = t;
  }

  get empty(): boolean {
    return this.newest === -Infinity;
  }
}

export class SegmentAge {
  /** Stamps (wall clock) of loaded entries taken with a synchronised clock. */
  private readonly wall = new Span();
  /** Monotonic times from which the other entries are aged. */
  private readonly mono = new Span();
  private unsyncedLoaded = false;

  /** An entry read back at open. */
  loaded(at: number, synced: boolean): void {
    if (synced) this.wall.add(at);
    else this.unsyncedLoaded = true;
  }

  /** An entry appended by this process at monotonic time `mono`. */
  appended(mono: number): void {
    this.mono.add(mono);
  }

  /** Called once at open: loaded entries that the wall clock cannot age start ageing now. */
  startAging(mono: number): void {
    if (this.unsyncedLoaded) this.mono.add(mono);
    this.unsyncedLoaded = false;
  }

  /** Age of its youngest entry (Infinity when it holds none): all of it is at least this old. */
  youngest(now: AgeNow): number {
    const wall = this.wall.empty ? Infinity : now.synced ? now.wall - this.wall.newest : 0;
    return Math.min(wall, now.mono - this.mono.newest);
  }

  /** Age of its oldest entry (-Infinity when it holds none). */
  oldest(now: AgeNow): number {
    const wall = this.wall.empty ? -Infinity : now.synced ? now.wall - this.wall.oldest : 0;
    return Math.max(wall, now.mono - this.mono.oldest);
  }
}
