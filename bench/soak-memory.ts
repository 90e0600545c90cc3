/**
 * `npm run bench:soak [-- --minutes 30 --rate 20 --backlog 100000 --drainMinutes 6]`: the agent
 * process's memory over a long steady run, then with a large outbox backlog.
 * - steady: emulator at `rate` readings/s → `iot-agent run` → Prosody → subscriber; RSS (from
 *   /proc) and V8 heap (preloaded probe) every 10 s; start, max, end, and the least-squares slope
 *   over the second half in MB/hour (a leak shows as a slope that does not flatten).
 * - backlog: `backlog` readings written into the agent's outbox before it starts, the server cut
 *   off (a relay that refuses connections) for a minute while live readings pile on, then opened:
 *   RSS while holding the backlog and while draining it, and how fast it drains.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.js";
import { createLogger } from "../src/core/logger.js";
import type { Reading } from "../src/core/reading.js";
import type { ProsodyServer } from "../src/demo/prosody.js";
import { openOutbox } from "../src/from-config.js";
import { startAgentProcess } from "./process-pipeline.js";
import {
  agentBuild,
  spawnAgent,
  writeAgentConfig,
  type AgentProcess,
  type AgentSetup,
} from "./support/agent-process.js";
import { startDevice, type XmppSubscriber } from "./support/collectors.js";
import { tcpGate } from "./support/gate.js";
import { emit, load1, machine, numberArgs, round, sample, sleep, slope } from "./support/proc.js";
import { withStage } from "./support/stage.js";

const SAMPLE_S = 10;
const HOLD_S = 60;
const FILL_DEVICE = "envnode-fill";

interface Point {
  s: number;
  rss: number;
  heap: number;
}

/** Samples the agent every SAMPLE_S for `seconds` (or until `until` is true); one line each. */
async function track(agent: AgentProcess, phase: string, seconds: number, until = () => false) {
  const points: Point[] = [];
  const started = performance.now();
  while ((performance.now() - started) / 1000 < seconds && !until()) {
    await sleep(Math.min(SAMPLE_S * 1000, seconds * 1000 - (performance.now() - started)));
    const s = (performance.now() - started) / 1000;
    const point = {
      s: round(s, 1),
      rss: round(sample(agent.pid).rssMb),
      heap: round(agent.heapMb()?.used ?? NaN),
    };
    points.push(point);
    emit({ bench: "soak-sample", phase, s: point.s, rss_mb: point.rss, heap_used_mb: point.heap });
  }
  return points;
}

function summary(points: Point[]) {
  const second = points.slice(Math.floor(points.length / 2));
  const mbPerSecond = slope(second.map((p) => [p.s, p.rss]));
  return {
    samples: points.length,
    rss_start_mb: points[0]?.rss ?? NaN,
    rss_max_mb: Math.max(...points.map((p) => p.rss)),
    rss_end_mb: points[points.length - 1]?.rss ?? NaN,
    heap_end_mb: points[points.length - 1]?.heap ?? NaN,
    slope_mb_per_hour: round(mbPerSecond * 3600),
  };
}

function setupIn(dir: string, server: ProsodyServer, link: string): AgentSetup {
  return {
    name: "agent",
    dir,
    link,
    xmpp: { service: server.service, caFile: server.caFile },
    subscriber: "dash@localhost",
  };
}

async function steady(server: ProsodyServer, dash: XmppSubscriber, base: string, opts: Options) {
  const dir = join(base, "steady");
  await mkdir(dir);
  const link = join(base, "ttySTEADY");
  const device = await startDevice(link, opts.rate);
  const { agent } = await startAgentProcess(setupIn(dir, server, link), dash);
  // Lines written before the agent had the port open were never its to lose.
  const onlineAt = performance.now();
  try {
    const points = await track(agent, "steady", opts.minutes * 60);
    const endAt = performance.now();
    await sleep(2_000); // readings still on their way are not lost
    const judged = [...device.sent].filter(([, t]) => t >= onlineAt && t < endAt).map(([k]) => k);
    const written = judged.length;
    emit({
      bench: "soak-steady",
      build: agentBuild(),
      minutes: opts.minutes,
      rate_hz: opts.rate,
      written,
      delivered: judged.filter((k) => dash.arrivals.at.has(k)).length,
      // Which readings were lost, with when they were written (s after the agent was online).
      missing: judged
        .filter((k) => !dash.arrivals.at.has(k))
        .slice(0, 10)
        .map((k) => `${k}@${round(((device.sent.get(k) ?? 0) - onlineAt) / 1000, 1)}s`)
        .join(" "),
      ...summary(points),
      load1: load1(),
    });
  } finally {
    await agent.stop();
    await device.emulator.stop();
  }
}

