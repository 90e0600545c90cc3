/**
 * The order of one boot's readings (PROTOCOL.md §7): gaps, duplicates, and the rule for a seq far
 * from the last accepted one. Within one boot the seq only moves on by one per reading, so a far
 * jump is either many lost lines or a corrupted line that still passed its CRC-16 (about one in
 * 65,536 damaged lines). Accepting such a line would make every real reading after it look like
 * a duplicate; so it is held until the next reading says which it was.
 */
import type { Reading } from "../core/reading.js";

export type SequenceEvent =
  | { type: "reading"; reading: Reading }
  | { type: "gap"; device: string; boot: string; after: number; missing: number }
  | { type: "duplicate"; boot: string; seq: number }
  | { type: "dropped"; reason: string; detail: string }
  | { type: "rewound"; detail: string };

/** Readings this far ahead of the last accepted seq (or behind it) are plausible. */
export const SEQ_WINDOW = 64;
const SEQ_SPAN = 2 ** 32;

function rewound({ device, boot, seq }: Reading, from: number): SequenceEvent {
  const detail =
    `${device} boot ${boot}: seq went back from ${from} to ${seq} and the next reading confirmed ` +
    `it; the reading accepted at seq ${from} was probably a corrupted line`;
  return { type: "rewound", detail };
}

/** How far `seq` is ahead of `last`, wrapping at 2^32. */
function ahead(last: number, seq: number): number {
  return (seq - last + SEQ_SPAN) % SEQ_SPAN;
}

function within(last: number, seq: number): boolean {
  const distance = ahead(last, seq);
  return distance > 0 && distance <= SEQ_WINDOW;
}

export class BootSequence {
  private last: number | undefined;
  /** A reading far from `last`, waiting for the next one to confirm or refute it. */
  private suspect: Reading | undefined;

  /** A new boot, or a resumed one (`last` from before a restart). A pending suspect is dropped. */
  restart(last: number | undefined): SequenceEvent[] {
    const suspect = this.suspect;
    const events = suspect
      ? [this.unconfirmed(suspect, "the device rebooted before a reading confirmed it")]
      : [];
    this.suspect = undefined;
    this.last = last;
    return events;
  }

  /** A reading of this boot that fits the declared capabilities, in arrival order. */
  admit(reading: Reading): SequenceEvent[] {
    const suspect = this.suspect;
    if (!suspect) return this.place(reading);
    if (within(suspect.seq, reading.seq)) {
      this.suspect = undefined;
      return [...this.accept(suspect), ...this.accept(reading)];
    }
    const last = this.last;
    if (last !== undefined && within(last, reading.seq)) {
      this.suspect = undefined;
      const why = `the next reading (seq ${reading.seq}) continues from ${last}`;
      return [this.unconfirmed(suspect, why), ...this.accept(reading)];
    }
    const events = this.place(reading);
    if (this.suspect === suspect) return events;
    const why = `the next reading (seq ${reading.seq}) is far from both`;
    return [this.unconfirmed(suspect, why)];
  }

  private place(reading: Reading): SequenceEvent[] {
    const last = this.last;
    if (last === undefined || within(last, reading.seq)) return this.accept(reading);
    if (reading.seq === last || within(reading.seq, last)) {
      return [{ type: "duplicate", boot: reading.boot, seq: reading.seq }];
    }
    this.suspect = reading;
    return [];
  }

  private accept(reading: Reading): SequenceEvent[] {
    const { device, boot, seq } = reading;
    const previous = this.last;
    this.last = seq;
    const events: SequenceEvent[] = [];
    if (previous !== undefined) {
      const distance = ahead(previous, seq);
      if (distance >= SEQ_SPAN / 2) events.push(rewound(reading, previous));
      else if (distance > 1)
        events.push({ type: "gap", device, boot, after: previous, missing: distance - 1 });
    }
    events.push({ type: "reading", reading });
    return events;
  }

  /** Only called with a suspect pending, so `last` is set (a suspect is measured against it). */
  private unconfirmed(suspect: Reading, why: string): SequenceEvent {
    const last = this.last ?? suspect.seq;
    const distance = ahead(last, suspect.seq);
    const where =
      distance < SEQ_SPAN / 2 ? `${distance} ahead of` : `${SEQ_SPAN - distance} behind`;
    return {
      type: "dropped",
      reason: "unconfirmed-seq",
      detail: `RD seq=${suspect.seq}: ${where} seq ${last}, and ${why}; taken for a corrupted line`,
    };
  }
}
