/**
 * The composition root: the one place where the serial link, the core (access list, commands,
 * alerts, delivery policy) and the XMPP adapter are built and wired. Everything else receives what
 * it needs as arguments, so each part can be tested alone.
 */
import { readFile } from "node:fs/promises";
import type { Element } from "@xmpp/xml";
import { DeviceEmulator } from "../firmware-bridge/emulator/index.js";
import type { AgentConfig } from "./config/schema.js";
import { AccessList } from "./core/access.js";
import { AlertEngine, type AlertEvent } from "./core/alerts.js";
import { AuditLog } from "./core/audit.js";
import type { CommandContext, DeviceControl } from "./core/commands.js";
import { DeliveryFilter } from "./core/delivery-policy.js";
import { bareJid } from "./core/jid.js";
import type { Logger } from "./core/logger.js";
import { RateLimiter } from "./core/rate-limit.js";
import type { Reading } from "./core/reading.js";
import { logLinkEvents } from "./device/link-logging.js";
import { SerialLink } from "./device/serial-link.js";
import { devicePresence } from "./presence.js";
import { ChatCommands } from "./xmpp/chat-commands.js";
import { XmppConnection } from "./xmpp/connection.js";
import { classifyInbound } from "./xmpp/inbound.js";
import { RecipientHealth } from "./xmpp/recipients.js";
import { chatReply, withReceiptRequest } from "./xmpp/stanzas.js";
import { Subscribers } from "./xmpp/subscribers.js";
import { XmppTelemetry } from "./xmpp/telemetry.js";

export interface AgentOptions {
  config: AgentConfig;
  password: string;
  log: Logger;
  now?: () => number;
  /** Readings per second of the built-in emulator (`device.emulate`); its default otherwise. */
  emulatorRateHz?: number;
}

export interface AgentStatus {
  xmpp: { online: boolean; jid: string | undefined };
  device: { state: string; id: string | undefined; boot: string | undefined };
  lastReading: Reading | undefined;
  link: SerialLink["stats"];
  telemetry: XmppTelemetry["stats"];
}

export class Agent {
  private alertCounter = 0;
  /** Alerts raised while XMPP was down; they are sent once per crossing, so they must wait. */
  private readonly pendingAlerts: Element[] = [];

  private constructor(
    /** The last accepted reading, shared with the commands that report it. */
    private readonly seen: { latest?: Reading },
    private readonly options: AgentOptions,
    readonly link: SerialLink,
    readonly xmpp: XmppConnection,
    private readonly telemetry: XmppTelemetry,
    private readonly health: RecipientHealth,
    private readonly chat: ChatCommands,
    private readonly access: AccessList,
    private readonly alerts: AlertEngine,
    /** The built-in device emulator when `device.emulate` is set (demo, tests). */
    readonly emulator: DeviceEmulator | undefined,
  ) {}

