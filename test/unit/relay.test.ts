/**
 * The outbox relay (src/core/relay.ts) over a MemoryOutbox and a transport that records what it
 * is given and confirms or fails it on the test's word, as a server's acks would.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/core/logger.js";
import { MemoryDisk, MemoryOutbox, type Outbox } from "../../src/core/outbox/index.js";
import type { OutboxEntry } from "../../src/core/outbox/index.js";
import type { Reading } from "../../src/core/reading.js";
import { OutboxRelay, type Lane, type RelayOptions } from "../../src/core/relay.js";
import { until } from "../support/wait.js";

interface Delivery {
  seqs: number[];
  lane: Lane;
  at: number;
  confirm: () => void;
  fail: () => void;
}

/** Confirms every delivery at once unless `manual`; `ready` plays the connection. */
class RecordingTransport {
  ready = true;
  manual = false;
  readonly deliveries: Delivery[] = [];

  deliver(entries: OutboxEntry[], lane: Lane): Promise<void> {
    return new Promise((resolve, reject) => {
      const seqs = entries.map((e) => e.reading.seq);
      const fail = () => reject(new Error("stream ended"));
      this.deliveries.push({ seqs, lane, at: Date.now(), confirm: resolve, fail });
      if (!this.manual) resolve();
    });
  }

  seqs(lane?: Lane): number[] {
    return this.deliveries.filter((d) => !lane || d.lane === lane).flatMap((d) => d.seqs);
  }
}

function reading(seq: number): Reading {
  const values = [{ sensor: "temp", kind: "num" as const, value: seq }];
  return { device: "dev", boot: "b1", seq, receivedAt: 1_700_000_000_000 + seq, values };
}

const log = createLogger({ level: "silent" });
const opened: Outbox[] = [];
const relays: OutboxRelay[] = [];

async function setup(options: Partial<RelayOptions> = {}, disk = new MemoryDisk()) {
  const outbox = await MemoryOutbox.open({ sinks: ["xmpp"], commitWindowMs: 1 }, disk);
  opened.push(outbox);
  const transport = new RecordingTransport();
  const relay = new OutboxRelay({
    sink: outbox.sink("xmpp"),
    transport,
    batch: { maxReadings: 1, maxDelayMs: 0 },
    catchUp: { messagesPerSecond: 1000, readingsPerDelivery: 5 },
    log,
    ...options,
  });
  relays.push(relay);
  /** Appends like the agent: durable first, then offered to the relay. */
  const accept = async (from: number, count: number) => {
    const seqs = Array.from({ length: count }, (_, i) => from + i);
    for (const entry of await Promise.all(seqs.map((s) => outbox.append(reading(s))))) {
      relay.offer(entry);
    }
  };
  return { outbox, sink: outbox.sink("xmpp"), transport, relay, accept, disk };
}

