/**
 * `npm run bench:node-red [-- --seconds 60 --rate 100]`: Node-RED and the agent side by side on
 * the same job. The same emulated device stream (100 readings/s on a pty at 115200 baud) goes
 * (a) through Node-RED (serial in → function parsing and CRC-checking the line → mqtt out, QoS 1)
 * and (b) through `iot-agent run` (MQTT mirror and XMPP, since XMPP cannot be switched off), to a
 * loopback Mosquitto. Prints RSS, CPU per 1,000 readings and pty→MQTT latency for each, then the
 * ratios Node-RED / agent. Installs bench/node-red's pinned dependencies on first use.
 */
import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startMosquitto, type MosquittoBroker } from "../test/support/mosquitto.js";
import { startAgentProcess } from "./process-pipeline.js";
import { agentBuild, REPO } from "./support/agent-process.js";
import { mqttSubscriber, startDevice } from "./support/collectors.js";
import {
  emit,
  load1,
  machine,
  numberArgs,
  round,
  sleep,
  waitFor,
  type Result,
} from "./support/proc.js";
import { withStage } from "./support/stage.js";
import { measureWindow } from "./support/window.js";

const NR_DIR = join(REPO, "bench/node-red");
const RED_JS = join(NR_DIR, "node_modules/node-red/red.js");
const WARM_UP_S = 5;

async function ensureNodeRed(): Promise<void> {
  if (existsSync(RED_JS)) return;
  process.stderr.write("installing bench/node-red dependencies (npm ci, once)...\n");
  await promisify(execFile)("npm", ["ci", "--no-audit", "--no-fund"], { cwd: NR_DIR });
}

/** Headless: no editor, no HTTP server, no telemetry; the serial node retries every second. */
function settings(userDir: string): string {
  return `module.exports = {
  userDir: ${JSON.stringify(userDir)},
  flowFile: "flows.json",
  httpAdminRoot: false,
  httpNodeRoot: false,
  uiHost: "127.0.0.1",
  credentialSecret: false,
  serialReconnectTime: 1000,
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { projects: { enabled: false } },
  logging: { console: { level: "warn", metrics: false, audit: false } },
};
`;
}

async function nodeRedRun(broker: MosquittoBroker, rate: number, seconds: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), "iot-bench-nodered-"));
  const link = join(dir, "ttyBENCH");
  const device = await startDevice(link, rate, "envnode-nr");
  const sub = await mqttSubscriber(broker.url);
  await copyFile(join(NR_DIR, "flows.json"), join(dir, "flows.json"));
  await writeFile(join(dir, "settings.js"), settings(dir));
  const red = spawn(
    process.execPath,
    [RED_JS, "--userDir", dir, "--settings", join(dir, "settings.js"), "flows.json"],
    {
      cwd: dir,
      env: { ...process.env, NR_SERIAL_PORT: link, NR_MQTT_PORT: new URL(broker.url).port },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  red.stdout.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  red.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  const killOnExit = () => red.kill("SIGKILL");
  process.once("exit", killOnExit);
  try {
    const spawnedAt = performance.now();
    await waitFor(
      () => sub.arrivals.at.size > 0,
      `Node-RED's first MQTT message; log:\n${log}`,
      60_000,
    );
    const firstMs = performance.now() - spawnedAt;
    await sleep(WARM_UP_S * 1000);
    const w = await measureWindow({ pid: red.pid!, device, arrivals: [sub.arrivals], seconds });
    const { others: _others, ...figures } = w;
    return {
      bench: "node-red-serial-to-mqtt",
      version: "4.1.8",
      rate_hz: rate,
      first_reading_ms: round(firstMs),
      ...figures,
      load1: load1(),
    };
  } finally {
    const exited = new Promise((r) => red.once("exit", r));
    red.kill("SIGTERM");
    await exited;
    process.off("exit", killOnExit);
    await sub.stop();
    await device.emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function agentRun(broker: MosquittoBroker, rate: number, seconds: number): Promise<Result> {
  return withStage("agent-mqtt", async ({ server, dash, dir }) => {
    const sub = await mqttSubscriber(broker.url);
    const link = join(dir, "ttyBENCH");
    const device = await startDevice(link, rate, "envnode-agent");
    await mkdir(join(dir, "run"));
    const setup = {
      name: "agent",
      dir: join(dir, "run"),
      link,
      xmpp: { service: server.service, caFile: server.caFile },
      subscriber: "dash@localhost",
      mqttUrl: broker.url,
    };
    const { agent } = await startAgentProcess(setup, dash);
    try {
      await waitFor(() => sub.arrivals.at.size > 0, "the agent's first MQTT message", 30_000);
      await sleep(WARM_UP_S * 1000);
      const w = await measureWindow({
        pid: agent.pid,
        device,
        arrivals: [sub.arrivals, dash.arrivals],
        seconds,
      });
      const { others, ...figures } = w;
      const xmpp = others[0];
      return {
        bench: "agent-serial-to-mqtt+xmpp",
        build: agentBuild(),
        rate_hz: rate,
        ...figures,
        heap_used_mb: round(agent.heapMb()?.used ?? NaN),
        xmpp_p50_ms: xmpp?.p50_ms ?? NaN,
        xmpp_p99_ms: xmpp?.p99_ms ?? NaN,
        load1: load1(),
      };
    } finally {
      await agent.stop();
      await device.emulator.stop();
      await sub.stop();
    }
  });
}

async function main(): Promise<void> {
  const { seconds, rate } = numberArgs(process.argv.slice(2), { seconds: 60, rate: 100 });
  await ensureNodeRed();
  emit(machine());
  const broker = await startMosquitto();
  await broker.start();
  try {
    const red = await nodeRedRun(broker, rate, seconds);
    emit(red);
    const agent = await agentRun(broker, rate, seconds);
    emit(agent);
    const ratio = (k: string) => round(Number(red[k]) / Number(agent[k]), 2);
    emit({
      bench: "node-red-vs-agent",
      rss_ratio: ratio("rss_mb"),
      hwm_ratio: ratio("hwm_mb"),
      cpu_ratio: ratio("cpu_s_per_1000"),
      goal: 3,
      load1: load1(),
    });
  } finally {
    await broker.destroy();
  }
}

await main();
