/**
 * The fault scenarios, shared by the test suite (small counts) and `npm run soak` (large ones).
 * Each runs on a fresh rig: readings flow from the emulator through the agent to the consumer
 * while faults are injected; then the device stops, the backlog drains, the agent stops cleanly,
 * and the records are compared.
 */
import { basename } from "node:path";
import type { AgentStatus } from "../../src/agent.js";
import { recovery, type Analysis, type Recovery } from "./analysis.js";
import { FaultRig, sleep, waitFor, type RigOptions } from "./harness.js";

export interface FaultCounts {
  agentKills: number;
  serverRestarts: number;
  unplugs: number;
  reboots: number;
  outboxBoundHits: number;
}

export interface ScenarioResult {
  name: string;
  analysis: Analysis;
  /** One per server restart. */
  recoveries: Recovery[];
  faults: FaultCounts;
  /** The agent's exit code at the final SIGTERM (0 expected). */
  agentExit: number | null;
  /** The agent's error-level log messages. */
  errors: string[];
  seconds: number;
  /** The rig's directory, kept when the run failed or `keep` was set. */
  dir?: string;
}

export interface RunOptions {
  /** Progress lines (stderr in the soak). */
  note?: (line: string) => void;
  /** Keep the rig's files even when nothing was lost. */
  keep?: boolean;
  /** Time allowed for the backlog to drain at the end. Default 60 s. */
  drainMs?: number;
}

/** Between `ms`/2 and 3·`ms`/2, so faults do not fall into step with the agent's timers. */
const jitter = (ms: number) => Math.round(ms * (0.5 + Math.random()));

