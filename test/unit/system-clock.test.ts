/**
 * Whether the wall clock is synchronised, and steps of it noticed at run time. systemd-timesyncd's
 * runtime directory is a real directory made by the test; the wall and monotonic clocks are
 * injected so that a step can be made.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/system-clock.js";
import type { ClockLog, SystemClockOptions } from "../../src/system-clock.js";

const DAY = 24 * 3600 * 1000;

let root: string;
let timesyncDir: string;
const clocks: SystemClock[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "system-clock-"));
  timesyncDir = join(root, "timesync");
});
afterEach(async () => {
  for (const clock of clocks.splice(0)) clock.stop();
  await rm(root, { recursive: true, force: true });
});

interface Logged {
  level: "info";
  fields: object;
  message: string;
}

function recordingLog(): { log: ClockLog; lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    log: {
      info: (fields, message) => void lines.push({ level: "info", fields, message }),
    },
  };
}

function start(options: Partial<SystemClockOptions>): SystemClock {
  const clock = SystemClock.start({
    mode: "auto",
    log: recordingLog().log,
    timesyncDir,
    ...options,
  });
  clocks.push(clock);
  return clock;
}

describe("SystemClock: synchronised or not", () => {
  it("auto: follows systemd-timesyncd's synchronized file while timesyncd runs", async () => {
    await mkdir(timesyncDir);
    const t = { wall: Date.parse("2023-01-01T00:00:00Z"), mono: 0 };
    const clock = start({ now: () => t.wall, monotonic: () => t.mono });
    expect(clock.synchronized()).toBe(false);
    await writeFile(join(timesyncDir, "synchronized"), "");
    expect(clock.synchronized()).toBe(false); // looked at once a second at most
    t.mono += 1500;
    expect(clock.synchronized()).toBe(true);
  });

  it("auto: without timesyncd there is nothing to ask, so the clock counts as synchronised", () => {
    expect(start({}).synchronized()).toBe(true);
  });

  it("always and never override what timesyncd says", async () => {
    await mkdir(timesyncDir);
    expect(start({ mode: "always" }).synchronized()).toBe(true);
    await writeFile(join(timesyncDir, "synchronized"), "");
    expect(start({ mode: "never" }).synchronized()).toBe(false);
  });

  it("says once when the clock becomes synchronised", async () => {
    await mkdir(timesyncDir);
    const { log, lines } = recordingLog();
    const t = { wall: 1_000_000, mono: 0 };
    const clock = start({ log, now: () => t.wall, monotonic: () => t.mono });
    expect(lines.map((l) => l.message)).toEqual([
      "clock not synchronised yet: readings are stamped timeSynced=false until it is",
    ]);
    await writeFile(join(timesyncDir, "synchronized"), "");
    for (let i = 0; i < 3; i++) {
      t.mono += 2000;
      t.wall += 2000;
      clock.synchronized();
    }
    expect(lines.slice(1).map((l) => l.message)).toEqual(["clock synchronised"]);
  });
});

describe("SystemClock: steps", () => {
  it("logs a step of the wall clock once, at info, with its size", () => {
    const { log, lines } = recordingLog();
    const t = { wall: Date.parse("2023-01-01T00:00:00Z"), mono: 10_000 };
    const clock = start({ log, now: () => t.wall, monotonic: () => t.mono });
    const tick = (ms: number) => {
      t.mono += ms;
      t.wall += ms;
      clock.synchronized();
    };
    tick(2000);
    t.wall += 4 * DAY; // NTP steps the clock
    for (let i = 0; i < 5; i++) tick(2000);
    t.wall += 3; // slewing, not a step
    tick(2000);
    expect(lines).toEqual([
      {
        level: "info",
        fields: { stepMs: 4 * DAY },
        message: "wall clock stepped by +345600.0 s",
      },
    ]);
  });
});
