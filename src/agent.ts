/**
 * The composition root: the one place where the serial link, the core (access list, commands,
 * alerts, delivery policy) and the XMPP adapter are built and wired. Everything else receives what
 * it needs as arguments, so each part can be tested alone.
 */
import { readFile } from "node:fs/promises";
import type { Element } from "@xmpp/xml";
import { DeviceEmulator } from "../firmware-bridge/emulator/index.js";
import type { AgentConfig } from "./config/schema.js";
import { configInForce, planReload, type ReloadPlan } from "./config/reload.js";
import { AccessList, type Role } from "./core/access.js";
import { AlertEngine } from "./core/alerts.js";
import { AuditLog } from "./core/audit.js";
import type { AgentOptions, AgentStatus } from "./agent-types.js";
import type { CommandContext } from "./core/commands.js";
import { RecentHistory } from "./core/history.js";
import type { Outbox, OutboxEntry } from "./core/outbox/index.js";
import { bareJid } from "./core/jid.js";
import { RateLimiter } from "./core/rate-limit.js";
import { settlesWithin } from "./core/within.js";
import type { Reading } from "./core/reading.js";
import { logLinkEvents } from "./device/link-logging.js";
import { SerialLink } from "./device/serial-link.js";
import { agentPresence } from "./presence.js";
import { clockFor, type SystemClock } from "./system-clock.js";
import { AlertSender } from "./xmpp/alert-sender.js";
import { ChatCommands } from "./xmpp/chat-commands.js";
import { XmppConnection } from "./xmpp/connection.js";
import { classifyInbound } from "./xmpp/inbound.js";
import { AdhocCommands } from "./xmpp/adhoc-handler.js";
import { registerXmppServices } from "./xmpp/services.js";
import { deviceControl } from "./device/device-control.js";
import { RecipientHealth } from "./xmpp/recipients.js";
import { endDisallowedSubscriptions, Subscribers } from "./xmpp/subscribers.js";
import { TelemetryRelays } from "./telemetry-relays.js";
import { MqttBridge } from "./mqtt/bridge.js";
import { startHealthServer, type HealthServer } from "./health/server.js";
import { statusSummary } from "./health/summary.js";
import {
  chatSubscriptions,
  lastAccepted,
  openOutbox,
  xmppOptions,
  XMPP_SINK,
} from "./from-config.js";

export type { AgentOptions, AgentStatus } from "./agent-types.js";

/** Long enough for a Pi's SCRAM login on a reachable server; a dead network must not hold readings back. */
const ONLINE_WAIT_MS = 10_000;
/** Confirmations come within a round trip; well inside systemd's 20 s TimeoutStopSec. */
const STOP_WAIT_MS = 5_000;

export class Agent {
  private refused = 0;
  /** XMPP sessions opened: the first, then one per reconnect. */
  private sessions = 0;
  private stopping = false;
  /** The local /metrics and /status endpoint, when `health` is configured. */
  endpoint: HealthServer | undefined;
  /** The system clock this agent started (none when one was given), stopped with the agent. */
  private ownClock: SystemClock | undefined;

  private constructor(
    /** Recent readings, shared with the commands and readouts that report them. */
    private readonly history: RecentHistory,
    private readonly options: AgentOptions,
    readonly link: SerialLink,
    readonly xmpp: XmppConnection,
    private readonly relays: TelemetryRelays,
    private readonly outbox: Outbox,
    private readonly health: RecipientHealth,
    private readonly chat: ChatCommands,
    private readonly alerts: AlertEngine,
    private readonly alertSender: AlertSender,
    /** The built-in device emulator when `device.emulate` is set (demo, tests). */
    readonly emulator: DeviceEmulator | undefined,
    private readonly mqtt: MqttBridge | undefined,
    /** What a configuration reload may change while running. */
    private readonly live: { access: AccessList; subscribers: Subscribers },
    /** Who ran which command; its counts feed the figures. */
    private readonly audit: AuditLog,
  ) {}

  /**
   * Applies a new configuration where that is safe (see config/reload.ts) and says what needs a
   * restart. A bad access list throws and leaves the running one in force.
   */
  reload(next: AgentConfig): ReloadPlan {
    const plan = planReload(this.options.config, next);
    if (plan.apply.includes("access.allow")) {
      this.live.access.replace(next.access.allow);
      void endDisallowedSubscriptions(this.live.subscribers, this.live.access, this.options.log);
    }
    if (plan.apply.includes("telemetry.subscribers")) {
      this.live.subscribers.setConfigured(next.telemetry.subscribers);
    }
    if (plan.apply.includes("log.level")) this.options.log.level = next.log.level;
    this.options.config = configInForce(this.options.config, next, plan);
    return plan;
  }

