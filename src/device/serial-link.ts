/**
 * The agent's end of the serial line: opens the port, frames and decodes what arrives, keeps the
 * protocol session, sends commands, and survives what real serial lines do (unplug, reboot,
 * stall, noise) by reopening with backoff and repeating the handshake.
 */
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { createBackoff, type Backoff, type BackoffOptions } from "../core/backoff.js";
import type { DeviceDescription, Reading, ReadingId, SensorValue } from "../core/reading.js";
import { CommandTracker } from "./command-tracker.js";
import { runActuatorCommand, type CommandResult } from "./actuator-command.js";
import { DeviceOfflineError } from "./errors.js";
import { emptyLinkStats, type LinkStats } from "./link-stats.js";
import {
  discardPort,
  openSerialPort,
  writeWithDeadline,
  type PortCloseError,
  type PortFactory,
  type SerialPortLike,
} from "./port.js";
import { DeviceSession, type SessionEvent } from "./session.js";
import { decodeLine, encodeFrame, LineFramer } from "./wire/index.js";
import type {
  AckFrame,
  AgentFrame,
  ErrFrame,
  Frame,
  LogFrame,
  NackFrame,
  WireError,
} from "./wire/frames.js";
import { IdleWatchdog } from "./idle-watchdog.js";

export type { CommandResult };

export type LinkState =
  "stopped" | "connecting" | "handshaking" | "online" | "stalled" | "incompatible";

export interface ProtocolProblem {
  kind:
    | "reading-dropped"
    | "handshake"
    | "incompatible"
    | "unexpected-frame"
    | "port-error"
    | "sequence";
  detail: string;
}

export interface LinkEvents {
  state: [state: LinkState, reason: string];
  hello: [device: DeviceDescription, info: { rebooted: boolean }];
  reading: [reading: Reading];
  gap: [gap: { device: string; boot: string; after: number; missing: number }];
  "wire-error": [error: WireError];
  "protocol-error": [problem: ProtocolProblem];
  log: [frame: LogFrame];
  "device-error": [frame: ErrFrame];
}

export interface SerialLinkOptions {
  path: string;
  baudRate?: number;
  openPort?: PortFactory;
  /** Delays between attempts to open the port. */
  reconnect?: Partial<BackoffOptions>;
  /** First delay before repeating WHO when no handshake completes; doubles up to reconnect.maxMs. */
  helloRetryMs?: number;
  commandTimeoutMs?: number;
  /** serialport never calls back a write after an unplug, so every write has a deadline. */
  writeTimeoutMs?: number;
  /** Silence after which the device is pinged. */
  idleTimeoutMs?: number;
  /** Unanswered ping after which the device counts as stalled. */
  pingTimeoutMs?: number;
  maxHeldReadings?: number;
  maxInFlightCommands?: number;
  /** The last reading accepted before a restart, so a gap across it is reported (see session). */
  resumeAfter?: ReadingId;
  /**
   * How often to check that the device node still exists while the port is open (0: never).
   * A pty or USB adapter that hangs up can leave serialport reading nothing forever without a
   * close event (serialport/bindings-cpp#162); the node vanishing is the reliable sign of an unplug.
   */
  presenceCheckMs?: number;
  now?: () => number;
  /** Whether `now` is synchronised; readings stamped while it is not say so. Default: always. */
  timeSynchronized?: () => boolean;
}

export class SerialLink extends EventEmitter<LinkEvents> {
  readonly stats: LinkStats = emptyLinkStats();
  private readonly options: Required<Omit<SerialLinkOptions, "reconnect" | "resumeAfter">>;
  private readonly session: DeviceSession;
  private readonly tracker: CommandTracker;
  private readonly framer = new LineFramer();
  private readonly reconnectBackoff: Backoff;
  private readonly helloBackoff: Backoff;
  private readonly watchdog: IdleWatchdog;
  private port: SerialPortLike | undefined;
  private current: LinkState = "stopped";
  private reconnectTimer: NodeJS.Timeout | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private presenceTimer: NodeJS.Timeout | undefined;

