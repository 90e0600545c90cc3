/**
 * How tests start `iot-agent` as a process: from the TypeScript sources through tsx, or, when
 * IOT_AGENT_BIN names a built bundle (`npm run test:bundle`), that bundle with plain node, so the
 * same tests prove what gets installed.
 */
import { spawn } from "node:child_process";
import { isAbsolute, join, resolve } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const SOURCES = ["--import", "tsx", join(ROOT, "src", "cli", "main.ts")];

export interface AgentCommand {
  command: string;
  args: string[];
}

/** The bundle under test, absolute, or undefined when tests run the sources. */
export function agentBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = env.IOT_AGENT_BIN;
  if (bin === undefined || bin === "") return undefined;
  return isAbsolute(bin) ? bin : resolve(ROOT, bin);
}

/** `iot-agent <args>` as a command and its arguments for spawn or execFile. */
export function agentCommand(args: string[], env: NodeJS.ProcessEnv = process.env): AgentCommand {
  const bundle = agentBundle(env);
  return {
    command: process.execPath,
    args: bundle === undefined ? [...SOURCES, ...args] : [bundle, ...args],
  };
}

/**
 * The same for a caller that already spelled out the tsx form (`node --import tsx
 * .../src/cli/main.ts ...`): swapped for the bundle when one is under test, left as is otherwise.
 */
export function retargetAgent(command: string, args: string[]): AgentCommand {
  const [flag, loader, entry, ...rest] = args;
  const isSources =
    command === process.execPath &&
    flag === "--import" &&
    loader === "tsx" &&
    entry !== undefined &&
    resolve(ROOT, entry) === SOURCES[2];
  return isSources ? agentCommand(rest) : { command, args };
}

/** `iot-agent run --config file` as a child process, `env` added, its stdout and stderr collected. */
export function spawnAgentRun(file: string, env: NodeJS.ProcessEnv) {
  const agent = agentCommand(["run", "--config", file]);
  const child = spawn(agent.command, agent.args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  child.stdout.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr.on("data", (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { child, exited, logs: () => logs };
}
