/**
 * Fault injection with real processes (harness.ts): the agent SIGKILLed, Prosody restarted, the
 * device unplugged and rebooted, the outbox at its bound. Each scenario checks, against an
 * independent slixmpp consumer's record, that every reading the agent accepted (logged only once
 * fsync'ed) arrived or was reported dropped, that order held per device boot within the live and
 * the replayed stream, and counts the duplicates. Small counts here; `npm run soak` runs long.
 * One file, so the scenarios run one after the other.
 */
import { describe, expect, it } from "vitest";
import * as scenarios from "./scenarios.js";
import type { ScenarioResult } from "./scenarios.js";

function report<R extends ScenarioResult>(r: R): R {
  const { analysis: a, faults, recoveries } = r;
  const times = recoveries.map(
    (x) => `${x.firstReadingSeconds?.toFixed(2)}/${x.caughtUpSeconds?.toFixed(2)}s`,
  );
  console.info(
    `${r.name}: accepted ${a.accepted}, received ${a.received}, lost ${a.lost}, dropped ${a.dropped}` +
      ` (logged ${a.droppedLogged}), duplicates ${a.duplicates}, order violations ${a.orderViolations},` +
      ` boots ${a.boots}, faults ${JSON.stringify(faults)}, recovery first/caught-up ${times.join(" ")},` +
      ` ${r.seconds.toFixed(1)} s${r.dir ? `, files kept in ${r.dir}` : ""}`,
  );
  return r;
}

function expectNothingLost(r: ScenarioResult): void {
  expect(r.analysis.lost, `lost: ${r.analysis.lostSample.join(", ")}`).toBe(0);
  expect(r.analysis.orderViolations, r.analysis.orderSample.join(", ")).toBe(0);
  expect(r.agentExit, `agent errors: ${r.errors.join("; ")}`).toBe(0);
}

describe("fault injection", () => {
  it("loses nothing when the agent is SIGKILLed and restarted 3 times", async () => {
    const r = report(await scenarios.agentKills({ kills: 3, runMs: 2500, downMs: 500 }));
    expectNothingLost(r);
    expect(r.faults.agentKills).toBe(3);
    expect(r.analysis.accepted).toBeGreaterThan(100);
    expect(r.analysis.received).toBe(r.analysis.accepted);
  }, 90_000);

  it("loses nothing across Prosody restarts, and recovers within seconds", async () => {
    const r = report(await scenarios.serverRestarts({ restarts: 2, runMs: 2500, downMs: 1500 }));
    expectNothingLost(r);
    expect(r.faults.serverRestarts).toBe(2);
    expect(r.analysis.accepted).toBeGreaterThan(100);
    expect(r.recoveries).toHaveLength(2);
    for (const { firstReadingSeconds, caughtUpSeconds } of r.recoveries) {
      expect(firstReadingSeconds).toBeLessThan(30);
      expect(caughtUpSeconds).toBeLessThan(30);
    }
  }, 90_000);

  it("loses nothing when the device is unplugged and plugged back, and reboots", async () => {
    const r = report(await scenarios.deviceFaults({ reboots: 1, runMs: 4000, unplugEveryS: 3 }));
    expectNothingLost(r);
    expect(r.analysis.boots).toBeGreaterThanOrEqual(2);
    expect(r.faults.unplugs).toBeGreaterThanOrEqual(2); // at least one by schedule, one by replugging
    expect(r.analysis.accepted).toBeGreaterThan(50);
  }, 90_000);

  it("counts every reading the outbox bound drops; every other one arrives", async () => {
    const p = { hits: 1, extraMs: 1000, runMs: 1500, maxMegabytes: 0.02 };
    const r = report(await scenarios.outboxBound(p));
    expectNothingLost(r); // lost: neither received nor inside a logged drop range
    expect(r.faults.outboxBoundHits).toBeGreaterThanOrEqual(1);
    expect(r.analysis.dropped).toBeGreaterThan(0);
    expect(r.analysis.dropped).toBeLessThanOrEqual(r.analysis.droppedLogged);
    expect(r.analysis.received).toBeGreaterThan(0);
    expect(r.recoveries[0]?.caughtUpSeconds).toBeLessThan(30);
  }, 90_000);

  it("says the outbox is failing while the disk returns EIO, recovers, loses nothing accepted", async () => {
    const r = report(await scenarios.failingDisk({ faults: 2, runMs: 2000, failMs: 2500 }));
    console.info(`failing-disk: ${JSON.stringify(r.disk)}`);
    expectNothingLost(r);
    expect(r.disk.failingSeen).toBe(2);
    for (const cause of r.disk.causes) expect(cause).toMatch(/^(fdatasync seg-\d+\.log|fsync )/);
    expect(r.disk.refused).toBeGreaterThan(0);
    expect(r.analysis.received).toBe(r.analysis.accepted);
    expect(r.recoveries).toHaveLength(2);
    for (const { firstReadingSeconds } of r.recoveries)
      expect(firstReadingSeconds).toBeLessThan(30);
    for (const seconds of r.disk.recoverySeconds) expect(seconds).toBeLessThan(30);
  }, 90_000);
});
