/**
 * A "virtual USB cable": socat joins two pseudo-terminals, one for the agent and one for the
 * emulated device, each reachable through a stable symlink. Killing socat makes both ptys hang up,
 * which is what an agent sees when a USB serial adapter is pulled out.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, lstatSync, unlinkSync } from "node:fs";

export interface VirtualCableOptions {
  /** Symlink the agent opens, e.g. /tmp/ttyIOT. */
  agentPath: string;
  /** Symlink the emulated device opens; `${agentPath}.dev` unless set. */
  devicePath?: string;
  /** How long socat may take to create both links; 5 s unless set. */
  readyTimeoutMs?: number;
  socatPath?: string;
}

export interface SocatExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of socat's diagnostics, for the error message. */
  stderr: string;
}

export interface CableEvents {
  /** socat exited without being asked to: the cable is unplugged until plug() is called. */
  died: [exit: SocatExit];
  plugged: [];
  unplugged: [];
}

const STDERR_TAIL = 4000;
const POLL_MS = 20;
const KILL_GRACE_MS = 2000;
const SETPRIV = "/usr/bin/setpriv";

/** Every socat this process started and has not reaped yet, for the exit-time sweep. */
const live = new Set<ChildProcess>();
let sweepRegistered = false;

function registerSweep(): void {
  if (sweepRegistered) return;
  sweepRegistered = true;
  // Synchronous by necessity: 'exit' handlers cannot wait, so SIGKILL is the only reliable option.
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

export async function createVirtualCable(options: VirtualCableOptions): Promise<VirtualCable> {
  const cable = new VirtualCable(options);
  await cable.plug();
  return cable;
}

export class VirtualCable extends EventEmitter<CableEvents> {
  readonly agentPath: string;
  readonly devicePath: string;
  #child: ChildProcess | undefined;
  #stderr = "";
  #closed = false;
  #lastExit: SocatExit | undefined;
  readonly #options: VirtualCableOptions;

  constructor(options: VirtualCableOptions) {
    super();
    this.#options = options;
    this.agentPath = options.agentPath;
    this.devicePath = options.devicePath ?? `${options.agentPath}.dev`;
  }

  get plugged(): boolean {
    return this.#child !== undefined;
  }

  /** How socat last exited on its own, if it ever did. */
  get lastUnexpectedExit(): SocatExit | undefined {
    return this.#lastExit;
  }

  /** Starts socat and resolves once both links exist and socat is relaying. */
  async plug(): Promise<void> {
    if (this.#closed) throw new Error(`virtual cable ${this.agentPath} is closed`);
    if (this.#child) return;
    assertReplaceable(this.agentPath);
    assertReplaceable(this.devicePath);
    const child = this.#spawn();
    try {
      await this.#waitReady(child);
    } catch (error) {
      await this.#kill(child);
      throw error;
    }
    this.emit("plugged");
  }

  /** Kills socat: both ptys hang up and the links disappear. */
  async unplug(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    await this.#kill(child);
    this.emit("unplugged");
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.unplug();
  }

  #spawn(): ChildProcess {
    const socat = this.#options.socatPath ?? "socat";
    const args = ["-d", "-d", ptyAddress(this.agentPath), ptyAddress(this.devicePath)];
    // With setpriv, the kernel kills socat even if this process is SIGKILLed (e.g. a test timeout),
    // which the 'exit' sweep cannot cover.
    const [command, argv] = existsSync(SETPRIV)
      ? [SETPRIV, ["--pdeathsig", "KILL", socat, ...args]]
      : [socat, args];
    const child = spawn(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
    this.#stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-STDERR_TAIL);
    });
    child.on("error", () => undefined); // surfaced through 'exit' and #waitReady
    child.once("exit", (code, signal) =>
      this.#onExit(child, { code, signal, stderr: this.#stderr }),
    );
    this.#child = child;
    live.add(child);
    registerSweep();
    return child;
  }

  #onExit(child: ChildProcess, exit: SocatExit): void {
    live.delete(child);
    if (this.#child !== child) return; // an unplug() we asked for
    this.#child = undefined;
    removeLink(this.agentPath);
    removeLink(this.devicePath);
    this.#lastExit = exit;
    this.emit("died", exit);
  }

  async #waitReady(child: ChildProcess): Promise<void> {
    const timeoutMs = this.#options.readyTimeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    let spawnError: Error | undefined;
    child.once("error", (error) => (spawnError = error));
    for (;;) {
      if (this.#ready()) return;
      const failed = spawnError ?? (child.exitCode !== null || child.signalCode !== null);
      if (failed || Date.now() > deadline) {
        const why = spawnError
          ? `could not run socat: ${spawnError.message}`
          : failed
            ? `socat exited (code ${child.exitCode}, signal ${child.signalCode})`
            : `socat did not create ${this.agentPath} and ${this.devicePath} within ${timeoutMs} ms`;
        throw new Error(
          `virtual cable ${this.agentPath}: ${why}; socat said: ${this.#stderr.trim()}`,
        );
      }
      await delay(POLL_MS);
    }
  }

  /** Links alone are not enough: socat logs the transfer loop once both ptys are configured. */
  #ready(): boolean {
    return (
      existsSync(this.agentPath) &&
      existsSync(this.devicePath) &&
      this.#stderr.includes("starting data transfer loop")
    );
  }

  async #kill(child: ChildProcess): Promise<void> {
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
    // socat removes its links on SIGTERM; after SIGKILL or a crash they would dangle.
    removeLink(this.agentPath);
    removeLink(this.devicePath);
  }
}

function ptyAddress(link: string): string {
  if (/[,:!\s]/.test(link)) throw new Error(`link path ${link} must not contain , : ! or spaces`);
  return `pty,raw,echo=0,link=${link}`;
}

/** socat replaces an existing link, but must not clobber a real file given by mistake. */
function assertReplaceable(path: string): void {
  if (isSymlink(path) === false) {
    throw new Error(`${path} exists and is not a symlink; refusing to replace it`);
  }
}

/** Removes a link our socat left behind (it only cleans up itself on SIGTERM). */
function removeLink(path: string): void {
  try {
    if (isSymlink(path)) unlinkSync(path);
  } catch {
    // already gone: socat won the race
  }
}

/** undefined when nothing is there. */
function isSymlink(path: string): boolean | undefined {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
