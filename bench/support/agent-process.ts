/**
 * The agent as an operator runs it: a separate `iot-agent run --config FILE` process, from the
 * sources through tsx, or from the bundle when IOT_AGENT_BIN names it. The heap probe is
 * preloaded so the V8 heap can be read without touching the agent's code.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HEAP_PROBE = join(REPO, "bench/support/heap-probe.js");

export interface AgentSetup {
  /** Account localpart; the password is `${name}-secret`. */
  name: string;
  dir: string;
  link: string;
  xmpp: { service: string; caFile: string };
  subscriber: string;
  mqttUrl?: string;
  /** Outbox commit window, ms (the default is 20). */
  commitMs?: number;
  outboxMegabytes?: number;
  /** Longest wait between reconnection attempts (the agent's default is 60). */
  reconnectMaxSeconds?: number;
}

/** Which build runs: `bundle:<path>` or `source`, for the results. */
export function agentBuild(): string {
  const bin = process.env.IOT_AGENT_BIN;
  return bin ? `bundle:${bin}` : "source";
}

function agentArgs(configFile: string): string[] {
  const bin = process.env.IOT_AGENT_BIN;
  if (bin && !existsSync(resolve(REPO, bin))) {
    throw new Error(`IOT_AGENT_BIN=${bin}: no such file (run npm run build first)`);
  }
  const run = ["run", "--config", configFile];
  if (bin) return ["--import", HEAP_PROBE, resolve(REPO, bin), ...run];
  return ["--import", "tsx", "--import", HEAP_PROBE, join(REPO, "src/cli/main.ts"), ...run];
}

export async function writeAgentConfig(setup: AgentSetup): Promise<string> {
  const file = join(setup.dir, `${setup.name}.yaml`);
  const mqtt = setup.mqttUrl
    ? `mqtt:
  url: ${setup.mqttUrl}
  clientId: ${setup.name}
  tls: { allowPlaintext: true }
  discovery: { enabled: false }
`
    : "";
  const yaml = `xmpp:
  service: ${setup.xmpp.service}
  domain: localhost
  username: ${setup.name}
  password: { env: BENCH_AGENT_PASSWORD }
  tls: { caFile: ${setup.xmpp.caFile} }
  reconnect: { initialSeconds: 1, maxSeconds: ${setup.reconnectMaxSeconds ?? 60} }
device: { port: ${setup.link} }
outbox:
  dir: ${join(setup.dir, `outbox-${setup.name}`)}
${setup.commitMs === undefined ? "" : `  commitMilliseconds: ${setup.commitMs}\n`}  maxMegabytes: ${setup.outboxMegabytes ?? 64}
access:
  allow: [ { jid: ${setup.subscriber}, role: viewer } ]
telemetry:
  subscribers: [ ${setup.subscriber} ]
${mqtt}log: { level: warn }
`;
  await writeFile(file, yaml, { mode: 0o600 });
  return file;
}

export interface AgentProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** performance.now() when spawned. */
  readonly spawnedAt: number;
  /** The last heap sample of the probe, in MB, if one was written. */
  heapMb(): { used: number; total: number } | undefined;
  log(): string;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function spawnAgent(setup: AgentSetup, configFile: string): AgentProcess {
  const heapFile = join(setup.dir, `${setup.name}.heap.jsonl`);
  const logFile = join(setup.dir, `${setup.name}.log`);
  const logFd = openSync(logFile, "a");
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, agentArgs(configFile), {
    cwd: REPO,
    env: {
      ...process.env,
      BENCH_AGENT_PASSWORD: `${setup.name}-secret`,
      BENCH_HEAP_FILE: heapFile,
      BENCH_HEAP_MS: "2000",
    },
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  running.add(child);
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (code) => (running.delete(child), done(code))),
  );
  if (child.pid === undefined) throw new Error(`cannot start the agent: ${process.execPath}`);
  return {
    pid: child.pid,
    child,
    spawnedAt,
    heapMb: () => lastHeap(heapFile),
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

function lastHeap(file: string): { used: number; total: number } | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const last = lines[lines.length - 1];
  if (!last) return undefined;
  const m = JSON.parse(last) as { heapUsed: number; heapTotal: number };
  return { used: m.heapUsed / 2 ** 20, total: m.heapTotal / 2 ** 20 };
}
