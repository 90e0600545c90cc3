/**
 * Crash consistency of the file outbox (src/core/outbox) for real: a child process appends
 * readings and prints each one only after append() resolved; it is SIGKILLed at a random moment,
 * several times over the same directory. After each kill the directory must hold every printed
 * reading, intact and in order, with no outbox seq twice, and a readable cursor file.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outbox } from "../../src/core/outbox/index.js";

const ROUNDS = 6;
const CHILD = "test/support/outbox-crash-child.ts";

interface Printed {
  seq: number;
  readingSeq: number;
  boot: string;
}

/** Runs the child until `killAfterMs` after it is ready, then SIGKILLs it; returns what it printed. */
async function crashRun(dir: string, boot: string, killAfterMs: number): Promise<Printed[]> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, boot], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let timer: NodeJS.Timeout | undefined;
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    if (timer === undefined && out.startsWith("ready\n")) {
      timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("close", (_code, sig) => resolve(sig)),
  );
  clearTimeout(timer);
  expect(signal, `child ended on its own: ${err}`).toBe("SIGKILL");
  // A line cut by the kill has no newline and was not a complete promise; drop it.
  const lines = out.split("\n").slice(1, -1);
  return lines.map((line) => {
    const [seq, readingSeq] = line.split(" ").map(Number);
    return { seq: seq ?? NaN, readingSeq: readingSeq ?? NaN, boot };
  });
}

describe("outbox crash consistency", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "outbox-crash-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps every acknowledged append across SIGKILLs at random moments", async () => {
    const printed = new Map<number, Printed>();
    let xmppCursor = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 50 + Math.floor(Math.random() * 250);
      const context = `round ${round}, killed ${delay} ms after ready`;
      const lines = await crashRun(dir, `boot-${round}`, delay);
      expect(lines.length, context).toBeGreaterThan(0);
      for (const line of lines) {
        expect(printed.has(line.seq), `${context}: seq ${line.seq} printed twice`).toBe(false);
        printed.set(line.seq, line);
      }

      const outbox = await Outbox.open(dir, { sinks: ["xmpp", "mqtt"], segmentBytes: 4096 });
      try {
        expect(outbox.recovery, context).toMatchObject({
          lostSeqs: 0,
          corrupt: [],
          cursorsReset: false,
        });
        const entries = outbox.sink("mqtt").next(1_000_000);
        const seqs = entries.map((e) => e.seq);
        expect(
          seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? 0)),
          context,
        ).toBe(true);
        const bySeq = new Map(entries.map((e) => [e.seq, e.reading]));
        for (const p of printed.values()) {
          const r = bySeq.get(p.seq);
          expect(r && [r.boot, r.seq], `${context}: outbox seq ${p.seq}`).toEqual([
            p.boot,
            p.readingSeq,
          ]);
        }
        const cursor = outbox.sink("xmpp").cursor;
        expect(cursor, context).toBeGreaterThanOrEqual(xmppCursor);
        xmppCursor = cursor;
      } finally {
        await outbox.close();
      }
    }
  }, 120_000);
});