async function run(
  name: string,
  rigOptions: RigOptions,
  options: RunOptions,
  body: (rig: FaultRig, recoveries: number[]) => Promise<void>,
  deviceFaults: string[] = [],
): Promise<ScenarioResult> {
  const started = Date.now();
  const note = (line: string) =>
    options.note?.(`[${name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const rig = await FaultRig.start(rigOptions);
  let failed = true;
  try {
    await rig.startDevice(deviceFaults);
    await rig.startAgent();
    await rig.receivedMoreThan(0);
    note("readings flowing");
    const backAt: number[] = [];
    await body(rig, backAt);
    await rig.stopDevice();
    const analysis = await rig.drained(options.drainMs ?? 60_000);
    const agentExit = await rig.stopAgent();
    const { accepted, drops, errors } = await rig.agentLog();
    const received = await rig.received();
    const device = await rig.deviceFaults();
    const faults: FaultCounts = {
      agentKills: rig.faults.agentKills,
      serverRestarts: rig.faults.serverRestarts,
      unplugs: device.unplugs + rig.faults.deviceRestarts,
      reboots: device.reboots + rig.faults.deviceRestarts,
      outboxBoundHits: drops.length,
    };
    const recoveries = backAt.map((at) => recovery(accepted, received, at, drops));
    failed = analysis.lost > 0 || analysis.orderViolations > 0 || agentExit !== 0;
    note(`accepted ${analysis.accepted}, lost ${analysis.lost}, duplicates ${analysis.duplicates}`);
    const seconds = (Date.now() - started) / 1000;
    const kept = failed || options.keep ? { dir: rig.dir } : {};
    return { name, analysis, recoveries, faults, agentExit, errors, seconds, ...kept };
  } finally {
    await rig.close(failed || options.keep);
  }
}

/** The agent SIGKILLed `kills` times while readings flow, restarted after `downMs`. */
export function agentKills(
  p: { kills: number; runMs: number; downMs: number; rateHz?: number },
  options: RunOptions = {},
) {
  return run("agent-kill", { rateHz: p.rateHz ?? 20 }, options, async (rig) => {
    for (let i = 1; i <= p.kills; i++) {
      await sleep(jitter(p.runMs));
      await rig.killAgent();
      options.note?.(`agent killed (${i}/${p.kills})`);
      await sleep(jitter(p.downMs));
      await rig.startAgent();
    }
    await sleep(p.runMs);
  });
}

/** Prosody stopped for `downMs` and started again, `restarts` times, while readings flow. */
export function serverRestarts(
  p: { restarts: number; runMs: number; downMs: number; rateHz?: number; offline?: boolean },
  options: RunOptions = {},
) {
  const rig = { rateHz: p.rateHz ?? 20, offline: p.offline ?? true };
  return run("server-restart", rig, options, async (rig, backAt) => {
    for (let i = 1; i <= p.restarts; i++) {
      await sleep(jitter(p.runMs));
      const { backAt: at } = await rig.restartServer(jitter(p.downMs));
      backAt.push(at);
      options.note?.(`server restarted (${i}/${p.restarts})`);
    }
    await sleep(p.runMs);
  });
}

/**
 * The device unplugged and plugged back by its own schedule (`unplugEveryS`, same boot: the
 * readings sent while unplugged never reach the agent, so they are never accepted), and
 * `reboots` times replaced by a new emulator process (unplug, then a new boot id).
 */
export function deviceFaults(
  p: { reboots: number; runMs: number; unplugEveryS: number; rateHz?: number },
  options: RunOptions = {},
) {
  const faults = [`unplug:every=${p.unplugEveryS},ms=800`];
  const body = async (rig: FaultRig) => {
    for (let i = 1; i <= p.reboots; i++) {
      await sleep(jitter(p.runMs));
      await rig.restartDevice(faults);
      await untilAcceptedFromBoots(rig, i + 1);
      options.note?.(`device replaced, new boot (${i}/${p.reboots})`);
    }
    await sleep(p.runMs);
  };
  return run("device", { rateHz: p.rateHz ?? 20 }, options, body, faults);
}

/** The agent's serial reconnect backs off: wait until it reads the new boot. */
async function untilAcceptedFromBoots(rig: FaultRig, boots: number): Promise<void> {
  const count = async () => new Set((await rig.agentLog()).accepted.map((a) => a.boot)).size;
  await waitFor(async () => (await count()) >= boots, `readings from ${boots} boots`, 30_000);
}

/**
 * A small outbox and the server down until the bound drops readings (`hits` times): each
 * outage lasts until one more "outbox dropped readings" line, plus `extraMs`.
 */
export function outboxBound(
  p: { hits: number; extraMs: number; runMs: number; maxMegabytes: number; rateHz?: number },
  options: RunOptions = {},
) {
  const rigOptions = {
    rateHz: p.rateHz ?? 50,
    outbox: { maxMegabytes: p.maxMegabytes, segmentKilobytes: 4 },
  };
  return run("outbox-bound", rigOptions, options, async (rig, backAt) => {
    for (let i = 1; i <= p.hits; i++) {
      await sleep(jitter(p.runMs));
      const before = (await rig.agentLog()).drops.length;
      await rig.server.stop();
      await waitFor(
        async () => (await rig.agentLog()).drops.length > before,
        "the outbox to drop readings",
        60_000,
      );
      await sleep(p.extraMs);
      await rig.server.start();
      backAt.push(Date.now());
      options.note?.(`outbox bound hit while the server was down (${i}/${p.hits})`);
    }
    await sleep(p.runMs);
  });
}

/** Every fault at random, one at a time, for `durationMs`: kills during catch-up and so on. */
export function mixed(
  p: { durationMs: number; gapMs: number; rateHz?: number },
  options: RunOptions = {},
) {
  const faults = ["unplug:every=7,ms=800"];
  const body = async (rig: FaultRig, backAt: number[]) => {
    const end = Date.now() + p.durationMs;
    while (Date.now() < end) {
      await sleep(jitter(p.gapMs));
      const pick = Math.random();
      if (pick < 0.4) {
        await rig.killAgent();
        await sleep(jitter(500));
        await rig.startAgent();
      } else if (pick < 0.8) {
        backAt.push((await rig.restartServer(jitter(1500))).backAt);
      } else {
        await rig.restartDevice(faults);
      }
    }
    await sleep(p.gapMs);
  };
  return run("mixed", { rateHz: p.rateHz ?? 20 }, options, body, faults);
}

export interface FailingDiskResult extends ScenarioResult {
  disk: {
    /** Times the shim was switched on. */
    faults: number;
    /** Of those, times the agent's /status said "failing" while it was on. */
    failingSeen: number;
    /** What /status named as the failure, e.g. "fdatasync seg-….log". */
    causes: string[];
    /** Readings the outbox refused while failing (never accepted), from the last /status. */
    refused: number;
    /** From the fault cleared to /status "ok" again. */
    recoverySeconds: number[];
  };
}

/**
 * The agent's disk fails `faults` times for `failMs`: fsync and fdatasync of its outbox files
 * return EIO (LD_PRELOAD shim). While they do, /status must say "failing"; once they work
 * again the outbox must reopen by itself and accept readings; what it accepted is all delivered.
 */
export async function failingDisk(
  p: { faults: number; runMs: number; failMs: number; rateHz?: number },
  options: RunOptions = {},
): Promise<FailingDiskResult> {
  const disk: FailingDiskResult["disk"] = {
    ...{ faults: 0, failingSeen: 0, causes: [], refused: 0 },
    recoverySeconds: [],
  };
  const outboxState = async (rig: FaultRig, state: "ok" | "failing") => {
    let status: AgentStatus | undefined;
    const reached = async () => (status = await rig.agentStatus()).outbox.state === state;
    await waitFor(reached, `/status to say the outbox is ${state}`, 60_000);
    return status as AgentStatus;
  };
  const body = async (rig: FaultRig, backAt: number[]) => {
    for (let i = 1; i <= p.faults; i++) {
      await sleep(jitter(p.runMs));
      await rig.failDisk(true);
      disk.faults += 1;
      const { failure } = (await outboxState(rig, "failing")).outbox;
      disk.failingSeen += 1;
      disk.causes.push(`${failure?.op} ${basename(failure?.file ?? "")}`);
      await sleep(p.failMs);
      await rig.failDisk(false);
      const cleared = Date.now();
      disk.refused = (await outboxState(rig, "ok")).outbox.refusedWhileFailing;
      disk.recoverySeconds.push((Date.now() - cleared) / 1000);
      backAt.push(Date.now());
      options.note?.(`disk failed and came back (${i}/${p.faults})`);
    }
    await sleep(p.runMs);
  };
  const rig = { rateHz: p.rateHz ?? 20, failingDisk: true };
  return { ...(await run("failing-disk", rig, options, body)), disk };
}
