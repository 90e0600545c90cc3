/**
 * A rig for fault runs, every part a real process so each can be killed on its own: Prosody with
 * offline storage (as in production), the device emulator on its pty (`iot-agent emulate`), the
 * agent (`iot-agent run`, log level debug) and an independent slixmpp consumer (consumer.py).
 * Each process writes straight into its own file (appended across restarts), so a SIGKILL loses
 * nothing the process had written; the analysis reads those files.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentStatus } from "../../src/agent.js";
import { startProsody, type ProsodyServer } from "../../src/demo/prosody.js";
import { buildEioShim, eioFault, type EioFault } from "../support/eio.js";
import {
  analyse,
  parseAgentLog,
  parseReceived,
  type AgentLog,
  type Analysis,
  type Received,
} from "./analysis.js";
import { readText, ROOT, running, signal, sleep, spawnLogged, waitFor } from "./processes.js";

export { sleep, waitFor } from "./processes.js";

const CLI = ["--import", "tsx", join(ROOT, "src", "cli", "main.ts")];
const PYTHON = "/usr/bin/python3";
const AGENT_PASSWORD = "fault-agent-secret-5e1";
const CONSUMER_PASSWORD = "fault-consumer-secret-c07";

export interface RigOptions {
  /** Emulator readings per second. Default 20. */
  rateHz?: number;
  seed?: number;
  outbox?: { maxMegabytes?: number; segmentKilobytes?: number };
  catchUp?: { stanzasPerSecond: number; readingsPerStanza: number };
  /** Prosody's offline storage (default true, as in production). */
  offline?: boolean;
  /** The agent's XMPP reconnect delays. Default 0.2 s doubling up to 1 s. */
  reconnect?: { initialSeconds: number; maxSeconds: number };
  /**
   * The agent runs with the EIO shim on its outbox directory (see `failDisk`) and a health
   * endpoint (see `agentStatus`).
   */
  failingDisk?: boolean;
}

