/**
 * A device on the far end of a real pseudo-terminal, speaking protocol v1 like the reference
 * firmware, with faults on demand so the agent's recovery paths can be exercised end to end.
 */
import { EventEmitter } from "node:events";
import { decodeLine, encodeFrame, LineFramer } from "../../src/device/wire/index.js";
import type { CmdFrame, DeviceFrame, Frame } from "../../src/device/wire/frames.js";
import { DevicePort } from "./device-port.js";
import { Firmware } from "./firmware.js";
import { Pacer } from "./pacer.js";
import { envnodeProfile, type EmulatorConfig } from "./profile.js";
import { VirtualCable } from "./pty.js";
import { corruptLine, linkBudget, noiseBytes } from "./line-budget.js";
import { mulberry32, type Rng } from "./waveforms.js";
import { abortableSleep } from "./timing.js";
import {
  emptyFaults,
  FAULT_COUNTERS,
  type BootReason,
  type CommandEvent,
  type EmulatorEvents,
  type EmulatorStartOptions,
  type EmulatorStatus,
  type FaultKind,
  type FaultStats,
  type SentLine,
} from "./events.js";

interface Outgoing {
  bytes: Buffer;
  sent?: SentLine;
}

const REOPEN_TIMEOUT_MS = 10_000;

export class DeviceEmulator extends EventEmitter<EmulatorEvents> {
  readonly config: EmulatorConfig;
  readonly cable: VirtualCable | undefined;
  /** Readings per second actually produced: the requested rate, capped by the line. */
  readonly rateHz: number;
  /** Why `rateHz` is below the requested rate, if it is; also emitted as a warning at power-on. */
  readonly rateWarning: string | undefined;
  readonly #firmware: Firmware;
  readonly #port: DevicePort;
  readonly #pacer: Pacer<Outgoing>;
  readonly #framer = new LineFramer();
  readonly #faultRng: Rng;
  readonly #faults: FaultStats = emptyFaults();
  readonly #replyTimers = new Set<NodeJS.Timeout>();
  readonly #stopSignal = new AbortController();
  #tickTimer: NodeJS.Timeout | undefined;
  #ticksFrom = 0;
  #ticks = 0;
  #bootedAt = 0;
  #powered = false;
  /** Set while an unplug took the board's power with it: nothing may boot until it returns. */
  #powerCut = false;
  #haltedUntil = 0;
  #corruptPending = 0;
  #sentLines = 0;
  #commandsReceived = 0;
  readonly #createdAt = performance.now();

  /** Creates the virtual cable at `link` and boots the device behind it. */
  static async start(options: EmulatorStartOptions): Promise<DeviceEmulator> {
    const { link, devicePath, ...overrides } = options;
    // An explicit `undefined` (e.g. an unset CLI option) must not wipe out a profile default.
    const given = Object.entries(overrides).filter(([, value]) => value !== undefined);
    const config = envnodeProfile(Object.fromEntries(given));
    const cable = new VirtualCable({ agentPath: link, devicePath });
    const emulator = new DeviceEmulator(config, { devicePath: cable.devicePath, cable });
    try {
      await cable.plug();
      await emulator.powerOn();
    } catch (error) {
      await emulator.stop();
      throw error;
    }
    return emulator;
  }

