/**
 * One long-lived XMPP session for the agent. It owns reconnecting (xmpp.js's own module retries
 * every second forever): every loss — server restart, network drop, stream error — leads to a new
 * attempt after an exponential, fully jittered delay, so a fleet does not stampede a server that
 * just came back. Configuration errors (bad credentials, untrusted certificate, no TLS) are not
 * retried: they will not fix themselves and retrying bad passwords can lock the account.
 *
 * Each attempt uses a fresh xmpp.js client, so no half-negotiated state survives a failure. The
 * price is that stream-management sessions are not resumed: stanzas the server had not
 * acknowledged when a stream died are reported as `sm-failed`, for the outbox to send again.
 */
import { EventEmitter } from "node:events";
import { createBackoff, type Backoff } from "../core/backoff.js";
import type { Logger } from "../core/logger.js";
import { AuthenticationError, closeClient, createXmppClient } from "./client.js";
import { startClient } from "./client.js";
import { describeFailure, fatalError, xml } from "./client.js";
import type { Element, XmppClient } from "./client.js";
import { AckTracker, UnconfirmedStanzaError } from "./acks.js";
import { IqRequests } from "./iq-requests.js";
import { noDelay } from "../core/no-delay.js";
import { settlesWithin } from "../core/within.js";
import { startKeepalive } from "./keepalive.js";
import { handleSubscription, presenceStanza } from "./roster.js";
import type { Presence, SubscriptionAudit } from "./roster.js";
import { TlsCertificateError, TlsRequiredError } from "./tls.js";

const SM_NS = "urn:xmpp:sm:3";
/** How long a new session may take to send <enable/>; a server without XEP-0198 costs this once. */
const SM_ENABLE_WAIT_MS = 1_000;
const ACK_REQUEST_MS = 50;
/** How long a clean stop waits for the server to confirm the goodbye (and all before it). */
const GOODBYE_ACK_MS = 2_000;

export { AuthenticationError, TlsCertificateError, TlsRequiredError, UnconfirmedStanzaError };
export type { Presence, SubscriptionAudit };

export interface XmppConnectionOptions {
  service: string;
  domain: string;
  username: string;
  password: string;
  resource: string;
  caPem?: string;
  allowPlaintext?: boolean;
  /** Delays are uniform in [0, min(maxMs, initialMs·2^n)] ("full jitter"). */
  reconnect: { initialMs: number; maxMs: number };
  log: Logger;
  presence: () => Presence;
  /** Whose presence subscriptions to approve; everyone else is refused. Default: nobody. */
  isAllowed?: (bareJid: string) => boolean;
  /** One attempt (TCP, TLS, SASL, bind) must reach online within this, ms. Default 30 s. */
  attemptTimeoutMs?: number;
  /** Called with each new client before it connects, e.g. to register IQ handlers. */
  setup?: (client: XmppClient) => void;
  /** XEP-0199 pings to the server while online; a missed answer ends the session. */
  keepalive?: { intervalMs: number; timeoutMs: number };
}

// A type alias, not an interface: EventEmitter<T> needs T to be assignable to Record<keyof T, ...>.
export type XmppConnectionEvents = {
  online: [jid: string];
  offline: [reason: string];
  stanza: [Element];
  /**
   * A fatal error after start() resolved (e.g. the password was changed): the connection has
   * stopped retrying. Emitted only if someone listens (an unheard `error` would crash the
   * process); it is always logged.
   */
  error: [Error];
  /** The server confirmed it handled this stanza (XEP-0198). */
  acked: [Element];
  /** The stream ended before the server confirmed this stanza: it may not have arrived. */
  "sm-failed": [Element];
  subscription: [SubscriptionAudit];
};

/** One connection attempt and, if it succeeds, the session it carries. */
interface Attempt {
  client: XmppClient;
  /** sendAcked() stanzas the server has not confirmed yet. */
  acks: AckTracker;
  /** IQ requests waiting for their answer; failed when the session is discarded. */
  iqs: IqRequests;
  /** Answers to them from someone other than the entity asked, ignored. */
  wrongSender: number;
  /** A pending `<r/>`, see #requestAck. */
  ackRequest?: NodeJS.Timeout;
  stopKeepalive?: () => void;
  /** Why the agent itself ended the session (unanswered ping), which outranks later errors. */
  closedBecause?: string;
  /** The server answered <enable/> with <failed/>: no acks in this session. */
  smRefused: boolean;
  /** It reached online, so there is a session to close and stream-management state to flush. */
  session: boolean;
  lastError?: Error;
  unwire: () => void;
}

