/**
 * A local server run as a child process (Prosody, Mosquitto): started in the foreground, its
 * console output kept for error messages, "up" once its ports accept connections, stopped with
 * SIGTERM (or SIGKILL), and never left behind when this process exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";

/** Output kept for error messages; a demo left running must not grow forever. */
const LOG_TAIL_CHARS = 64 * 1024;

export interface ServerProcess {
  start(): Promise<void>;
  /** SIGTERM and wait; `hard` sends SIGKILL instead. */
  stop(hard?: boolean): Promise<void>;
  /** Sends a signal to the running server (SIGSTOP freezes it with its connections open). */
  signal(signal: NodeJS.Signals): void;
  log(): string;
}

export function serverProcess(
  command: string,
  args: string[],
  ports: () => number[],
): ServerProcess {
  let child: ChildProcess | undefined;
  let output = "";
  const append = (d: Buffer) => {
    output = (output + d.toString()).slice(-LOG_TAIL_CHARS);
  };
  // 'exit' handlers cannot wait: SIGKILL is the one way to not leave a server behind.
  process.once("exit", () => child?.kill("SIGKILL"));
  return {
    async start() {
      child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout?.on("data", append);
      child.stderr?.on("data", append);
      // Without a listener a failed spawn (no such binary) would crash the whole process.
      child.once("error", (e) => append(Buffer.from(`cannot run ${command}: ${e.message}\n`)));
      await waitForPorts(ports(), child, () => output);
    },
    async stop(hard = false) {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill(hard ? "SIGKILL" : "SIGTERM");
      await exited;
    },
    signal: (signal) => void child?.kill(signal),
    log: () => output,
  };
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

export async function waitForPorts(ports: number[], child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 10_000;
  for (const p of ports) {
    while (!(await portOpen(p))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`the server did not open port ${p}:\n${output()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