  constructor(options: SerialLinkOptions) {
    super();
    this.options = {
      baudRate: 115200,
      openPort: openSerialPort,
      helloRetryMs: 1000,
      presenceCheckMs: 500,
      commandTimeoutMs: 2000,
      writeTimeoutMs: 1000,
      idleTimeoutMs: 10_000,
      pingTimeoutMs: 2000,
      maxHeldReadings: 256,
      maxInFlightCommands: 4,
      now: Date.now,
      timeSynchronized: () => true,
      ...options,
    };
    const o = this.options;
    this.reconnectBackoff = createBackoff({ initialMs: 250, maxMs: 5000, ...options.reconnect });
    this.helloBackoff = createBackoff({ initialMs: o.helloRetryMs, maxMs: 8 * o.helloRetryMs });
    this.session = new DeviceSession({
      maxHeldReadings: o.maxHeldReadings,
      resumeAfter: options.resumeAfter,
    });
    this.tracker = new CommandTracker({ maxInFlight: o.maxInFlightCommands, now: o.now });
    this.watchdog = new IdleWatchdog({
      idleMs: o.idleTimeoutMs,
      answerMs: o.pingTimeoutMs,
      now: o.now,
      ping: (id) => void this.send({ type: "PING", id }).catch(() => undefined),
      stalled: () => this.onStalled(),
    });
  }

  get state(): LinkState {
    return this.current;
  }

  /** The device's last complete handshake, kept while it is away so its shape stays known. */
  get device(): DeviceDescription | undefined {
    return this.session.device;
  }

  get path(): string {
    return this.options.path;
  }

  start(): void {
    if (this.current !== "stopped") return;
    this.connect();
  }