export class XmppConnection extends EventEmitter<XmppConnectionEvents> {
  readonly #options: XmppConnectionOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #attempt: Attempt | undefined;
  #online = false;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #smRefusalWarned = false;
  /** The pending start(), until the first online or a fatal error. */
  #started: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(options: XmppConnectionOptions) {
    super();
    if (!/^xmpps?:\/\//.test(options.service)) {
      throw new TypeError(`XMPP service must be xmpp://host:port or xmpps://host:port`);
    }
    this.#options = options;
    // Only non-secret fields go into the child logger's bindings.
    this.#log = options.log.child({ xmpp: `${options.username}@${options.domain}` });
    // createBackoff spreads each delay over base·[1-j, 1+j]; with j=1 and halved bounds that is
    // uniform in [0, min(maxMs, initialMs·2^n)].
    const { initialMs, maxMs } = options.reconnect;
    this.#backoff = createBackoff({ initialMs: initialMs / 2, maxMs: maxMs / 2, jitter: 1 });
  }

  get online(): boolean {
    return this.#online;
  }

  /** Full JID of the current session, while online. */
  get jid(): string | undefined {
    return this.#online ? this.#attempt?.client.entity.jid?.toString() : undefined;
  }

  /**
   * Whether the server confirms stanzas (XEP-0198) in this session; false when it offers no
   * stream management or refused it: readings then leave the outbox once written. Undefined
   * while offline.
   */
  get serverAcks(): boolean | undefined {
    const attempt = this.#online ? this.#attempt : undefined;
    if (!attempt) return undefined;
    const sm = attempt.client.streamManagement;
    return !attempt.smRefused && (sm.enabled || sm.enableSent);
  }

  /**
   * Connects, retrying transient failures with backoff. Resolves at the first online; rejects
   * with AuthenticationError, TlsCertificateError or TlsRequiredError, or if stop() comes first.
   */
  start(): Promise<void> {
    if (this.#running) return Promise.reject(new Error("XmppConnection already started"));
    this.#running = true;
    this.#backoff.reset();
    return new Promise((resolve, reject) => {
      this.#started = { resolve, reject };
      this.#connect().catch((err: unknown) => this.#giveUp(err));
    });
  }

  /** Says goodbye (unavailable presence), closes the stream; resolves once closed. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    const attempt = this.#attempt;
    const wasOnline = this.#online;
    this.#attempt = undefined;
    this.#online = false;
    this.#settle(new Error("XmppConnection stopped before it came online"));
    if (!attempt) return;
    if (wasOnline) await this.#sayGoodbye(attempt);
    if (wasOnline) this.emit("offline", "stopped");
    await discard(attempt);
    this.#log.info("xmpp stopped");
  }

  /**
   * Unavailable presence, then a short wait for the server to ack it: after a clean stop the
   * stanzas sent just before are reported `acked`, not `sm-failed` (which would mean resending).
   */
  async #sayGoodbye(attempt: Attempt): Promise<void> {
    const goodbye = xml("presence", { type: "unavailable" });
    // Without stream management there is no ack to wait for. A goodbye the stream drops is
    // reported by the closing session (sm-failed); here it only ends the wait.
    const acked = attempt.client.streamManagement.enabled
      ? attempt.acks.track(goodbye).catch(() => undefined)
      : Promise.resolve();
    try {
      await attempt.client.entity.send(goodbye);
      await settlesWithin(acked, GOODBYE_ACK_MS);
    } catch (err) {
      this.#log.warn({ reason: describeFailure(err) }, "xmpp goodbye failed");
    }
  }

  async send(stanza: Element): Promise<void> {
    const attempt = this.#online ? this.#attempt : undefined;
    if (!attempt) throw new Error("XMPP connection is not online");
    await attempt.client.entity.send(stanza);
  }

  /**
   * Sends, and resolves once the server confirmed it handled the stanza (XEP-0198 `<a h=…/>`):
   * the point from which the server, not the agent, is responsible for it. Rejects with
   * UnconfirmedStanzaError when the stream ends first. A server without stream management gives
   * no confirmation; then the completed write is all there is, and the session start says so.
   */
  sendAcked(stanza: Element): Promise<void> {
    const attempt = this.#online ? this.#attempt : undefined;
    if (!attempt) return Promise.reject(new UnconfirmedStanzaError("not online"));
    const sm = attempt.client.streamManagement;
    const acks = !attempt.smRefused && (sm.enabled || sm.enableSent);
    if (!acks) return attempt.client.entity.send(stanza);
    const confirmed = attempt.acks.track(stanza);
    attempt.client.entity.send(stanza).then(
      () => this.#requestAck(attempt),
      (err: unknown) => attempt.acks.failed(stanza, describeFailure(err)),
    );
    return confirmed;
  }

  /**
   * Sends an IQ get or set and resolves with the result stanza from the entity it is addressed
   * to; rejects with IqErrorReply for its error reply, with IqRequestError on timeout, with
   * UnconfirmedStanzaError when offline or when the session closes first.
   */
  async request(iq: Element, timeoutMs = 30_000): Promise<Element> {
    const attempt = this.#online ? this.#attempt : undefined;
    if (!attempt) throw new UnconfirmedStanzaError("not online");
    return attempt.iqs.request(iq, (s) => attempt.client.entity.send(s), timeoutMs);
  }

  /**
   * Asks for an `<a/>` within ACK_REQUEST_MS of a stanza. xmpp.js asks only once the stream has
   * been quiet for 250 ms, which a steady flow of readings never is.
   */
  #requestAck(attempt: Attempt): void {
    if (attempt.ackRequest !== undefined) return;
    attempt.ackRequest = setTimeout(() => {
      attempt.ackRequest = undefined;
      if (this.#attempt !== attempt || !this.#online || attempt.smRefused) return;
      // An <r/> before the server's <enabled/> is a stream error for a server that refuses it.
      if (!attempt.client.streamManagement.enabled) return this.#requestAck(attempt);
      attempt.client.entity.send(xml("r", { xmlns: SM_NS })).catch((err: unknown) => {
        this.#log.debug({ reason: describeFailure(err) }, "xmpp ack request not sent");
      });
    }, ACK_REQUEST_MS);
  }

  /**
   * Re-sends presence with the current status (e.g. after a device state change). Offline it
   * does nothing: every (re)connect sends the then-current presence anyway.
   */
  async updatePresence(): Promise<void> {
    if (this.#online) await this.send(presenceStanza(this.#options.presence()));
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    const attempt = this.#newAttempt();
    this.#attempt = attempt;
    this.#log.info({ service: this.#options.service }, "xmpp connecting");
    try {
      const timeoutMs = this.#options.attemptTimeoutMs ?? 30_000;
      await startClient(attempt.client, timeoutMs, () => attempt.lastError);
    } catch (err) {
      if (this.#attempt !== attempt) return; // stop() got there first and discards it
      this.#attempt = undefined;
      void discard(attempt);
      this.#failed(err);
      return;
    }
    if (this.#attempt === attempt) await this.#becameOnline(attempt);
  }

  #newAttempt(): Attempt {
    // The client reads only its own fields (service, domain, credentials, caPem, allowPlaintext).
    const client = createXmppClient(this.#options);
    this.#options.setup?.(client);
    const attempt: Attempt = {
      client,
      acks: new AckTracker(),
      smRefused: false,
      iqs: new IqRequests(`${this.#options.username}@${this.#options.domain}`),
      wrongSender: 0,
      session: false,
      unwire: () => undefined,
    };
    attempt.unwire = this.#wire(attempt);
    return attempt;
  }

  /** Subscribes to the client's events; returns the unsubscribe (the error sink stays). */
  #wire(attempt: Attempt): () => void {
    const { entity, streamManagement } = attempt.client;
    entity.on("error", (err: Error) => {
      attempt.lastError = err;
      this.#log.debug({ reason: describeFailure(err) }, "xmpp client error");
    });
    const onStanza = (stanza: Element) => this.#onStanza(attempt, stanza);
    const onDisconnect = () => this.#lost(attempt);
    const onNonza = (nonza: Element) => {
      if (nonza.is("failed", SM_NS)) this.#smRefused(attempt);
    };
    entity.on("stanza", onStanza);
    entity.on("nonza", onNonza);
    entity.on("disconnect", onDisconnect);
    streamManagement.on("ack", (stanza) => {
      attempt.acks.confirmed(stanza);
      this.emit("acked", stanza);
    });
    streamManagement.on("fail", (stanza) => {
      attempt.acks.failed(stanza, "the stream ended");
      this.emit("sm-failed", stanza);
    });
    return () => {
      entity.off("stanza", onStanza);
      entity.off("nonza", onNonza);
      entity.off("disconnect", onDisconnect);
    };
  }

  async #becameOnline(attempt: Attempt): Promise<void> {
    const { entity } = attempt.client;
    const jid = entity.jid?.toString() ?? "";
    // xmpp.js resolves start() after resource binding, a moment before it sends <enable/>; a
    // stanza sent in between would be confirmed by its write instead of by the server.
    const confirmed = await streamManagementStarted(attempt.client, SM_ENABLE_WAIT_MS);
    if (this.#attempt !== attempt) return; // stop() got there first
    if (entity.status !== "online") {
      // Lost while waiting: not online yet, so #lost() ignored it; retry from here.
      this.#attempt = undefined;
      void discard(attempt);
      return this.#failed(attempt.lastError ?? new Error("connection closed while starting"));
    }
    this.#online = true;
    attempt.session = true;
    noDelay(entity.socket);
    this.#backoff.reset();
    attempt.lastError = undefined;
    if (!entity.isSecure()) {
      this.#log.warn(
        { server: this.#options.domain },
        "XMPP STREAM IS NOT ENCRYPTED: all traffic can be read and altered on the network " +
          "(allowPlaintext is on; never use it outside a test network)",
      );
    }
    this.#log.info({ jid, secure: entity.isSecure(), streamManagement: confirmed }, "xmpp online");
    this.#startKeepalive(attempt);
    if (!confirmed) {
      this.#log.warn(
        "the server offers no stream management (XEP-0198): readings leave the outbox once " +
          "written to the connection, and those in transit when it drops can be lost",
      );
    }
    await this.updatePresence().catch((err: unknown) => {
      this.#log.warn({ reason: describeFailure(err) }, "xmpp initial presence failed");
    });
    if (this.#attempt !== attempt) return; // lost or stopped meanwhile: no stale `online`
    this.#settle();
    this.emit("online", jid);
  }

  #startKeepalive(attempt: Attempt): void {
    const keepalive = this.#options.keepalive;
    if (!keepalive) return;
    const client = attempt.client;
    const ping = (iq: Element, ms: number) =>
      attempt.iqs.request(iq, (s) => client.entity.send(s), ms);
    attempt.stopKeepalive = startKeepalive(ping, {
      domain: this.#options.domain,
      ...keepalive,
      onDead: (reason) => {
        if (this.#attempt !== attempt) return;
        this.#log.warn({ reason }, "xmpp server stopped answering; closing the session");
        attempt.closedBecause = reason;
        attempt.client.entity.disconnect().catch(() => undefined);
      },
    });
  }

  #lost(attempt: Attempt): void {
    if (this.#attempt !== attempt || !this.#online) return; // not a live session (or stopping)
    this.#attempt = undefined;
    this.#online = false;
    const reason =
      attempt.closedBecause ??
      (attempt.lastError ? describeFailure(attempt.lastError) : "connection closed");
    this.#log.warn({ reason }, "xmpp connection lost");
    this.emit("offline", reason);
    this.#scheduleRetry(reason);
    void discard(attempt);
  }

  #failed(err: unknown): void {
    const fatal = fatalError(err, this.#options.domain);
    if (fatal) this.#giveUp(fatal);
    else this.#scheduleRetry(describeFailure(err));
  }

  /** Stops retrying: for failures that would recur (or bugs: #connect is not meant to throw). */
  #giveUp(err: unknown): void {
    const fatal = err instanceof Error ? err : new Error(describeFailure(err));
    this.#running = false;
    this.#log.error({ error: fatal.name, reason: fatal.message }, "xmpp giving up");
    if (this.#started) this.#settle(fatal);
    else if (this.listenerCount("error") > 0) this.emit("error", fatal);
  }

  #scheduleRetry(reason: string): void {
    if (!this.#running) return;
    const delayMs = this.#backoff.next();
    const attempt = this.#backoff.attempts;
    this.#log.info({ attempt, delayMs, reason }, "xmpp reconnecting after delay");
    this.#timer = setTimeout(() => {
      this.#connect().catch((err: unknown) => this.#giveUp(err));
    }, delayMs);
  }

  #onStanza(attempt: Attempt, stanza: Element): void {
    if (attempt.iqs.route(stanza) === "wrong sender") this.#wrongSender(attempt, stanza);
    const decision = handleSubscription(stanza, this.#options.isAllowed ?? (() => false));
    if (decision.kind !== "ignore") void this.#answerSubscription(decision);
    this.emit("stanza", stanza);
  }

  async #answerSubscription(decision: SubscriptionAudit): Promise<void> {
    const level = decision.kind === "approve" ? "info" : "warn";
    this.#log[level]({ from: decision.from, decision: decision.kind }, "xmpp subscription request");
    this.emit("subscription", decision);
    for (const reply of decision.replies) {
      await this.send(reply).catch((err: unknown) => {
        this.#log.warn({ reason: describeFailure(err) }, "xmpp subscription reply failed");
      });
    }
  }

  /**
   * <failed/> to <enable/> (the agent never resumes, so it answers nothing else): what was sent
   * since waits for acks that will not come. It fails, for the outbox to send it again, and from
   * here on a stanza is done when written, as with a server without stream management.
   */
  #smRefused(attempt: Attempt): void {
    if (attempt.smRefused) return;
    attempt.smRefused = true;
    attempt.acks.failAll("the server refused stream management");
    if (this.#smRefusalWarned) return;
    this.#smRefusalWarned = true;
    this.#log.warn(
      "the server refused stream management (XEP-0198 <failed/> to <enable/>): readings leave " +
        "the outbox once written to the connection, and those in transit when it drops can be lost",
    );
  }

  /** A reply to a pending IQ from someone not asked: a forgery or a confused peer. */
  #wrongSender(attempt: Attempt, stanza: Element): void {
    const count = ++attempt.wrongSender;
    // The 1st, 10th, 100th…: a flood of them costs a handful of lines, each with the count.
    if (!/^10*$/.test(String(count))) return;
    this.#log.warn(
      { from: String(stanza.attrs.from ?? ""), count },
      "ignored an IQ answer from an entity the request was not sent to",
    );
  }

  /** Resolves (no error) or rejects the pending start(), once. */
  #settle(err?: Error): void {
    const started = this.#started;
    this.#started = undefined;
    if (err) started?.reject(err);
    else started?.resolve();
  }
}

/** Unsubscribes from the attempt's client and closes it (flushing SM failures to us first). */
async function discard(attempt: Attempt): Promise<void> {
  attempt.iqs.failAll(new UnconfirmedStanzaError("the session was closed"));
  attempt.unwire();
  clearTimeout(attempt.ackRequest);
  attempt.stopKeepalive?.();
  await closeClient(attempt.client, attempt.session);
  // Whatever the client did not report (a close that failed half-way) is unconfirmed too.
  attempt.acks.failAll("the session was closed");
}

/** Whether stream management is (being) enabled, waiting up to `timeoutMs` for <enable/>. */
async function streamManagementStarted(client: XmppClient, timeoutMs: number): Promise<boolean> {
  const sm = client.streamManagement;
  const deadline = Date.now() + timeoutMs;
  while (!sm.enabled && !sm.enableSent && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return sm.enabled || sm.enableSent;
}
