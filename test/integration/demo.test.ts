/**
 * `iot-agent demo` as a newcomer runs it: a child process that starts Prosody, the agent and the
 * emulator, prints the banner and telemetry, answers commands typed on stdin, and leaves nothing
 * behind (no process in its group, no temp dir) when it ends.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "../support/wait.js";
import { agentCommand } from "../support/agent-command.js";

interface Demo {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let running: Demo | undefined;

/** Its own process group (detached), so that what it started can be found, and killed on failure. */
function startDemo(args: string[]): Demo {
  const demo = agentCommand(["demo", ...args]);
  const child = spawn(demo.command, demo.args, {
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  running = { child, stdout: () => out, stderr: () => err, exited };
  return running;
}

afterEach(() => {
  const pid = running?.child.pid;
  running = undefined;
  try {
    if (pid !== undefined) process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone: the test left nothing behind.
  }
});

/** Live processes in the process group `pgid`, as "pid args" lines; zombies are already gone. */
function groupMembers(pgid: number): Promise<string[]> {
  return new Promise((resolve, reject) =>
    execFile("ps", ["-e", "-o", "pid=,pgid=,stat=,args="], (error, stdout) => {
      if (error) return reject(new Error(`ps failed: ${error.message}`));
      const rows = stdout.split("\n").map((line) => line.trim().split(/\s+/));
      const live = rows.filter(
        ([, group, stat]) => group === String(pgid) && !stat?.startsWith("Z"),
      );
      resolve(live.map(([pid, , , ...args]) => `${pid} ${args.join(" ")}`));
    }),
  );
}

/**
 * tsx's esbuild helper (not the demo's) exits on its own once node is gone, and may take a moment
 * on a loaded machine; prosody or socat left behind would stay.
 */
async function leftovers(pgid: number): Promise<string[]> {
  let members = await groupMembers(pgid);
  for (let i = 0; i < 20 && members.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    members = await groupMembers(pgid);
  }
  return members;
}

async function exitCode(demo: Demo, timeoutMs: number): Promise<number | null> {
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs));
  const code = await Promise.race([demo.exited, timeout]);
  if (code === "timeout") {
    throw new Error(
      `demo still running after ${timeoutMs} ms:\n${demo.stdout()}\n${demo.stderr()}`,
    );
  }
  return code;
}

/** The banner names the temp dir holding everything; it must be gone at the end. */
function tempDir(stdout: string): string {
  const dir = /files in\n\s+(\S+) \(removed on exit\)/.exec(stdout)?.[1];
  expect(dir).toMatch(/^\/.+/);
  return dir ?? "";
}

async function expectCleanExit(demo: Demo): Promise<void> {
  expect(await exitCode(demo, 30_000), demo.stderr()).toBe(0);
  expect(existsSync(tempDir(demo.stdout()))).toBe(false);
  expect(await leftovers(demo.child.pid ?? 0)).toEqual([]);
}

const TELEMETRY_LINE = /^\d\d:\d\d:\d\d {2}telemetry +\S+/gm;

describe("iot-agent demo", () => {
  it("--no-console --count 3 prints the banner and 3 telemetry lines, then exits 0", async () => {
    const demo = startDemo(["--no-console", "--count", "3"]);
    expect(await exitCode(demo, 60_000), demo.stderr()).toBe(0);
    const out = demo.stdout();
    expect(out).toMatch(/private Prosody on 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/owner@localhost +password \S+/);
    expect(out.match(TELEMETRY_LINE), out).toHaveLength(3);
    expect(out).toMatch(/temp -?\d+(\.\d+)? °C/);
    await expectCleanExit(demo);
  }, 90_000);

  it("sends typed lines to the agent, prints its replies, and /quit stops everything", async () => {
    const demo = startDemo([]);
    await until(() => demo.stdout().includes("/quit (or Ctrl-D"), "the console prompt", 60_000);
    // What must be gone at the end is there now (so the check below can see it).
    const members = (await groupMembers(demo.child.pid ?? 0)).join("\n");
    expect(members).toMatch(/prosody/);
    expect(members).toMatch(/socat/);
    demo.child.stdin?.write("set relay on\n");
    await until(() => /agent +relay set to on/.test(demo.stdout()), "the relay reply", 20_000);
    demo.child.stdin?.write("/quit\n");
    await expectCleanExit(demo);
    expect(demo.stdout()).toMatch(/agent@localhost is offline/);
  }, 90_000);
});