  async stop(): Promise<void> {
    this.setState("stopped", "stopped by the agent");
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.helloTimer);
    clearInterval(this.presenceTimer);
    this.watchdog.stop();
    this.tracker.interruptAll("the agent is stopping");
    const port = this.port;
    this.port = undefined;
    if (port) await discardPort(port);
  }

  /** Ask the device to introduce itself again (HELLO and capabilities). */
  requestHello(): Promise<void> {
    return this.send({ type: "WHO" });
  }

  /**
   * Set an actuator and wait for the device's answer. Validated against the declared capability
   * first, so a bad value never reaches the wire. Rejects with a DeviceCommandError subclass.
   */
  async setActuator(
    actuator: string,
    value: SensorValue,
    timeoutMs = this.options.commandTimeoutMs,
  ): Promise<CommandResult> {
    const device = this.session.device;
    if (!device || (this.current !== "online" && this.current !== "stalled")) {
      throw new DeviceOfflineError(`serial link is ${this.current}`, actuator);
    }
    try {
      const command = { device, actuator, value, timeoutMs };
      const result = await runActuatorCommand(command, this.tracker, (f) => this.send(f));
      this.stats.commandsOk += 1;
      return result;
    } catch (error) {
      this.stats.commandsFailed += 1;
      throw error;
    }
  }

  private connect(): void {
    this.setState("connecting", `opening ${this.options.path}`);
    const port = this.options.openPort({
      path: this.options.path,
      baudRate: this.options.baudRate,
    });
    this.port = port;
    port.on("data", (chunk) => this.onData(chunk));
    port.on("close", (error) => this.onClosed(port, error));
    port.on("error", (error) => this.onPortError(port, error));
    port.open((error) => {
      if (this.port !== port) return;
      if (error) this.retryLater(port, `cannot open ${this.options.path}: ${error.message}`);
      else this.onOpened();
    });
  }

  private onOpened(): void {
    this.stats.opens += 1;
    this.framer.reset();
    this.helloBackoff.reset();
    this.setState("handshaking", `${this.options.path} open, waiting for HELLO`);
    this.watchdog.start();
    this.watchPresence();
    this.apply(this.session.opened());
    this.scheduleHelloRetry();
  }

  private watchPresence(): void {
    const { presenceCheckMs, path } = this.options;
    clearInterval(this.presenceTimer);
    if (presenceCheckMs <= 0) return;
    this.presenceTimer = setInterval(() => {
      const port = this.port;
      if (port && !existsSync(path)) {
        this.stats.disconnects += 1;
        this.retryLater(port, `${path} disappeared (device unplugged)`);
      }
    }, presenceCheckMs);
    this.presenceTimer.unref();
  }

  private scheduleHelloRetry(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = setTimeout(() => {
      if (this.session.state === "ready" || !this.port?.isOpen) return;
      this.requestHello().catch(() => undefined);
      this.scheduleHelloRetry();
    }, this.helloBackoff.next());
  }

  private onData(chunk: Buffer): void {
    this.stats.bytesIn += chunk.length;
    this.watchdog.activity();
    if (this.current === "stalled") {
      this.setState(
        this.session.state === "ready" ? "online" : "handshaking",
        "device answers again",
      );
    }
    for (const event of this.framer.push(chunk)) {
      if (event.kind === "error") this.wireError({ code: event.code, detail: event.detail });
      else this.onLine(event.line);
    }
  }

  private onLine(line: string): void {
    const decoded = decodeLine(line);
    if (!decoded.ok) return this.wireError(decoded.error);
    this.stats.framesIn += 1;
    this.route(decoded.frame);
  }

  private route(frame: Frame): void {
    switch (frame.type) {
      case "ACK":
      case "NACK":
        return this.answer(frame);
      case "PONG":
        return this.watchdog.answered(frame.id);
      case "LOG":
        return void this.emit("log", frame);
      case "ERR":
        this.stats.deviceErrors += 1;
        return void this.emit("device-error", frame);
      case "WHO":
      case "USE":
      case "CMD":
      case "PING":
        return this.problem(
          "unexpected-frame",
          `${frame.type} comes from an agent, not a device (echo on the line?)`,
        );
      default:
        return this.apply(
          this.session.handle(frame, this.options.now(), this.options.timeSynchronized()),
        );
    }
  }

  private answer(frame: AckFrame | NackFrame): void {
    if (frame.type === "ACK") this.tracker.ack(frame);
    else this.tracker.nack(frame);
    this.stats.lateAnswers = this.tracker.lateAnswers;
  }

  private apply(events: SessionEvent[]): void {
    for (const event of events) this.applyOne(event);
  }

  private applyOne(event: SessionEvent): void {
    switch (event.type) {
      case "send":
        return void this.send(event.frame).catch(() => undefined);
      case "hello":
        return this.onHandshake(event.device, event.rebooted);
      case "reading":
        this.stats.readings += 1;
        return void this.emit("reading", event.reading);
      case "gap":
        this.stats.gaps += 1;
        this.stats.missingReadings += event.missing;
        return void this.emit("gap", event);
      case "duplicate":
        this.stats.duplicates += 1;
        return;
      case "dropped":
        this.stats.readingsDropped += 1;
        return this.problem("reading-dropped", event.detail);
      case "rewound":
        return this.problem("sequence", event.detail);
      case "incompatible":
        this.setState("incompatible", event.detail);
        return this.problem("incompatible", event.detail);
      case "invalid":
        return this.problem("handshake", event.detail);
    }
  }

  private onHandshake(device: DeviceDescription, rebooted: boolean): void {
    this.stats.handshakes += 1;
    if (rebooted) {
      this.stats.reboots += 1;
      this.tracker.interruptAll(`device rebooted (boot ${device.boot})`);
    }
    clearTimeout(this.helloTimer);
    this.reconnectBackoff.reset();
    this.setState("online", `${device.id} fw ${device.firmware} boot ${device.boot}`);
    this.emit("hello", device, { rebooted });
  }

  private onStalled(): void {
    this.stats.stalls += 1;
    this.setState("stalled", `no answer to PING within ${this.options.pingTimeoutMs} ms`);
  }

  private async send(frame: AgentFrame): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new DeviceOfflineError(`${this.options.path} is not open`);
    const bytes = Buffer.from(`${encodeFrame(frame)}\n`, "latin1");
    try {
      await writeWithDeadline(port, bytes, this.options.writeTimeoutMs);
    } catch (error) {
      throw new DeviceOfflineError(`${this.options.path}: ${(error as Error).message}`);
    }
    this.stats.framesOut += 1;
  }

  private onClosed(port: SerialPortLike, error?: PortCloseError | null): void {
    if (this.port !== port || this.current === "stopped") return;
    this.stats.disconnects += 1;
    const why = error?.disconnected
      ? "device disconnected"
      : `port closed${error ? `: ${error.message}` : ""}`;
    this.retryLater(port, why);
  }

  private onPortError(port: SerialPortLike, error: Error): void {
    if (this.port !== port) return;
    // An error on an open port is followed by its close; on a closed one, the open callback has it.
    if (port.isOpen) port.close();
    this.problem("port-error", `${this.options.path}: ${error.message}`);
  }

  private retryLater(port: SerialPortLike, reason: string): void {
    void discardPort(port);
    this.port = undefined;
    clearTimeout(this.helloTimer);
    clearInterval(this.presenceTimer);
    this.watchdog.stop();
    this.framer.reset();
    this.tracker.interruptAll(reason);
    const delay = this.reconnectBackoff.next();
    this.setState("connecting", `${reason}; retrying in ${delay} ms`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private wireError(error: WireError): void {
    this.stats.wireErrors[error.code] += 1;
    this.emit("wire-error", error);
  }

  private problem(kind: ProtocolProblem["kind"], detail: string): void {
    this.emit("protocol-error", { kind, detail });
  }

  private setState(state: LinkState, reason: string): void {
    if (state === this.current && state !== "connecting") return;
    this.current = state;
    this.emit("state", state, reason);
  }
}