  static async start(options: AgentOptions): Promise<Agent> {
    const { config, log } = options;
    const now = options.now ?? Date.now;
    const access = new AccessList(config.access.allow);
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
    });
    const caPem = config.xmpp.tls.caFile
      ? await readFile(config.xmpp.tls.caFile, "utf8")
      : undefined;
    const xmpp = new XmppConnection({
      service: config.xmpp.service,
      domain: config.xmpp.domain,
      username: config.xmpp.username,
      password: options.password,
      resource: config.xmpp.resource,
      ...(caPem === undefined ? {} : { caPem }),
      allowPlaintext: config.xmpp.tls.allowPlaintext,
      reconnect: {
        initialMs: config.xmpp.reconnect.initialSeconds * 1000,
        maxMs: config.xmpp.reconnect.maxSeconds * 1000,
      },
      log,
      presence: () => devicePresence(link),
      isAllowed: (jid) => access.roleOf(jid) !== undefined,
    });
    const subscribers = new Subscribers(config.telemetry.subscribers);
    const send = (stanza: Element) => xmpp.send(stanza);
    const health = new RecipientHealth({ now });
    const telemetry = new XmppTelemetry({
      send,
      subscribers,
      filter: new DeliveryFilter({
        policies: config.telemetry.sensors,
        fallback: config.telemetry.default,
      }),
      health,
      batch: {
        maxReadings: config.telemetry.batch.maxReadings,
        maxDelayMs: config.telemetry.batch.maxDelaySeconds * 1000,
      },
      device: () => link.device,
      log,
    });
    const seen: { latest?: Reading } = {};
    const device: DeviceControl = {
      get state() {
        return link.state;
      },
      get description() {
        return link.device;
      },
      latest: () => seen.latest,
      setActuator: (name, value) => link.setActuator(name, value),
      requestHello: () => link.requestHello(),
    };
    const chat = new ChatCommands({
      send,
      access,
      strangers: config.access.strangers,
      limiter: new RateLimiter({
        capacity: config.access.rateLimit.commands,
        perMs: config.access.rateLimit.perSeconds * 1000,
        now,
      }),
      audit: new AuditLog(log.child({ audit: true })),
      context: (sender, role): CommandContext => ({
        sender,
        role,
        device,
        subscriptions: subscribers,
        now,
      }),
      now,
    });
    const agent = new Agent(
      seen,
      options,
      link,
      xmpp,
      telemetry,
      health,
      chat,
      access,
      new AlertEngine(config.alerts),
      emulator,
    );
    agent.wire();
    await xmpp.start();
    link.start();
    return agent;
  }

  status(): AgentStatus {
    return {
      xmpp: { online: this.xmpp.online, jid: this.xmpp.jid },
      device: { state: this.link.state, id: this.link.device?.id, boot: this.link.device?.boot },
      lastReading: this.seen.latest,
      link: this.link.stats,
      telemetry: this.telemetry.stats,
    };
  }

  /** Unavailable presence first, so watchers see the agent leave, then the device side. */
  async stop(): Promise<void> {
    await this.xmpp.stop();
    await this.link.stop();
    await this.emulator?.stop();
  }

  private wire(): void {
    const { log } = this.options;
    this.link.on("reading", (reading) => {
      this.seen.latest = reading;
      this.telemetry.offer(reading);
      for (const event of this.alerts.observe(reading)) this.sendAlert(event);
    });
    logLinkEvents(this.link, log);
    this.link.on("state", () => {
      this.xmpp.updatePresence().catch((e: Error) => log.debug(`presence not sent: ${e.message}`));
    });
    this.xmpp.on("stanza", (stanza) => void this.onStanza(stanza));
    this.xmpp.on("online", () => this.flushAlerts());
    this.xmpp.on("subscription", (d) =>
      log.info({ from: d.from }, `presence subscription: ${d.kind}`),
    );
    this.xmpp.on("error", (e) => log.error({ err: e }, `XMPP stopped: ${e.message}`));
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
          if (from) this.telemetry.bounced(from, message.condition);
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

  /** Alerts go to operators and admins, with a XEP-0184 receipt request. */
  private sendAlert(event: AlertEvent): void {
    this.options.log.warn({ alert: event.rule, type: event.type, value: event.value }, event.text);
    for (const jid of this.access.withRole("operator")) {
      const id = `alert-${++this.alertCounter}`;
      this.pendingAlerts.push(withReceiptRequest(chatReply({ to: jid, id, body: event.text })));
    }
    // Bounded: a flapping sensor during a long outage keeps the newest alerts.
    this.pendingAlerts.splice(0, Math.max(0, this.pendingAlerts.length - 100));
    if (this.xmpp.online) this.flushAlerts();
  }

  private flushAlerts(): void {
    for (const stanza of this.pendingAlerts.splice(0)) {
      this.xmpp.send(stanza).catch((e: Error) => {
        this.options.log.warn({ to: stanza.attrs.to as string }, `alert not sent: ${e.message}`);
      });
    }
  }
}
