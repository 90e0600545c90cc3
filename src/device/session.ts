/**
 * The protocol session with one device, as a pure state machine: frames in, events out.
 * No timers and no I/O here, so every rule of PROTOCOL.md §6–7 is testable without a port;
 * the serial link owns the clock and the wire.
 */
import type { Capability, DeviceDescription, ReadingId } from "../core/reading.js";
import { BootSequence, type SequenceEvent } from "./sequence.js";
import { validateReading } from "./validate.js";
import {
  PROTOCOL_VERSION,
  type AgentFrame,
  type CapabilityFrame,
  type DeviceFrame,
  type HelloFrame,
  type ReadingFrame,
} from "./wire/frames.js";

export type SessionEvent =
  | { type: "send"; frame: AgentFrame }
  | { type: "hello"; device: DeviceDescription; rebooted: boolean }
  | SequenceEvent
  | { type: "incompatible"; detail: string }
  | { type: "invalid"; detail: string };

export type SessionPhase = "waiting-hello" | "collecting" | "ready" | "incompatible";

export interface SessionOptions {
  /** Readings kept while the capabilities for their boot are unknown. */
  maxHeldReadings?: number;
  /** Highest protocol version this agent speaks. */
  agentVersion?: number;
  /**
   * The last reading accepted before this process started (from the outbox). When the device
   * comes back with the same boot, the readings it sent in between are reported as a gap.
   */
  resumeAfter?: ReadingId;
}

interface HeldReading {
  frame: ReadingFrame;
  receivedAt: number;
  timeSynced: boolean;
}

export class DeviceSession {
  private phase: SessionPhase = "waiting-hello";
  private current: DeviceDescription | undefined;
  private pending:
    | { hello: HelloFrame; version: number; sensors: Capability[]; actuators: Capability[] }
    | undefined;
  private readonly sequence = new BootSequence();
  private held: HeldReading[] = [];
  private readonly maxHeld: number;
  private readonly agentVersion: number;
  private resumeAfter: ReadingId | undefined;

  constructor(options: SessionOptions = {}) {
    this.maxHeld = options.maxHeldReadings ?? 256;
    this.agentVersion = options.agentVersion ?? PROTOCOL_VERSION;
    this.resumeAfter = options.resumeAfter;
  }

  get state(): SessionPhase {
    return this.phase;
  }

  /** The device as declared by its last complete handshake (kept across reconnects). */
  get device(): DeviceDescription | undefined {
    return this.current;
  }

  get heldReadings(): number {
    return this.held.length;
  }

  /** A port was (re)opened: whatever was half-received is void; ask the device who it is. */
  opened(): SessionEvent[] {
    this.phase = "waiting-hello";
    this.pending = undefined;
    return [{ type: "send", frame: { type: "WHO" } }];
  }

  /** `timeSynced`: `receivedAt` was taken with a synchronised clock. */
  handle(frame: DeviceFrame, receivedAt: number, timeSynced = true): SessionEvent[] {
    switch (frame.type) {
      case "HELLO":
        return this.onHello(frame);
      case "SENSOR":
      case "ACTUATOR":
        return this.onCapability(frame);
      case "RD":
        return this.onReading(frame, receivedAt, timeSynced);
      default:
        // ACK, NACK, PONG, LOG and ERR do not change the session; the link routes them.
        return [];
    }
  }

  private onHello(hello: HelloFrame): SessionEvent[] {
    const version = Math.min(hello.proto, this.agentVersion);
    if (version < hello.min) {
      this.phase = "incompatible";
      this.pending = undefined;
      const detail = `device ${hello.dev} speaks protocol ${hello.min}..${hello.proto}, agent speaks 1..${this.agentVersion}`;
      return [{ type: "incompatible", detail }];
    }
    this.phase = "collecting";
    this.pending = { hello, version, sensors: [], actuators: [] };
    const events: SessionEvent[] = [];
    if (version < hello.proto) events.push({ type: "send", frame: { type: "USE", v: version } });
    return [...events, ...this.completeIfDone()];
  }

