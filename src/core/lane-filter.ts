/**
 * The per-sensor delivery policy applied to outbox entries on their way to a transport. One
 * filter per relay lane: the replayed past and the live present are two streams in time, and
 * each needs its own "last value sent" to apply an interval or a deadband. A resend (an entry
 * this lane's filter already passed, whose delivery was not confirmed) goes out whole: the filter
 * noted its values as sent and would now hold them back.
 */
import type { DeliveryFilter } from "./delivery-policy.js";
import type { OutboxEntry } from "./outbox/index.js";
import type { Reading } from "./reading.js";
import type { Lane } from "./relay.js";

export interface LaneFilterStats {
  readingsOffered: number;
  readingsFiltered: number;
}

export class LaneFilter {
  readonly stats: LaneFilterStats = { readingsOffered: 0, readingsFiltered: 0 };
  private readonly filters: Record<Lane, DeliveryFilter>;
  /** Per lane, the newest outbox seq the filter has seen; anything at or below it is a resend. */
  private readonly seen: Record<Lane, number> = { live: 0, replay: 0 };

  constructor(makeFilter: () => DeliveryFilter) {
    this.filters = { live: makeFilter(), replay: makeFilter() };
  }

  select(entries: readonly OutboxEntry[], lane: Lane): Reading[] {
    const selected: Reading[] = [];
    for (const { seq, reading } of entries) {
      if (seq <= this.seen[lane]) {
        selected.push(reading);
        continue;
      }
      this.seen[lane] = seq;
      this.stats.readingsOffered += 1;
      const due = this.filters[lane].select(reading);
      if (due) selected.push(due);
      else this.stats.readingsFiltered += 1;
    }
    return selected;
  }
}
