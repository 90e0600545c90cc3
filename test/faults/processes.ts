/** Child processes and files for the fault rig: spawn with output to a file, signal, wait. */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { retargetAgent } from "../support/agent-command.js";

export const ROOT = join(import.meta.dirname, "..", "..");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  gone: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    const why = gone();
    if (why) throw new Error(`${what}: ${why}`);
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export const readText = async (file: string) => (existsSync(file) ? readFile(file, "utf8") : "");
export const running = (c: ChildProcess | undefined): boolean =>
  c !== undefined && c.exitCode === null && c.signalCode === null;

/** Sends `signal` and resolves with the exit code (null when killed by a signal). */
export async function signal(child: ChildProcess | undefined, sig: NodeJS.Signals) {
  if (!child || !running(child)) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill(sig);
  return exited;
}

/** Spawns with stdout and stderr appended to `logFile`, written by the child itself. */
export function spawnLogged(command: string, args: string[], logFile: string, env = process.env) {
  const fd = openSync(logFile, "a");
  try {
    const target = retargetAgent(command, args);
    return spawn(target.command, target.args, { cwd: ROOT, env, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
}