  private onCapability(frame: CapabilityFrame): SessionEvent[] {
    const pending = this.pending;
    if (this.phase !== "collecting" || !pending) {
      // Right after opening, the tail of a HELLO sequence sent before the port was open is
      // expected; the answer to our WHO follows.
      if (this.phase === "waiting-hello") return [];
      return [
        { type: "invalid", detail: `${frame.type} ${frame.name} outside a handshake, ignored` },
      ];
    }
    const list = frame.type === "SENSOR" ? pending.sensors : pending.actuators;
    const limit = frame.type === "SENSOR" ? pending.hello.sensors : pending.hello.actuators;
    if (list.some((c) => c.name === frame.name) || list.length >= limit) {
      this.phase = "waiting-hello";
      this.pending = undefined;
      const detail = `${frame.type} ${frame.name} repeated or beyond the ${limit} announced; handshake restarted`;
      return [
        { type: "invalid", detail },
        { type: "send", frame: { type: "WHO" } },
      ];
    }
    list.push(capabilityOf(frame));
    return this.completeIfDone();
  }

  private completeIfDone(): SessionEvent[] {
    const p = this.pending;
    if (!p || p.sensors.length < p.hello.sensors || p.actuators.length < p.hello.actuators) {
      return [];
    }
    const previous = this.current;
    const device: DeviceDescription = {
      id: p.hello.dev,
      firmware: p.hello.fw,
      boot: p.hello.boot,
      protocol: p.version,
      sensors: p.sensors,
      actuators: p.actuators,
    };
    const sameBoot = previous?.boot === device.boot && previous.id === device.id;
    const dropped = sameBoot ? [] : this.sequence.restart(this.resumedSeq(device));
    this.current = device;
    this.pending = undefined;
    this.phase = "ready";
    const rebooted = previous !== undefined && previous.id === device.id && !sameBoot;
    return [...dropped, { type: "hello", device, rebooted }, ...this.replayHeld(device.boot)];
  }

  /** Where the first boot after a restart continues from, if it is the one the outbox last saw. */
  private resumedSeq(device: DeviceDescription): number | undefined {
    const resume = this.resumeAfter;
    this.resumeAfter = undefined;
    return resume?.device === device.id && resume.boot === device.boot ? resume.seq : undefined;
  }

  /** Held readings of this boot are validated now; those of a boot never introduced are lost. */
  private replayHeld(boot: string): SessionEvent[] {
    const held = this.held;
    this.held = [];
    return held.flatMap((h) =>
      h.frame.boot === boot
        ? this.onReading(h.frame, h.receivedAt, h.timeSynced)
        : [this.unknownBoot(h.frame, "the device rebooted before introducing it")],
    );
  }

  private unknownBoot(frame: ReadingFrame, why: string): SessionEvent {
    return {
      type: "dropped",
      reason: "unknown-boot",
      detail: `RD boot=${frame.boot} seq=${frame.seq}: ${why}`,
    };
  }

  private onReading(frame: ReadingFrame, receivedAt: number, timeSynced: boolean): SessionEvent[] {
    const device = this.current;
    if (this.phase !== "ready" || !device || device.boot !== frame.boot) {
      return this.hold({ frame, receivedAt, timeSynced });
    }
    const result = validateReading(frame, device, receivedAt, timeSynced);
    if (!result.ok) {
      return [
        { type: "dropped", reason: "invalid", detail: `RD seq=${frame.seq}: ${result.detail}` },
      ];
    }
    return this.sequence.admit(result.reading);
  }

  /**
   * A reading for a boot whose capabilities are unknown: the HELLO was lost or is still coming.
   * Keep it (bounded) and ask again; it is validated once the handshake for its boot completes.
   */
  private hold(reading: HeldReading): SessionEvent[] {
    const { frame } = reading;
    if (this.phase === "incompatible") {
      return [this.unknownBoot(frame, "device speaks an incompatible protocol version")];
    }
    const events: SessionEvent[] = [];
    if (this.held.length >= this.maxHeld) {
      const oldest = this.held.shift();
      if (oldest)
        events.push(this.unknownBoot(oldest.frame, `no handshake after ${this.maxHeld} readings`));
    }
    const firstHeld = this.held.length === 0;
    this.held.push(reading);
    // A device sends RD only after its capabilities, so a reading now means frames were lost:
    // start the handshake over, once per batch of held readings. While waiting for a HELLO, a WHO
    // is already out (the link repeats it on a timer).
    if (firstHeld && this.phase !== "waiting-hello") {
      this.phase = "waiting-hello";
      this.pending = undefined;
      events.push({ type: "send", frame: { type: "WHO" } });
    }
    return events;
  }
}

function capabilityOf(frame: CapabilityFrame): Capability {
  const { name, kind, unit, min, max, values } = frame;
  return {
    name,
    kind,
    ...(unit === undefined ? {} : { unit }),
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    ...(values === undefined ? {} : { values }),
  };
}