afterEach(async () => {
  for (const relay of relays.splice(0)) relay.stop();
  for (const outbox of opened.splice(0)) await outbox.close();
});

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("OutboxRelay", () => {
  it("delivers live readings in order and acks each once confirmed", async () => {
    const { transport, relay, accept, sink } = await setup();
    relay.start();
    await accept(1, 10);
    await until(() => sink.cursor === 10, "all acked");
    expect(transport.seqs("live")).toEqual(range(1, 10));
    expect(transport.seqs("replay")).toEqual([]);
    expect(relay.stats).toMatchObject({ delivered: 10, replayed: 0, catchingUp: false });
  });

  it("keeps readings while the transport is down, then replays them in order, paced", async () => {
    const { transport, relay, accept, sink } = await setup({
      catchUp: { messagesPerSecond: 50, readingsPerDelivery: 4 },
    });
    relay.start();
    transport.ready = false;
    await accept(1, 40);
    expect(transport.deliveries).toEqual([]);
    expect(sink.pending).toBe(40);
    transport.ready = true;
    const started = Date.now();
    relay.pump();
    await until(() => sink.cursor === 40, "backlog acked");
    expect(transport.seqs("replay")).toEqual(range(1, 40));
    expect(transport.deliveries.every((d) => d.seqs.length <= 4)).toBe(true);
    // 10 deliveries at 50 a second: the last leaves at least 9 × 20 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(170);
    expect(relay.stats).toMatchObject({ replayed: 40, catchingUp: false });
  });

  it("sends fresh readings live during a catch-up, each lane in order", async () => {
    const { transport, relay, accept, sink } = await setup({
      catchUp: { messagesPerSecond: 20, readingsPerDelivery: 2 },
    });
    relay.start();
    transport.ready = false;
    await accept(1, 20);
    transport.ready = true;
    relay.pump();
    await accept(21, 3); // while the backlog is being replayed
    await until(() => transport.seqs("live").length === 3, "live readings out");
    expect(transport.seqs("replay").length).toBeLessThan(20); // they did not wait for the past
    await until(() => sink.cursor === 23, "everything acked");
    expect(transport.seqs("live")).toEqual([21, 22, 23]);
    expect(transport.seqs("replay")).toEqual(range(1, 20));
    await accept(24, 2); // caught up: live again, in order
    await until(() => sink.cursor === 25, "new readings acked");
    expect(transport.seqs("live")).toEqual([21, 22, 23, 24, 25]);
  });

  it("replays whatever was not confirmed when the stream ended", async () => {
    const { transport, relay, accept, sink } = await setup();
    relay.start();
    transport.manual = true;
    await accept(1, 6);
    await until(() => transport.deliveries.length === 6, "six deliveries");
    for (const d of transport.deliveries.slice(0, 2)) d.confirm();
    transport.ready = false; // the connection drops with four unconfirmed
    for (const d of transport.deliveries.slice(2)) d.fail();
    await until(() => relay.stats.failures === 4, "failures seen");
    expect(sink.cursor).toBe(2);
    transport.manual = false;
    transport.ready = true;
    relay.pump();
    await until(() => sink.cursor === 6, "resent and acked");
    expect(transport.seqs("replay")).toEqual([3, 4, 5, 6]);
    expect(relay.stats).toMatchObject({ delivered: 6, failures: 4 });
  });

  it("backs off from a peer that is up but refuses, instead of retrying at once", async () => {
    const { transport, relay, accept, sink } = await setup();
    relay.start();
    transport.manual = true;
    await accept(1, 1);
    await until(() => transport.deliveries.length === 1, "first attempt");
    transport.deliveries[0]?.fail(); // the transport is still ready: a refusal
    await until(() => relay.stats.failures === 1, "failure seen");
    await new Promise((r) => setTimeout(r, 500));
    expect(transport.deliveries).toHaveLength(1); // no retry within the first second
    transport.manual = false;
    await until(() => sink.cursor === 1, "retried after the backoff", 5_000);
    expect(transport.deliveries).toHaveLength(2);
  });

  it("replays a backlog left by an earlier run", async () => {
    const first = await setup();
    first.transport.ready = false;
    first.relay.start();
    await first.accept(1, 7);
    first.relay.stop();
    await first.outbox.close();
    // Paced at 10 deliveries/s, the second batch leaves 100 ms after the first: the relay is
    // still catching up when start() returns, however slow the machine.
    const second = await setup(
      { catchUp: { messagesPerSecond: 10, readingsPerDelivery: 5 } },
      first.disk,
    );
    second.relay.start();
    expect(second.relay.stats.catchingUp).toBe(true);
    await until(() => second.sink.cursor === 7, "backlog acked after restart");
    expect(second.transport.seqs("replay")).toEqual(range(1, 7));
  });

  it("batches live readings up to maxReadings, or what came within maxDelayMs", async () => {
    const { transport, relay, accept, sink } = await setup({
      batch: { maxReadings: 4, maxDelayMs: 60 },
    });
    relay.start();
    await accept(1, 8);
    await until(() => sink.cursor === 8, "two full batches");
    await accept(9, 1);
    await until(() => sink.cursor === 9, "a partial batch after the delay");
    expect(transport.deliveries.map((d) => d.seqs)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  });

  it("settles idle() once the transport answered every delivery", async () => {
    const { transport, relay, accept } = await setup();
    relay.start();
    transport.manual = true;
    await accept(1, 2);
    await until(() => transport.deliveries.length === 2, "in flight");
    relay.stop();
    let idle = false;
    const waiting = relay.idle().then(() => (idle = true));
    transport.deliveries[0]?.confirm();
    await new Promise((r) => setTimeout(r, 10));
    expect(idle).toBe(false);
    transport.deliveries[1]?.fail();
    await waiting;
    expect(relay.stats).toMatchObject({ delivered: 1, failures: 1 });
  });

  it("abandons deliveries a peer never answers: idle() settles, nothing is acked", async () => {
    const disk = new MemoryDisk();
    const { outbox, sink, transport, relay, accept } = await setup({}, disk);
    relay.start();
    await accept(1, 2);
    await until(() => sink.cursor === 2, "confirmed");
    transport.manual = true;
    await accept(3, 3);
    await until(() => transport.deliveries.length === 5, "in flight");
    relay.stop();
    let idle = false;
    const waiting = relay.idle().then(() => (idle = true));
    expect(relay.abandon()).toBe(3);
    await waiting;
    expect(idle).toBe(true);
    expect(sink.inFlight).toBe(0);
    // A late answer after the outbox is closed must neither ack nor throw.
    await outbox.close();
    transport.deliveries[3]?.confirm();
    transport.deliveries[4]?.fail();
    await new Promise((r) => setTimeout(r, 10));
    expect(relay.stats).toMatchObject({ delivered: 2, failures: 3 });
    const reopened = await MemoryOutbox.open({ sinks: ["xmpp"] }, disk);
    opened.push(reopened);
    expect(reopened.sink("xmpp").cursor).toBe(2);
    expect(reopened.sink("xmpp").pending).toBe(3);
  });
});
