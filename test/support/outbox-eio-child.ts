/**
 * Child process for test/unit/outbox-eio.test.ts: a file outbox driven over stdin, one JSON
 * command a line, one JSON answer a line, so the parent can fail the disk under it (LD_PRELOAD
 * shim, test/support/eio.ts) between commands.
 *
 *   node --import tsx test/support/outbox-eio-child.ts DIR
 *
 *   {"op":"append","from":1,"n":5}  -> {"accepted":[outbox seqs],"refused":[messages]}
 *   {"op":"health"}                 -> the outbox's health
 *   {"op":"readings"}               -> {"readings":[reading seqs the sink gets, in order]}
 *   {"op":"close"}                  -> {} and exit
 */
import { createInterface } from "node:readline";
import { Outbox } from "../../src/core/outbox/index.js";
import type { Reading } from "../../src/core/reading.js";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: outbox-eio-child.ts DIR\n");
  process.exit(2);
}

const outbox = await Outbox.open(dir, {
  sinks: ["xmpp"],
  commitWindowMs: 1,
  cursorFlushMs: 5,
  repairBackoff: { initialMs: 100, maxMs: 800 },
});

function reading(seq: number): Reading {
  return { device: "eio-node", boot: "b1", seq, receivedAt: Date.now(), values: [] };
}

async function append(from: number, n: number): Promise<object> {
  const seqs = Array.from({ length: n }, (_, i) => from + i);
  const results = await Promise.allSettled(seqs.map((s) => outbox.append(reading(s))));
  return {
    accepted: results.flatMap((r) => (r.status === "fulfilled" ? [r.value.seq] : [])),
    refused: results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : [])),
  };
}

function readings(): object {
  const sink = outbox.sink("xmpp");
  const entries = sink.next(10_000);
  sink.requeue();
  return { readings: entries.map((e) => e.reading.seq) };
}

async function answer(line: string): Promise<object> {
  const command = JSON.parse(line) as { op: string; from?: number; n?: number };
  switch (command.op) {
    case "append":
      return append(command.from ?? 1, command.n ?? 1);
    case "health":
      return { ...outbox.health };
    case "readings":
      return readings();
    case "close":
      await outbox.close();
      return {};
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  const reply = await answer(line).catch((e: unknown) => ({ error: String(e) }));
  process.stdout.write(JSON.stringify(reply) + "\n");
  if (line.includes('"close"')) break;
}
