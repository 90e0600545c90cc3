/**
 * The agent as a separate process, as deployed: emulator on a real pty → `iot-agent run` →
 * loopback Prosody → a subscriber. Start-up to available presence, throughput at the most the
 * 115200-baud line carries, and latency at 100 readings/s, with the process's CPU time per 1,000
 * readings and its memory, read from /proc (heap from the preloaded probe).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ProsodyServer } from "../src/demo/prosody.js";
import {
  agentBuild,
  spawnAgent,
  writeAgentConfig,
  type AgentProcess,
  type AgentSetup,
} from "./support/agent-process.js";
import { latencies, startDevice, type XmppSubscriber } from "./support/collectors.js";
import { load1, median, percentile, round, sample, sleep, type Result } from "./support/proc.js";
import { withStage } from "./support/stage.js";

const STARTS = 5;
const WARM_UP_S = 3;
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 20);
/** Asks for more than 115200 baud carries: the emulator caps it to the line's maximum. */
const LINE_MAX_HZ = 10_000;

interface Stage {
  server: ProsodyServer;
  dash: XmppSubscriber;
  base: string;
  link: string;
}

async function setupFor(stage: Stage, label: string): Promise<AgentSetup> {
  const dir = join(stage.base, label);
  await mkdir(dir, { recursive: true });
  return {
    name: "agent",
    dir,
    link: stage.link,
    xmpp: { service: stage.server.service, caFile: stage.server.caFile },
    subscriber: "dash@localhost",
  };
}

/** Spawns the agent and waits for its available presence at the subscriber. */
export async function startAgentProcess(
  setup: AgentSetup,
  dash: XmppSubscriber,
  /** How long to wait for its presence: longer for a fleet starting on two cores. */
  onlineTimeoutMs = 30_000,
): Promise<{ agent: AgentProcess; startMs: number }> {
  const file = await writeAgentConfig(setup);
  // Presence reaches only subscribers; a request made while the agent is offline waits for it.
  await dash.subscribeTo(`${setup.name}@localhost`);
  const online = dash.nextAvailable(`${setup.name}@localhost`, onlineTimeoutMs);
  const agent = spawnAgent(setup, file);
  try {
    const at = await online;
    return { agent, startMs: at - agent.spawnedAt };
  } catch (error) {
    await agent.stop();
    const message = `${(error as Error).message}; agent log:\n${agent.log().slice(-2000)}`;
    throw new Error(message, { cause: error });
  }
}

async function startUp(stage: Stage): Promise<Result[]> {
  const device = await startDevice(stage.link, 1);
  const times: number[] = [];
  const rss: number[] = [];
  let heap: { used: number; total: number } | undefined;
  try {
    // The first run also settles the presence subscription (the agent approves the request).
    for (let i = 0; i <= STARTS; i++) {
      const { agent, startMs } = await startAgentProcess(
        await setupFor(stage, `start-${i}`),
        stage.dash,
      );
      if (i > 0) times.push(startMs);
      await sleep(5_000);
      rss.push(sample(agent.pid).rssMb);
      heap = agent.heapMb();
      await agent.stop();
    }
  } finally {
    await device.emulator.stop();
  }
  return [
    {
      bench: "process-start-to-available",
      build: agentBuild(),
      median_ms: round(median(times)),
      max_ms: round(Math.max(...times)),
      runs: STARTS,
      load1: load1(),
    },
    {
      bench: "process-memory-after-start",
      build: agentBuild(),
      rss_mb: round(median(rss)),
      heap_used_mb: round(heap?.used ?? NaN),
      heap_total_mb: round(heap?.total ?? NaN),
      load1: load1(),
    },
  ];
}

/** One steady run: the agent at `rateHz`, measured over WINDOW_S after a warm-up. */
async function steadyRun(stage: Stage, rateHz: number, label: string): Promise<Result> {
  const device = await startDevice(stage.link, rateHz);
  const { agent } = await startAgentProcess(await setupFor(stage, label), stage.dash);
  try {
    await sleep(WARM_UP_S * 1000);
    const from = performance.now();
    const before = sample(agent.pid);
    await sleep(WINDOW_S * 1000);
    const to = performance.now();
    const after = sample(agent.pid);
    // Readings written late in the window get a moment to arrive before they are judged lost.
    await sleep(1_000);
    const lat = latencies(device.sent, stage.dash.arrivals, from, to);
    const written = [...device.sent.values()].filter((t) => t >= from && t < to).length;
    const seconds = (to - from) / 1000;
    return {
      bench: `process-pipeline-${label}`,
      build: agentBuild(),
      requested_hz: rateHz,
      device_hz: round(device.emulator.rateHz),
      written,
      delivered: lat.length,
      delivered_per_s: round(lat.length / seconds),
      cpu_s_per_1000: round(
        ((after.cpuSeconds - before.cpuSeconds) / Math.max(1, written)) * 1000,
        3,
      ),
      cpu_percent: round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 100, 1),
      rss_mb: round(after.rssMb),
      hwm_mb: round(after.hwmMb),
      heap_used_mb: round(agent.heapMb()?.used ?? NaN),
      p50_ms: round(percentile(lat, 50)),
      p99_ms: round(percentile(lat, 99)),
      max_ms: round(Math.max(...lat)),
      load1: load1(),
    };
  } finally {
    await agent.stop();
    await device.emulator.stop();
  }
}

export async function benchProcessPipeline(): Promise<Result[]> {
  return withStage("proc", async ({ server, dash, dir }) => {
    const stage: Stage = { server, dash, base: dir, link: join(dir, "ttyBENCH") };
    const results = await startUp(stage);
    results.push(await steadyRun(stage, LINE_MAX_HZ, "line-max"));
    results.push(await steadyRun(stage, 100, "100hz"));
    return results;
  });
}
