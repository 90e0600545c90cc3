/**
 * What the agent is started with and what it reports about itself (the health endpoint, the
 * status command and the admins' stats all read an AgentStatus).
 */
import type { AgentConfig } from "./config/schema.js";
import type { CommandCount } from "./core/audit.js";
import type { Clock } from "./core/clock.js";
import type { Logger } from "./core/logger.js";
import type { OutboxHealth } from "./core/outbox/index.js";
import type { Reading } from "./core/reading.js";
import type { SerialLink } from "./device/serial-link.js";
import type { SinkStatus } from "./telemetry-relays.js";

export interface AgentOptions {
  /** The configuration in force; reload() updates what it applied. */
  config: AgentConfig;
  password: string;
  /** The MQTT broker's password, when `mqtt.password` is configured. */
  mqttPassword?: string;
  log: Logger;
  now?: () => number;
  /**
   * What stamps readings and ages the outbox: by default the system's clocks, synchronised as
   * `clock.synchronized` says.
   */
  clock?: Clock;
  /** Readings per second of the built-in emulator (`device.emulate`); its default otherwise. */
  emulatorRateHz?: number;
  /** How long start() waits for the XMPP server before going on without it (default 10 s). */
  onlineWaitMs?: number;
  /**
   * A failure retrying cannot cure (credentials refused, certificate untrusted) after start()
   * returned; the agent keeps the device side and the outbox running until told to stop.
   */
  onFatal?: (error: Error) => void;
}

export interface AgentStatus {
  xmpp: {
    online: boolean;
    jid: string | undefined;
    sessions: number;
    /** False when the server gives no XEP-0198 acks (none offered, or refused). */
    serverAcks?: boolean | undefined;
  };
  device: { state: string; id: string | undefined; boot: string | undefined };
  lastReading: Reading | undefined;
  link: SerialLink["stats"];
  /** Per outbox sink (xmpp, pubsub): what waits, what was dropped, how delivery goes. */
  sinks: Record<string, SinkStatus>;
  /** `state` "failing" while the disk refuses writes, see OutboxHealth. */
  outbox: OutboxHealth & {
    /** Readings not yet confirmed by the XMPP server (the xmpp sink). */
    pending: number;
    /** Readings the xmpp sink lost to the size or age bound, or to damage on disk. */
    dropped: number;
    bytes: number;
    /** Readings the outbox could not store (disk errors): never accepted, so never sent. */
    refused: number;
    /** Disk activity since start: readings stored, and fsyncs of every kind. */
    records: number;
    fsyncs: number;
  };
  commands: CommandCount[];
}
