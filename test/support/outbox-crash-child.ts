/**
 * Child process for test/unit/outbox-crash.test.ts, killed with SIGKILL at a random moment.
 *
 *   node --import tsx test/support/outbox-crash-child.ts DIR BOOT
 *
 * Prints "ready" once the outbox is open, then appends readings from several concurrent
 * writers and prints "<outbox seq> <reading seq>" for each ONLY after append() resolved: a
 * printed line is a promise that the reading is on disk. Sink "xmpp" acks everything so the
 * cursor file is replaced over and over under fire; "mqtt" never acks, so every entry stays on
 * disk for the parent to check. Small segments make segment rolls happen under fire too.
 */
import { Outbox } from "../../src/core/outbox/index.js";
import type { Reading } from "../../src/core/reading.js";

const WRITERS = 8;

const [dir, boot] = process.argv.slice(2);
if (!dir || !boot) {
  process.stderr.write("usage: outbox-crash-child.ts DIR BOOT\n");
  process.exit(2);
}

const outbox = await Outbox.open(dir, {
  sinks: ["xmpp", "mqtt"],
  segmentBytes: 4096,
  commitWindowMs: 1,
  cursorFlushMs: 5,
});
// Writes to a pipe are synchronous on Linux, so a line is out before the next append starts.
process.stdout.write("ready\n");

let readingSeq = 0;

function reading(seq: number): Reading {
  const values = [{ sensor: "temp", kind: "num" as const, value: seq % 1000, unit: "°C" }];
  return { device: "crash-node", boot: boot ?? "", seq, receivedAt: Date.now(), values };
}

async function writer(): Promise<never> {
  for (;;) {
    const seq = ++readingSeq;
    const entry = await outbox.append(reading(seq));
    process.stdout.write(`${entry.seq} ${seq}\n`);
  }
}

async function acker(): Promise<never> {
  const sink = outbox.sink("xmpp");
  for (;;) {
    await sink.whenAvailable();
    for (const entry of sink.next(100)) sink.ack(entry.seq);
  }
}

await Promise.all([acker(), ...Array.from({ length: WRITERS }, writer)]);
