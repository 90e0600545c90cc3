/**
 * Everything the demo runs besides the console, all on loopback and in one temp dir: a private
 * Prosody with four accounts, an agent configuration written the way an operator would write
 * one, and the agent itself (with its built-in device emulator) started from it in-process.
 */
import { randomBytes } from "node:crypto";
import { openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent } from "../agent.js";
import { loadConfig } from "../config/load.js";
import { createLogger, type Logger } from "../core/logger.js";
import { startProsody, type ProsodyServer } from "./prosody.js";

export const DEMO_USERS = ["agent", "owner", "viewer", "dash"] as const;
export type DemoUser = (typeof DEMO_USERS)[number];

export interface DemoAccount {
  jid: string;
  password: string;
}

/** The demo's alert rule, so the banner can say what to expect. */
export const DEMO_ALERT = { name: "warm", sensor: "temp", above: 21.2, forSeconds: 10 };

export interface DemoEnvironment {
  server: ProsodyServer;
  agent: Agent;
  accounts: Record<DemoUser, DemoAccount>;
  /** The temp dir holding everything; removed by destroy(). */
  dir: string;
  configFile: string;
  logFile: string;
  devicePath: string;
  /** Stops the agent: its unavailable presence reaches the owner while the server still runs. */
  stopAgent(): Promise<void>;
  /** Stops the agent if still running, then Prosody, and removes the temp dir. */
  destroy(): Promise<void>;
}

function configYaml(server: ProsodyServer, dir: string, passwordFile: string): string {
  const a = DEMO_ALERT;
  return `# Written by \`iot-agent demo\`, checked by the same loader as any agent configuration
# (see config/agent.example.yaml). Removed when the demo ends.
xmpp:
  service: ${server.service}
  domain: ${server.domain}
  username: agent
  password: { file: ${passwordFile} }
  # The demo server's self-signed certificate: TLS stays on and verified.
  tls: { caFile: ${server.caFile} }
  reconnect: { initialSeconds: 0.5, maxSeconds: 5 }
device:
  port: ${join(dir, "ttyAGENT")}
  emulate: true
access:
  allow:
    - { jid: owner@${server.domain}, role: admin }
    - { jid: viewer@${server.domain}, role: viewer }
telemetry:
  subscribers: [dash@${server.domain}]
  # At most one reading every 3 s (the emulator makes 2 a second) so a console stays readable;
  # the door is sent as soon as it opens or closes.
  default: { mode: interval, intervalSeconds: 3 }
  sensors:
    door: { mode: change, deadband: 0 }
# Readings wait here, on disk, until the server confirmed them.
outbox: { dir: ${join(dir, "outbox")} }
alerts:
  - { name: ${a.name}, sensor: ${a.sensor}, above: ${a.above}, forSeconds: ${a.forSeconds} }
log:
  level: info
`;
}

/** Short enough to type into Gajim, random enough for a server only reachable on loopback. */
function randomPassword(): string {
  return randomBytes(6).toString("hex");
}

async function makeAccounts(server: ProsodyServer): Promise<Record<DemoUser, DemoAccount>> {
  const accounts = {} as Record<DemoUser, DemoAccount>;
  // One by one: concurrent prosodyctl runs would race creating the accounts store.
  for (const user of DEMO_USERS) {
    const password = randomPassword();
    await server.register(user, password);
    accounts[user] = { jid: `${user}@${server.domain}`, password };
  }
  return accounts;
}

async function startAgent(configFile: string, logFile: string): Promise<Agent> {
  const loaded = await loadConfig(configFile);
  // The agent's JSON log goes to a file (the banner says where): on the console it would bury
  // the conversation. The descriptor stays open until exit: a late log line must not hit EBADF.
  const log: Logger = createLogger({ level: "info", fd: openSync(logFile, "a", 0o600) });
  for (const warning of loaded.warnings) log.warn(warning);
  return Agent.start({ config: loaded.config, password: loaded.password, log });
}

/** Starts Prosody, the accounts and the agent; on failure stops whatever had started. */
export async function startEnvironment(log: Logger): Promise<DemoEnvironment> {
  const server = await startProsody();
  try {
    const { dir } = server;
    const accounts = await makeAccounts(server);
    await server.start();
    log.debug({ port: server.port, dir }, "demo prosody running");
    const passwordFile = join(dir, "agent.password");
    await writeFile(passwordFile, `${accounts.agent.password}\n`, { mode: 0o600 });
    const configFile = join(dir, "agent.yaml");
    await writeFile(configFile, configYaml(server, dir, passwordFile), { mode: 0o600 });
    const logFile = join(dir, "agent.log");
    const agent = await startAgent(configFile, logFile);
    return environment(server, agent, accounts, { configFile, logFile });
  } catch (error) {
    await server.destroy();
    throw error;
  }
}

function environment(
  server: ProsodyServer,
  agent: Agent,
  accounts: Record<DemoUser, DemoAccount>,
  files: { configFile: string; logFile: string },
): DemoEnvironment {
  let agentStopped: Promise<void> | undefined;
  const stopAgent = () => (agentStopped ??= agent.stop());
  return {
    server,
    agent,
    accounts,
    dir: server.dir,
    ...files,
    devicePath: join(server.dir, "ttyAGENT"),
    stopAgent,
    destroy: async () => {
      try {
        await stopAgent();
      } finally {
        await server.destroy();
      }
    },
  };
}