/** Writes `count` readings into the outbox the agent will open, through the agent's own code. */
async function fillOutbox(configFile: string, count: number): Promise<void> {
  const { config } = await loadConfig(configFile, { BENCH_AGENT_PASSWORD: "x" });
  const outbox = await openOutbox(config, createLogger({ level: "silent" }), {
    now: Date.now,
    monotonic: () => performance.now(),
    synchronized: () => true,
  });
  const reading = (seq: number): Reading => ({
    device: FILL_DEVICE,
    boot: "0f111111",
    seq,
    deviceTime: seq * 10,
    receivedAt: Date.now(),
    values: [
      { sensor: "temp", kind: "num", value: 21.37, unit: "°C" },
      { sensor: "hum", kind: "num", value: 48.2, unit: "%" },
      { sensor: "door", kind: "bool", value: seq % 2 === 0 },
    ],
  });
  for (let seq = 1; seq <= count; seq += 64) {
    const batch = Array.from({ length: Math.min(64, count - seq + 1) }, (_, i) =>
      outbox.append(reading(seq + i)),
    );
    await Promise.all(batch);
  }
  await outbox.close();
}

async function backlog(server: ProsodyServer, dash: XmppSubscriber, base: string, opts: Options) {
  const dir = join(base, "backlog");
  await mkdir(dir);
  const gate = await tcpGate(server.port);
  const link = join(base, "ttyBACKLOG");
  const device = await startDevice(link, opts.rate, "envnode-live");
  const setup: AgentSetup = {
    ...setupIn(dir, server, link),
    xmpp: { service: gate.service, caFile: server.caFile },
    reconnectMaxSeconds: 5,
  };
  const file = await writeAgentConfig(setup);
  const filled = performance.now();
  await fillOutbox(file, opts.backlog);
  const fillS = (performance.now() - filled) / 1000;
  const agent = spawnAgent(setup, file);
  try {
    const held = await track(agent, "backlog-held", HOLD_S);
    await gate.open();
    const opened = performance.now();
    const drained = () =>
      [...dash.arrivals.at.keys()].filter((k) => k.startsWith(`${FILL_DEVICE}/`)).length;
    const draining = await track(
      agent,
      "backlog-drain",
      opts.drainMinutes * 60,
      () => drained() >= opts.backlog,
    );
    const drainS = (performance.now() - opened) / 1000;
    emit({
      bench: "soak-backlog",
      build: agentBuild(),
      backlog: opts.backlog,
      fill_s: round(fillS, 1),
      rss_held_mb: held[held.length - 1]?.rss ?? NaN,
      heap_held_mb: held[held.length - 1]?.heap ?? NaN,
      rss_drain_max_mb: Math.max(...draining.map((p) => p.rss)),
      drained: drained(),
      drain_s: round(drainS, 1),
      drain_per_s: round(drained() / drainS),
      hwm_mb: round(sample(agent.pid).hwmMb),
      load1: load1(),
    });
  } finally {
    await agent.stop();
    await gate.close();
    await device.emulator.stop();
  }
}

interface Options {
  minutes: number;
  rate: number;
  backlog: number;
  drainMinutes: number;
}

async function main(): Promise<void> {
  const opts = numberArgs(process.argv.slice(2), {
    minutes: 30,
    rate: 20,
    backlog: 100_000,
    drainMinutes: 6,
  });
  emit(machine());
  await withStage("soak", async ({ server, dash, dir }) => {
    await steady(server, dash, dir, opts);
    await backlog(server, dash, dir, opts);
  });
}

await main();