export class FaultRig {
  readonly faults = { agentKills: 0, serverRestarts: 0, deviceRestarts: 0 };
  #agent: ChildProcess | undefined;
  #device: ChildProcess | undefined;
  #consumer: ChildProcess | undefined;
  #disk: EioFault | undefined;
  readonly #killAll = () =>
    [this.#agent, this.#device, this.#consumer].map((c) => c?.kill("SIGKILL"));

  private constructor(
    readonly server: ProsodyServer,
    readonly dir: string,
    readonly options: RigOptions,
  ) {
    process.once("exit", this.#killAll);
  }

  /** Prosody, the accounts, the agent's config and the consumer; device and agent not yet. */
  static async start(options: RigOptions = {}): Promise<FaultRig> {
    const server = await startProsody({ offline: options.offline ?? true });
    const rig = new FaultRig(server, await mkdtemp(join(tmpdir(), "iot-faults-")), options);
    try {
      await server.register("agent", AGENT_PASSWORD);
      await server.register("dash", CONSUMER_PASSWORD);
      await server.start();
      if (options.failingDisk) {
        const shim = await buildEioShim(rig.dir);
        rig.#disk = eioFault(shim, rig.file("outbox"), rig.file("eio-on"));
      }
      await writeFile(rig.file("agent.yaml"), rig.#config(), { mode: 0o600 });
      await rig.startConsumer();
    } catch (error) {
      await rig.close();
      throw error;
    }
    return rig;
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  get link(): string {
    return this.file("ttyFAULT");
  }

  #config(): string {
    const {
      outbox = {},
      catchUp,
      reconnect = { initialSeconds: 0.2, maxSeconds: 1 },
    } = this.options;
    const bound = Object.entries(outbox).map(([k, v]) => `\n  ${k}: ${v}`);
    return `xmpp:
  service: ${this.server.service}
  domain: localhost
  username: agent
  password: { env: FAULT_AGENT_PASSWORD }
  tls: { caFile: ${this.server.caFile} }
  reconnect: { initialSeconds: ${reconnect.initialSeconds}, maxSeconds: ${reconnect.maxSeconds} }
device: { port: ${this.link} }
telemetry:
  subscribers: [ dash@localhost ]${catchUp ? `\n  catchUp: ${JSON.stringify(catchUp)}` : ""}
outbox:
  dir: ${this.file("outbox")}${bound.join("")}
log: { level: debug }${this.options.failingDisk ? "\nhealth: { port: 0 }" : ""}
`;
  }

  // --- the consumer ---------------------------------------------------------------------------

  async startConsumer(): Promise<void> {
    if (running(this.#consumer)) throw new Error("consumer already running");
    const args = [join(import.meta.dirname, "consumer.py"), "dash@localhost", CONSUMER_PASSWORD];
    args.push("--server", `127.0.0.1:${this.server.port}`, "--ca", this.server.caFile);
    args.push("--out", this.file("received.jsonl"));
    const before = await this.consumerSessions();
    const child = spawnLogged(PYTHON, args, this.file("consumer.log"));
    this.#consumer = child;
    await waitFor(
      async () => (await this.consumerSessions()) > before,
      "the consumer's session",
      20_000,
      () => (running(child) ? undefined : `consumer exited: ${this.tail("consumer.log")}`),
    );
  }

  /** Sessions the consumer started so far (one READY line each). */
  async consumerSessions(): Promise<number> {
    const text = await readText(this.file("consumer.log"));
    return text.split("\n").filter((line) => line.startsWith("READY ")).length;
  }

  // --- the device -----------------------------------------------------------------------------

  /**
   * Starts the emulator process: a board plugged in and booted (new boot id). `faults` are its
   * own recurring `--fault` specs, e.g. "unplug:every=3,ms=800".
   */
  async startDevice(faults: string[] = []): Promise<void> {
    if (running(this.#device)) throw new Error("device already running");
    const { rateHz = 20, seed = 1 } = this.options;
    const args = [...CLI, "emulate", "--link", this.link, "--rate", String(rateHz)];
    args.push("--seed", String(seed + this.faults.deviceRestarts));
    for (const f of faults) args.push("--fault", f);
    const log = this.file("device.log");
    const before = (await readText(log)).split("device ready").length;
    const child = spawnLogged(process.execPath, args, log);
    this.#device = child;
    await waitFor(
      async () => (await readText(log)).split("device ready").length > before,
      "the emulator",
      20_000,
      () => (running(child) ? undefined : `emulator exited: ${this.tail("device.log")}`),
    );
  }

  /** Stops the emulator: its pty disappears, as when a USB device is pulled. */
  async stopDevice(): Promise<void> {
    await signal(this.#device, "SIGTERM");
    this.#device = undefined;
  }

  /** Unplug and plug back in a new emulator process: the board comes back with a new boot id. */
  async restartDevice(faults: string[] = [], pluggedOutMs = 500): Promise<void> {
    this.faults.deviceRestarts += 1;
    await this.stopDevice();
    await sleep(pluggedOutMs);
    await this.startDevice(faults);
  }

  /** What the emulator's own fault plans did: "fault unplug" and "fault reboot" lines. */
  async deviceFaults(): Promise<{ unplugs: number; reboots: number; boots: number }> {
    const text = await readText(this.file("device.log"));
    const count = (re: RegExp) => (text.match(re) ?? []).length;
    return {
      unplugs: count(/fault unplug/g),
      reboots: count(/fault reboot/g),
      boots: count(/ boot [0-9a-f]+ \(/g),
    };
  }

  // --- the agent ------------------------------------------------------------------------------

  /** Starts `iot-agent run`; with `online`, resolves once it logged "agent online". */
  async startAgent(online = true): Promise<void> {
    if (running(this.#agent)) throw new Error("agent already running");
    const log = this.file("agent.log");
    const before = (await readText(log)).split('"msg":"agent online"').length;
    const env = { ...(this.#disk?.env ?? process.env), FAULT_AGENT_PASSWORD: AGENT_PASSWORD };
    const child = spawnLogged(
      process.execPath,
      [...CLI, "run", "--config", this.file("agent.yaml")],
      log,
      env,
    );
    this.#agent = child;
    if (!online) return;
    await waitFor(
      async () => (await readText(log)).split('"msg":"agent online"').length > before,
      "the agent online",
      30_000,
      () => (running(child) ? undefined : `agent exited: ${this.tail("agent.log")}`),
    );
  }

  /** SIGKILL: no goodbye, no flush; what is on disk is all the next run gets. */
  async killAgent(): Promise<void> {
    this.faults.agentKills += 1;
    await signal(this.#agent, "SIGKILL");
    this.#agent = undefined;
  }

  /** SIGTERM, as a supervisor stops it; resolves with the exit code. */
  async stopAgent(): Promise<number | null> {
    const code = await signal(this.#agent, "SIGTERM");
    this.#agent = undefined;
    return code;
  }

  /** fsync and fdatasync of the agent's outbox files fail with EIO while `failing` (failingDisk). */
  async failDisk(failing: boolean): Promise<void> {
    if (!this.#disk) throw new Error("the rig was started without failingDisk");
    await this.#disk.set(failing);
  }

  /** The running agent's /status (failingDisk starts its health endpoint on a free port). */
  async agentStatus(): Promise<AgentStatus> {
    const log = await readText(this.file("agent.log"));
    const urls = [...log.matchAll(/"url":"([^"]+)","msg":"health endpoint listening"/g)];
    const url = urls.at(-1)?.[1];
    if (!url) throw new Error("the agent logged no health endpoint");
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`${url}/status: HTTP ${res.status}`);
    return (await res.json()) as AgentStatus;
  }

  // --- the server -----------------------------------------------------------------------------

  /** Prosody stopped (SIGTERM, as a service restart) for `downMs`; returns when it was back. */
  async restartServer(downMs: number): Promise<{ backAt: number }> {
    this.faults.serverRestarts += 1;
    await this.server.stop();
    await sleep(downMs);
    await this.server.start();
    return { backAt: Date.now() };
  }

  // --- the records ----------------------------------------------------------------------------

  async agentLog(): Promise<AgentLog> {
    return parseAgentLog(await readText(this.file("agent.log")));
  }

  async received(): Promise<Received[]> {
    return parseReceived(await readText(this.file("received.jsonl")));
  }

  async analyse(): Promise<Analysis> {
    const { accepted, drops } = await this.agentLog();
    return analyse(accepted, await this.received(), drops);
  }

  /** Until every accepted reading was received or reported dropped (stop the device first). */
  async drained(timeoutMs: number): Promise<Analysis> {
    let last: Analysis | undefined;
    try {
      await waitFor(async () => (last = await this.analyse()).lost === 0, "the backlog", timeoutMs);
    } catch {
      // the caller asserts on the counts
    }
    return last ?? this.analyse();
  }

  /** Until the consumer has received more than `n` readings in all. */
  async receivedMoreThan(n: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => (await this.received()).length > n,
      `more than ${n} readings`,
      timeoutMs,
    );
  }

  /** The end of one of the rig's log files, for error messages. */
  tail(name: string, chars = 2000): string {
    const file = this.file(name);
    return existsSync(file) ? readFileSync(file, "utf8").slice(-chars) : "";
  }

  /** Everything stopped and removed; `keep` leaves the files for a post-mortem. */
  async close(keep = false): Promise<void> {
    process.off("exit", this.#killAll);
    await signal(this.#agent, "SIGKILL");
    await signal(this.#device, "SIGTERM");
    await signal(this.#consumer, "SIGTERM");
    await this.server.destroy();
    if (!keep) await rm(this.dir, { recursive: true, force: true });
  }
}