  static async start(options: AgentOptions): Promise<Agent> {
    const { config, log } = options;
    const now = options.now ?? Date.now;
    const { clock, owned: ownClock } = clockFor(options.clock, {
      mode: config.clock.synchronized,
      log,
    });
    const access = new AccessList(config.access.allow);
    // First: a directory the agent cannot write stops it before anything else has started.
    // The agent does not exist yet; the outbox only fails once readings come, after wire().
    const outbox = await openOutbox(config, log, clock, () => agent.presenceChanged());
    const emulator = config.device.emulate
      ? await DeviceEmulator.start({
          link: config.device.port,
          baud: config.device.baud,
          rateHz: options.emulatorRateHz,
        })
      : undefined;
    const link = new SerialLink({
      path: config.device.port,
      baudRate: config.device.baud,
      commandTimeoutMs: config.device.commandTimeoutSeconds * 1000,
      resumeAfter: lastAccepted(outbox, log),
      now: () => clock.now(),
      timeSynchronized: () => clock.synchronized(),
    });
    const caPem = config.xmpp.tls.caFile
      ? await readFile(config.xmpp.tls.caFile, "utf8")
      : undefined;
    const history = new RecentHistory(HISTORY_READINGS);
    const audit = new AuditLog(log.child({ audit: true }));
    const limiter = new RateLimiter({
      capacity: config.access.rateLimit.commands,
      perMs: config.access.rateLimit.perSeconds * 1000,
      now,
    });
    const xmpp: XmppConnection = new XmppConnection({
      ...xmppOptions(config, options.password, caPem),
      log,
      presence: () => agentPresence(link, outbox.health),
      isAllowed: (jid) => access.roleOf(jid) !== undefined,
      setup: (client) =>
        registerXmppServices(client, {
          adhoc,
          access,
          audit,
          limiter,
          device,
          readings: () => ({
            device: link.device,
            latest: history.latest(),
            between: (from, to, limit) => history.between(from, to, limit),
          }),
          send: (stanza) => xmpp.send(stanza),
          now,
        }),
    });
    const subscribers = new Subscribers(config.telemetry.subscribers, {
      ...(await chatSubscriptions(config, log)),
      // Readings that waited for a subscriber go out at once.
      changed: () => relays.pump(),
    });
    await endDisallowedSubscriptions(subscribers, access, log);
    const send = (stanza: Element) => xmpp.send(stanza);
    const health = new RecipientHealth({ now });
    const device = deviceControl(link, () => history.latest());
    const context = (sender: string, role: Role): CommandContext => ({
      sender,
      role,
      device,
      subscriptions: subscribers,
      figures: () => statusSummary(agent.status(), now()),
      now,
    });
    const mqtt = config.mqtt
      ? new MqttBridge({
          config: config.mqtt,
          password: options.mqttPassword,
          clientId: config.mqtt.clientId ?? `iot-agent-${config.xmpp.username}`.slice(0, 23),
          device,
          audit,
          limiter,
          context,
          log: log.child({ mqtt: config.mqtt.url }),
          now,
          onReady: () => relays.pump(),
        })
      : undefined;
    const relays: TelemetryRelays = new TelemetryRelays({
      config,
      outbox,
      xmpp,
      subscribers,
      health,
      device: () => link.device,
      log,
      now,
      ...(mqtt ? { mqtt } : {}),
    });
    const adhoc = new AdhocCommands({ access, audit, limiter, device, context, now });
    const chat = new ChatCommands({
      send,
      access,
      strangers: config.access.strangers,
      limiter,
      audit,
      context,
      now,
    });
    const agent = new Agent(
      history,
      options,
      link,
      xmpp,
      relays,
      outbox,
      health,
      chat,
      new AlertEngine(config.alerts),
      new AlertSender({ connection: xmpp, access, log }),
      emulator,
      mqtt,
      { access, subscribers },
      audit,
    );
    agent.ownClock = ownClock;
    agent.wire();
    relays.start();
    // The device is read from the start: readings wait in the outbox for a server that may be
    // unreachable at boot (no network yet), so none is refused for want of a connection.
    link.start();
    try {
      await mqtt?.start();
      if (config.health) {
        const { host, port } = config.health;
        agent.endpoint = await startHealthServer(host, port, () => agent.status());
        log.info({ url: agent.endpoint.url }, "health endpoint listening");
      }
      await agent.untilOnline(xmpp.start());
    } catch (error) {
      await agent.stop();
      throw error;
    }
    return agent;
  }

  /**
   * Resolves at the first online, or when the wait is over (the connection goes on retrying);
   * rejects on a failure retrying cannot cure. One that comes later goes to `onFatal`.
   */
  private async untilOnline(started: Promise<void>): Promise<void> {
    const { log, onlineWaitMs = ONLINE_WAIT_MS } = this.options;
    const online = () => log.info({ jid: this.xmpp.jid }, "agent online");
    if (await settlesWithin(started, onlineWaitMs)) return online();
    log.warn(
      { waitedMs: onlineWaitMs },
      "XMPP server not reachable yet; readings wait in the outbox while the agent keeps trying",
    );
    started.then(
      online,
      // stop() ends the attempt too: asked for, so neither fatal nor worth an error.
      (error: Error) => (this.stopping ? undefined : this.fatal(error)),
    );
  }