  constructor(config: EmulatorConfig, where: { devicePath: string; cable?: VirtualCable }) {
    super();
    if (!(config.baud > 0)) throw new Error(`baud must be > 0, got ${config.baud}`);
    if (!(config.rateHz > 0)) throw new Error(`rateHz must be > 0, got ${config.rateHz}`);
    this.config = config;
    this.cable = where.cable;
    this.#firmware = new Firmware(config);
    this.#faultRng = mulberry32(config.seed ^ 0x5eed);
    const budget = linkBudget(config);
    this.rateHz = Math.min(config.rateHz, budget.maxRateHz);
    this.rateWarning = budget.warning;
    const bytesPerSecond = budget.bytesPerSecond;
    this.#pacer = new Pacer((item) => this.#emitBytes(item), { bytesPerSecond });
    this.#port = new DevicePort(where.devicePath, config.baud);
    this.#port.on("data", (chunk) => this.#onData(chunk));
    this.#port.on("lost", () => this.emit("unplugged"));
    this.#port.on("open", () => {
      this.#framer.reset();
      this.emit("plugged");
    });
    this.cable?.on("unplugged", () => this.#port.drop());
    this.cable?.on("died", (exit) => {
      this.#port.drop();
      this.emit("warning", `socat died (${exit.code ?? exit.signal})`);
    });
  }

  /** Opens the device side and boots: HELLO, capabilities, then readings at `rateHz`. */
  async powerOn(): Promise<void> {
    await this.#port.open();
    if (this.rateWarning) this.emit("warning", this.rateWarning);
    await this.#boot("start");
    this.#ticksFrom = performance.now();
    this.#scheduleTick();
  }

  status(): EmulatorStatus {
    return {
      boot: this.#firmware.boot,
      seq: this.#firmware.seq,
      actuators: this.#firmware.actuatorState(),
      plugged: this.cable?.plugged ?? this.#port.isOpen,
      sentLines: this.#sentLines,
      commandsReceived: this.#commandsReceived,
      faults: { ...this.#faults },
    };
  }

  setCommandBehaviour(behaviour: { ackDelayMs?: number; ignoreCommands?: boolean }): void {
    Object.assign(this.config, behaviour);
  }

  /** The next `n` lines go out with one byte altered after the CRC was computed. */
  corruptNext(n = 1): void {
    this.#corruptPending += n;
    this.#fault("corrupt", `next ${n} line(s)`);
  }

  /** Raw bytes between lines: the given ones, or `count` random ones. */
  sendGarbage(bytesOrCount: Uint8Array | number = 16): void {
    const bytes =
      typeof bytesOrCount === "number"
        ? noiseBytes(bytesOrCount, this.#faultRng)
        : Buffer.from(bytesOrCount);
    this.#faults.garbageBytes += bytes.length;
    this.#fault("garbage", `${bytes.length} bytes`);
    this.#pacer.push({ bytes });
  }

  writeRaw(bytes: Uint8Array | string): void {
    this.#pacer.push({ bytes: Buffer.from(bytes) });
  }

  /** A reset; with `midLine` the line being sent is cut in half first. */
  async reboot(options: { midLine?: boolean } = {}): Promise<void> {
    this.#fault("reboot", options.midLine ? "mid-line" : "between lines");
    await this.#restart("reboot", options.midLine ?? false);
  }

  /** Hangs: sends nothing and answers nothing for `ms`. */
  async stall(ms: number): Promise<void> {
    this.#fault("stall", `${ms} ms`);
    this.#haltedUntil = Math.max(this.#haltedUntil, performance.now() + ms);
    this.#pacer.pause(ms);
    await this.#sleep(ms);
  }

  /** Pulls the USB cable for `ms`; with `reboot` the board was powered by it and restarts. */
  async unplug(ms: number, options: { reboot?: boolean } = {}): Promise<void> {
    const cable = this.cable;
    if (!cable) throw new Error("unplug() needs the virtual cable: use DeviceEmulator.start()");
    this.#fault("unplug", `${ms} ms${options.reboot ? ", reboot" : ""}`);
    if (options.reboot) {
      this.#powerCut = true;
      this.#powerDown();
    }
    await cable.unplug();
    await this.#sleep(ms);
    if (this.#stopSignal.signal.aborted) return;
    await cable.plug();
    await this.#port.whenOpen(REOPEN_TIMEOUT_MS);
    if (!options.reboot) return;
    this.#powerCut = false;
    await this.#boot("power");
  }

  /** Closes the port, socat and every timer; resolves when all are gone. */
  async stop(): Promise<void> {
    this.#stopSignal.abort();
    clearTimeout(this.#tickTimer);
    this.#powerDown();
    this.#pacer.stop();
    await this.#port.close();
    await this.cable?.close();
  }

  #powerDown(): void {
    this.#powered = false;
    for (const timer of this.#replyTimers) clearTimeout(timer);
    this.#replyTimers.clear();
    this.#pacer.clear(); // whatever sat in the UART buffer is lost with the power
  }

  async #restart(reason: BootReason, midLine: boolean): Promise<void> {
    if (midLine && this.#powered) {
      const line = encodeFrame(this.#reading());
      this.#powerDown();
      this.#pacer.push({ bytes: Buffer.from(line.slice(0, line.length >> 1), "latin1") });
      await this.#pacer.idle();
    }
    this.#powerDown();
    await this.#boot(reason);
  }

  async #boot(reason: BootReason): Promise<void> {
    await this.#sleep(this.config.bootDelayMs ?? 0);
    if (this.#stopSignal.signal.aborted || this.#powerCut) return;
    const boot = this.#firmware.powerOn();
    this.#bootedAt = performance.now();
    this.#powered = true;
    this.#send(this.#firmware.hello());
    this.emit("boot", { boot, reason });
  }

  #listening(): boolean {
    return this.#powered && performance.now() >= this.#haltedUntil;
  }

  /** Ticks on a fixed grid from the first one, so timer lateness does not drift the rate. */
  #scheduleTick(): void {
    const due = this.#ticksFrom + (++this.#ticks * 1000) / this.rateHz;
    this.#tickTimer = setTimeout(() => this.#tick(), Math.max(0, due - performance.now()));
  }

  #tick(): void {
    this.#scheduleTick();
    if (!this.#listening()) return;
    // A backlog means the line cannot keep up; a real firmware would block in Serial.print.
    if (this.#pacer.queuedBytes > this.#pacer.bytesPerSecond) return;
    this.#send([this.#reading()]);
  }

  #reading(): DeviceFrame {
    const now = performance.now();
    const warn = (message: string): boolean => this.emit("warning", message);
    return this.#firmware.reading(now - this.#createdAt, Math.round(now - this.#bootedAt), warn);
  }

  #send(frames: DeviceFrame[]): void {
    for (const frame of frames) {
      let line = encodeFrame(frame);
      const corrupted = this.#corruptPending > 0;
      if (corrupted) {
        this.#corruptPending--;
        this.#faults.corrupted++;
        line = corruptLine(line, this.#faultRng);
      }
      const sent: SentLine = { frame, line, corrupted };
      this.#pacer.push({ bytes: Buffer.from(line + "\n", "latin1"), sent });
    }
  }

  #emitBytes(item: Outgoing): void {
    if (!this.#port.write(item.bytes) || !item.sent) return; // unplugged: lost on the wire
    this.#sentLines++;
    this.emit("line-sent", item.sent);
  }

  #onData(chunk: Buffer): void {
    for (const event of this.#framer.push(chunk)) {
      if (event.kind !== "line" || !this.#listening()) continue;
      const decoded = decodeLine(event.line);
      if (decoded.ok) this.#onFrame(decoded.frame);
    }
  }

  #onFrame(frame: Frame): void {
    if (frame.type !== "CMD") {
      this.#send(this.#firmware.respond(frame));
      return;
    }
    this.#commandsReceived++;
    if (this.config.ignoreCommands) this.emit("command", { frame, result: "ignored" });
    else this.#command(frame);
  }

  #command(frame: CmdFrame): void {
    const { reply } = this.#firmware.command(frame);
    const event: CommandEvent = { frame, result: reply.type === "ACK" ? "ack" : "nack", reply };
    this.emit("command", event);
    const timer = setTimeout(() => {
      this.#replyTimers.delete(timer);
      this.#send([reply]);
    }, this.config.ackDelayMs ?? 0);
    this.#replyTimers.add(timer);
  }

  #fault(kind: FaultKind, detail: string): void {
    const counter = FAULT_COUNTERS[kind];
    if (counter) this.#faults[counter]++;
    this.emit("fault", { kind, detail });
  }

  /** A wait that ends early when the emulator is stopped. */
  #sleep(ms: number): Promise<void> {
    return abortableSleep(ms, this.#stopSignal.signal);
  }
}
