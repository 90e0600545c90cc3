/**
 * Pure analysis of a fault-injection run: what the agent promised (its "reading accepted" log
 * lines, written only once a reading is fsync'ed into the outbox), what the bounds dropped (its
 * "outbox dropped readings" lines) and what the independent consumer received.
 */

export interface ReadingKey {
  device: string;
  boot: string;
  seq: number;
}

/** One "reading accepted" log line: the agent guarantees to deliver this reading. */
export interface Accepted extends ReadingKey {
  /** Outbox entry number; the "outbox dropped readings" ranges are in these. */
  entry: number;
  /** Agent clock, ms since the epoch (pino's `time`). */
  time: number;
}

/** One `<reading>` element the consumer received. */
export interface Received extends ReadingKey {
  /** The message carried the agent's XEP-0203 delay: sent late, during catch-up. */
  delayed: boolean;
  /** The message carried the server's delay: stored offline while the consumer was away. */
  offline?: boolean;
  /** Unix seconds when the consumer got it. */
  t: number;
}

/** One "outbox dropped readings" log line; `fromSeq`/`toSeq` are outbox entry numbers. */
export interface Drop {
  sink: string;
  count: number;
  fromSeq: number;
  toSeq: number;
  reason: string;
  time: number;
}

export interface AgentLog {
  accepted: Accepted[];
  drops: Drop[];
  /** Messages logged at error level or above, for diagnosis. */
  errors: string[];
}

export interface Analysis {
  /** Distinct readings accepted. */
  accepted: number;
  /** Distinct accepted readings received at least once. */
  received: number;
  /** `<reading>` elements received in all, duplicates included. */
  receipts: number;
  /** Accepted, never received and not inside any logged drop range: lost without a word. */
  lost: number;
  lostSample: string[];
  /** Accepted, never received, inside a logged drop range: dropped and counted. */
  dropped: number;
  /** Sum of the logged drop counts. */
  droppedLogged: number;
  /** Receipts of a reading already received (at-least-once delivery). */
  duplicates: number;
  /** First receipts out of order within their lane (live or delayed) and (device, boot). */
  orderViolations: number;
  orderSample: string[];
  /** Distinct readings received that no "reading accepted" line announced. */
  unannounced: number;
  devices: number;
  boots: number;
}

const SAMPLE = 10;

export const keyOf = (r: ReadingKey): string => `${r.device}/${r.boot}/${r.seq}`;

function* jsonLines(text: string): Generator<Record<string, unknown>> {
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === "object") yield value as Record<string, unknown>;
    } catch {
      // a line cut by SIGKILL, or not ours
    }
  }
}

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));
const str = (v: unknown): string => (typeof v === "string" ? v : String(v));

/** Reads the agent's pino lines (several runs appended to one file are fine). */
export function parseAgentLog(text: string): AgentLog {
  const log: AgentLog = { accepted: [], drops: [], errors: [] };
  for (const o of jsonLines(text)) {
    if (o.msg === "reading accepted") {
      log.accepted.push({
        device: str(o.device),
        boot: str(o.boot),
        seq: num(o.seq),
        entry: num(o.entry),
        time: num(o.time),
      });
    } else if (o.msg === "outbox dropped readings") {
      const { sink, count, fromSeq, toSeq, reason, time } = o;
      log.drops.push({
        sink: str(sink),
        count: num(count),
        fromSeq: num(fromSeq),
        toSeq: num(toSeq),
        reason: str(reason),
        time: num(time),
      });
    } else if (num(o.level) >= 50) {
      log.errors.push(str(o.msg));
    }
  }
  return log;
}

/** Reads the consumer's output lines. */
export function parseReceived(text: string): Received[] {
  const out: Received[] = [];
  for (const o of jsonLines(text)) {
    out.push({
      device: str(o.device),
      boot: str(o.boot),
      seq: num(o.seq),
      delayed: o.delayed === true,
      offline: o.offline === true,
      t: num(o.t),
    });
  }
  return out;
}

const inDrop = (drops: readonly Drop[], entry: number) =>
  drops.some((d) => entry >= d.fromSeq && entry <= d.toSeq);

export function analyse(
  accepted: readonly Accepted[],
  received: readonly Received[],
  drops: readonly Drop[] = [],
): Analysis {
  const promised = new Map<string, Accepted>();
  for (const a of accepted) promised.set(keyOf(a), a);
  const got = new Set<string>();
  const last = new Map<string, number>();
  const orderSample: string[] = [];
  let duplicates = 0;
  let orderViolations = 0;
  for (const r of received) {
    const key = keyOf(r);
    if (got.has(key)) {
      duplicates += 1;
      continue;
    }
    got.add(key);
    const lane = `${r.delayed ? "delayed" : "live"} ${r.device}/${r.boot}`;
    const before = last.get(lane);
    if (before !== undefined && r.seq <= before) {
      orderViolations += 1;
      if (orderSample.length < SAMPLE) orderSample.push(`${lane}: ${r.seq} after ${before}`);
    }
    last.set(lane, Math.max(before ?? -Infinity, r.seq));
  }
  let lost = 0;
  let dropped = 0;
  let delivered = 0;
  const lostSample: string[] = [];
  for (const [key, a] of promised) {
    if (got.has(key)) delivered += 1;
    else if (inDrop(drops, a.entry)) dropped += 1;
    else {
      lost += 1;
      if (lostSample.length < SAMPLE) lostSample.push(`${key} (entry ${a.entry})`);
    }
  }
  const all = [...promised.values(), ...received];
  return {
    accepted: promised.size,
    received: delivered,
    receipts: received.length,
    lost,
    lostSample,
    dropped,
    droppedLogged: drops.reduce((sum, d) => sum + d.count, 0),
    duplicates,
    orderViolations,
    orderSample,
    unannounced: [...got].filter((k) => !promised.has(k)).length,
    devices: new Set(all.map((r) => r.device)).size,
    boots: new Set(all.map((r) => `${r.device}/${r.boot}`)).size,
  };
}

export interface Recovery {
  /** From the server being back to the consumer's first reading after that. */
  firstReadingSeconds: number | undefined;
  /**
   * From the server being back until every reading accepted before then had been received
   * (or reported dropped); undefined if some never was.
   */
  caughtUpSeconds: number | undefined;
}

/** Recovery after one outage of the server that ended at `backAt` (ms since the epoch). */
export function recovery(
  accepted: readonly Accepted[],
  received: readonly Received[],
  backAt: number,
  drops: readonly Drop[] = [],
): Recovery {
  const back = backAt / 1000;
  let first: number | undefined;
  const firstSeen = new Map<string, number>();
  for (const r of received) {
    if (r.t >= back && (first === undefined || r.t < first)) first = r.t;
    const key = keyOf(r);
    const seen = firstSeen.get(key);
    if (seen === undefined || r.t < seen) firstSeen.set(key, r.t);
  }
  let covered = back;
  for (const a of accepted) {
    if (a.time > backAt || inDrop(drops, a.entry)) continue;
    const seen = firstSeen.get(keyOf(a));
    if (seen === undefined)
      return { firstReadingSeconds: since(first, back), caughtUpSeconds: undefined };
    covered = Math.max(covered, seen);
  }
  return { firstReadingSeconds: since(first, back), caughtUpSeconds: covered - back };
}

const since = (t: number | undefined, from: number) => (t === undefined ? undefined : t - from);

/** Nearest-rank percentile (p in 0..100) of the defined values; undefined when there are none. */
export function percentile(
  values: ReadonlyArray<number | undefined>,
  p: number,
): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}
