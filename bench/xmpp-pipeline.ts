/**
 * The whole pipeline on loopback: emulator on a real pty → agent → private Prosody → a subscriber.
 * Reports the agent's start-up time to online (server already up) and the latency from the line
 * written on the pty to the stanza received by the subscriber, which includes the outbox's fsync
 * (with its commit window: the default 0, and 20 ms), with the disk syncs that cost per reading.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "../src/agent.js";
import { loadConfig } from "../src/config/load.js";
import { createLogger } from "../src/core/logger.js";
import { parseReadingIds } from "../src/xmpp/sensordata.js";
import { startProsody, type ProsodyServer } from "../src/demo/prosody.js";
import type { Element } from "../src/xmpp/client.js";
import { startPeer, type Peer } from "../test/support/xmpp-peer.js";
import { percentile, round } from "./support/proc.js";

type Result = { bench: string } & Record<string, number | string>;

/** Readings per second, and the outbox's commit window (ms): the default 0, and a 20 ms window. */
const LATENCY_RUNS = [
  { rateHz: 20, commitMs: 0 },
  { rateHz: 100, commitMs: 0 },
  { rateHz: 100, commitMs: 20 },
];
const SAMPLE_SECONDS = 10;
const STARTS = 3;

async function writeConfig(server: ProsodyServer, dir: string, commitMs = 0): Promise<string> {
  const file = join(dir, `agent-${commitMs}.yaml`);
  const yaml = `
xmpp:
  service: ${server.service}
  domain: localhost
  username: agent
  password: { env: BENCH_AGENT_PASSWORD }
  tls: { caFile: ${server.caFile} }
device: { port: ${join(dir, "ttyBENCH")}, emulate: true }
outbox: { dir: ${join(dir, `outbox-${commitMs}`)}, commitMilliseconds: ${commitMs} }
access:
  allow: [ { jid: owner@localhost, role: admin } ]
telemetry:
  subscribers: [ dash@localhost ]
`;
  await writeFile(file, yaml, { mode: 0o600 });
  return file;
}

async function startAgent(file: string, rateHz: number): Promise<{ agent: Agent; ms: number }> {
  const loaded = await loadConfig(file, { BENCH_AGENT_PASSWORD: "bench-secret" });
  const started = performance.now();
  const agent = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    log: createLogger({ level: "silent" }),
    emulatorRateHz: rateHz,
  });
  return { agent, ms: performance.now() - started };
}

export async function benchXmppPipeline(): Promise<Result[]> {
  const server = await startProsody();
  const dir = await mkdtemp(join(tmpdir(), "iot-bench-"));
  try {
    await server.register("agent", "bench-secret");
    await server.register("dash", "dash-secret");
    await server.start();
    const file = await writeConfig(server, dir);
    const startups: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const { agent, ms } = await startAgent(file, 1);
      startups.push(ms);
      await agent.stop();
    }
    const dash = await startPeer(
      server,
      "dash",
      "dash-secret",
      await readFile(server.caFile, "utf8"),
    );
    const results: Result[] = [
      { bench: "agent-start-to-online", median_ms: round(percentile(startups, 50)), runs: STARTS },
    ];
    for (const { rateHz, commitMs } of LATENCY_RUNS) {
      const latency = await measureLatency(await writeConfig(server, dir, commitMs), dash, rateHz);
      results.push({ bench: "serial-to-subscriber-latency", commit_ms: commitMs, ...latency });
    }
    await dash.stop();
    return results;
  } finally {
    await server.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Line written on the pty → stanza received by `dash`, through a fresh agent at `rateHz`. */
async function measureLatency(file: string, dash: Peer, rateHz: number) {
  const { agent } = await startAgent(file, rateHz);
  const sentAt = new Map<string, number>();
  agent.emulator?.on("line-sent", (s) => {
    if (s.frame.type === "RD") sentAt.set(`${s.frame.boot}/${s.frame.seq}`, performance.now());
  });
  const latencies: number[] = [];
  const onStanza = (stanza: Element) => {
    const now = performance.now();
    for (const id of parseReadingIds(stanza)) {
      const sent = sentAt.get(`${id.boot}/${id.seq}`);
      if (sent !== undefined) latencies.push(now - sent);
    }
  };
  dash.client.entity.on("stanza", onStanza);
  await new Promise((r) => setTimeout(r, SAMPLE_SECONDS * 1000));
  const { outbox } = agent.status();
  await agent.stop();
  dash.client.entity.off("stanza", onStanza);
  latencies.sort((a, b) => a - b);
  return {
    rate_hz: rateHz,
    readings: latencies.length,
    sent: sentAt.size,
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(latencies[latencies.length - 1] ?? NaN),
    fsyncs_per_reading: round(outbox.fsyncs / Math.max(1, outbox.records)),
  };
}
