/**
 * The recent past, in memory: the last `capacity` readings, oldest first, for requests such as a
 * XEP-0323 historical readout. Bounded by count, so memory stays flat however long the agent
 * runs; what falls out is still in the outbox until delivered, and at the recipients after.
 */
import type { Reading } from "./reading.js";

export class RecentHistory {
  private readonly ring: Array<Reading | undefined>;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`history capacity must be an integer >= 1, got ${capacity}`);
    }
    this.ring = new Array<Reading | undefined>(capacity);
  }

  add(reading: Reading): void {
    this.ring[this.next] = reading;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  get length(): number {
    return this.size;
  }

  latest(): Reading | undefined {
    return this.size === 0 ? undefined : this.ring[(this.next - 1 + this.capacity) % this.capacity];
  }

  /** Readings received in [from, to] (agent clock, ms), oldest first, at most `limit`. */
  between(from: number, to: number, limit = this.capacity): Reading[] {
    const found: Reading[] = [];
    for (let i = 0; i < this.size && found.length < limit; i++) {
      const r = this.ring[(this.next - this.size + i + this.capacity) % this.capacity];
      if (r && r.receivedAt >= from && r.receivedAt <= to) found.push(r);
    }
    return found;
  }
}