  private fatal(error: Error): void {
    const { log, onFatal } = this.options;
    log.error({ err: error }, `XMPP stopped: ${error.message}`);
    onFatal?.(error);
  }

  status(): AgentStatus {
    return {
      xmpp: {
        online: this.xmpp.online,
        jid: this.xmpp.jid,
        sessions: this.sessions,
        serverAcks: this.xmpp.serverAcks,
      },
      device: { state: this.link.state, id: this.link.device?.id, boot: this.link.device?.boot },
      lastReading: this.history.latest(),
      link: this.link.stats,
      sinks: this.relays.status(),
      outbox: {
        pending: this.outbox.sink(XMPP_SINK).pending,
        dropped: this.outbox.sink(XMPP_SINK).dropped,
        bytes: this.outbox.stats.bytes,
        refused: this.refused,
        records: this.outbox.stats.records,
        fsyncs: this.outbox.stats.fsyncs,
        ...this.outbox.health,
      },
      commands: this.audit.counts(),
    };
  }

  /**
   * Unavailable presence first, so watchers see the agent leave (the server confirms what was
   * sent before it), then the device side, then the outbox with its cursors.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.relays.stop();
    await this.endpoint?.close();
    await this.xmpp.stop();
    await this.mqtt?.stop();
    await this.link.stop();
    await this.emulator?.stop();
    await this.settleTelemetry();
    await this.outbox.close();
    this.ownClock?.stop();
  }

  /**
   * Waits a while for the last confirmations, then gives up on them: a peer that never answers
   * (an MQTT broker frozen with the connection open) must not keep the outbox from saving its
   * cursors before systemd's TimeoutStopSec kills the agent. What was given up on is not acked,
   * so it is sent again at the next start.
   */
  private async settleTelemetry(): Promise<void> {
    if (await settlesWithin(this.relays.idle(), STOP_WAIT_MS)) return;
    const readings = this.relays.abandon();
    this.options.log.warn(
      { waitedMs: STOP_WAIT_MS, readings },
      `${readings} readings not confirmed at stop; they are sent again at the next start`,
    );
  }

  private wire(): void {
    const { log } = this.options;
    this.link.on("reading", (reading) => {
      this.history.add(reading);
      this.accept(reading);
      for (const event of this.alerts.observe(reading)) this.alertSender.raise(event);
    });
    logLinkEvents(this.link, log);
    this.link.on("hello", () => this.mqtt?.deviceChanged());
    this.link.on("state", () => this.presenceChanged());
    this.xmpp.on("stanza", (stanza) => void this.onStanza(stanza));
    this.xmpp.on("online", () => {
      this.sessions += 1;
      this.relays.pump();
      this.alertSender.flush();
    });
    this.xmpp.on("subscription", (d) =>
      log.info({ from: d.from }, `presence subscription: ${d.kind}`),
    );
    this.xmpp.on("error", (e) => this.fatal(e));
  }

  private presenceChanged(): void {
    const { log } = this.options;
    this.xmpp.updatePresence().catch((e: Error) => log.debug(`presence not sent: ${e.message}`));
  }

  /** A reading counts as accepted once it is durable in the outbox; only then is it relayed. */
  private accept(reading: Reading): void {
    const { log } = this.options;
    this.outbox.append(reading).then(
      (entry: OutboxEntry) => {
        log.debug(
          { device: reading.device, boot: reading.boot, seq: reading.seq, entry: entry.seq },
          "reading accepted",
        );
        this.relays.offer(entry);
      },
      (error: Error) => {
        this.refused += 1;
        // While failing, the outbox logs its state once and counts what it refuses; a line per
        // reading would fill the journal of a board whose disk is already in trouble.
        const failing = this.outbox.health.state === "failing";
        log[failing ? "debug" : "error"](
          { err: error, device: reading.device, boot: reading.boot, seq: reading.seq },
          `reading not stored, so not accepted: ${error.message}`,
        );
      },
    );
  }

  private async onStanza(stanza: Element): Promise<void> {
    const { log } = this.options;
    try {
      if (!stanza.is("message")) return;
      const message = classifyInbound(stanza);
      switch (message.kind) {
        case "chat":
        case "oversized": {
          // Whoever writes to us is reachable again: resume telemetry to them if it was paused.
          const from = bareJid(message.from);
          if (from) this.health.recovered(from);
          return await this.chat.handle(message, stanza);
        }
        case "error": {
          const from = bareJid(message.from);
          if (from) this.relays.messages.bounced(from, message.condition, message.id);
          return;
        }
        case "receipt":
          return log.debug({ from: message.from, id: message.id }, "receipt");
        case "ignored":
          return log.debug({ reason: message.reason }, "message ignored");
      }
    } catch (error) {
      log.error({ err: error }, "failed to handle an incoming stanza");
    }
  }
}

/** Readings kept in memory for XEP-0323 historical readouts (about 300 KiB). */
const HISTORY_READINGS = 1000;
