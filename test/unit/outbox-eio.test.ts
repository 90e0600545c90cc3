/**
 * A failing disk under a real file outbox (src/core/outbox): fdatasync returns EIO, from the
 * kernel's side of libc (an LD_PRELOAD shim in the child process, test/support/eio.ts). While it
 * fails the outbox refuses readings and says so; once the disk takes writes again it reopens the
 * segment within its backoff and accepts again, and nothing accepted before is lost.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "../../src/core/outbox/index.js";
import type { OutboxHealth } from "../../src/core/outbox/index.js";
import { buildEioShim, eioFault, type EioFault } from "../support/eio.js";
import { until } from "../support/wait.js";

const CHILD = "test/support/outbox-eio-child.ts";

interface Appended {
  accepted: number[];
  refused: string[];
}

/** The child outbox, one command at a time. */
class ChildOutbox {
  private readonly lines: AsyncIterator<string>;
  private stderr = "";

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static async start(dir: string, fault: EioFault): Promise<ChildOutbox> {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { env: fault.env });
    const outbox = new ChildOutbox(child);
    expect(await outbox.line()).toBe("ready");
    return outbox;
  }

  private async line(): Promise<string> {
    const next = await this.lines.next();
    if (next.done) throw new Error(`child ended: ${this.stderr}`);
    return next.value;
  }

  async ask<T>(command: object): Promise<T> {
    this.child.stdin.write(JSON.stringify(command) + "\n");
    const reply = JSON.parse(await this.line()) as T & { error?: string };
    if (reply.error) throw new Error(`child: ${reply.error}`);
    return reply;
  }

  append = (from: number, n: number) => this.ask<Appended>({ op: "append", from, n });
  health = () => this.ask<OutboxHealth>({ op: "health" });
}

describe("outbox on a failing disk", () => {
  let dir: string;
  let fault: EioFault;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "outbox-eio-"));
    const shim = await buildEioShim(dir);
    fault = eioFault(shim, join(dir, "outbox"), join(dir, "eio-on"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses and reports failing after a failed fdatasync, reopens once the disk works, loses nothing", async () => {
    const outbox = await ChildOutbox.start(join(dir, "outbox"), fault);
    expect(await outbox.append(1, 5)).toEqual({ accepted: [1, 2, 3, 4, 5], refused: [] });
    expect(await outbox.health()).toMatchObject({ state: "ok", failures: 0 });

    await fault.set(true);
    const failed = await outbox.append(6, 3);
    expect(failed.accepted).toEqual([]);
    expect(failed.refused).toHaveLength(3);
    expect(failed.refused[0]).toMatch(/fdatasync failed: .*seg-0+1\.log.*EIO/);
    // Refused at once while the segment's state is unknown, not written on top of it.
    expect((await outbox.append(9, 2)).refused).toHaveLength(2);
    let health = await outbox.health();
    expect(health).toMatchObject({ state: "failing", failures: 1, refusedWhileFailing: 5 });
    expect(health.failure).toMatchObject({ op: "fdatasync", refused: 5 });
    expect(health.failure?.file).toMatch(/seg-0+1\.log$/);
    // Reopening is tried again and again, and fails while the disk does.
    await until(
      async () => ((await outbox.health()).failure?.attempts ?? 0) >= 2,
      "two attempts to reopen",
    );
    expect((await outbox.health()).state).toBe("failing");

    await fault.set(false);
    const cleared = Date.now();
    await until(async () => (health = await outbox.health()).state === "ok", "recovery");
    const recoveredMs = Date.now() - cleared;
    console.info(
      `outbox recovered ${recoveredMs} ms after the fault cleared, after ${health.failure?.attempts} attempts`,
    );
    expect(recoveredMs).toBeLessThan(5_000); // the backoff here tops out at 0.8 s
    expect(health.failure?.recoveredAt).toBeGreaterThan(health.failure?.since ?? Infinity);
    expect(await outbox.append(11, 5)).toEqual({ accepted: [6, 7, 8, 9, 10], refused: [] });
    const expected = [1, 2, 3, 4, 5, 11, 12, 13, 14, 15];
    expect(await outbox.ask({ op: "readings" })).toEqual({ readings: expected });
    await outbox.ask({ op: "close" });

    // What the next start finds: every accepted reading, in order, and no torn tail to cut.
    const reopened = await Outbox.open(join(dir, "outbox"), { sinks: ["xmpp"] });
    expect(reopened.recovery).toMatchObject({ entries: 10, lostSeqs: 0, truncatedBytes: 0 });
    expect(
      reopened
        .sink("xmpp")
        .next(100)
        .map((e) => e.reading.seq),
    ).toEqual(expected);
    await reopened.close();
  }, 60_000);

  it("fails and recovers the same way when write() itself returns EIO", async () => {
    fault = eioFault(fault.env.LD_PRELOAD ?? "", join(dir, "outbox"), join(dir, "eio-on"), "write");
    const outbox = await ChildOutbox.start(join(dir, "outbox"), fault);
    expect((await outbox.append(1, 3)).accepted).toEqual([1, 2, 3]);
    await fault.set(true);
    const failed = await outbox.append(4, 2);
    expect(failed.refused[0]).toMatch(/write failed: .*seg-0+1\.log.*EIO/);
    expect(await outbox.health()).toMatchObject({ state: "failing", refusedWhileFailing: 2 });
    // The cut-back write succeeded, but the cursor write that would prove the disk fails too.
    await until(
      async () => ((await outbox.health()).failure?.attempts ?? 0) >= 1,
      "an attempt to reopen",
    );
    const health = await outbox.health();
    expect(health.state).toBe("failing");
    expect(health.failure?.op).toBe("write");
    expect(health.failure?.file).toMatch(/cursors\.json\.tmp$/);
    await fault.set(false);
    await until(async () => (await outbox.health()).state === "ok", "recovery");
    expect((await outbox.append(6, 2)).accepted).toEqual([4, 5]);
    expect(await outbox.ask({ op: "readings" })).toEqual({ readings: [1, 2, 3, 6, 7] });
    await outbox.ask({ op: "close" });
  }, 60_000);
});
