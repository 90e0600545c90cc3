/**
 * The xmpp.js client, assembled from its packages the way @xmpp/client/index.js does, minus what
 * an unattended device must not have and plus what it needs:
 * - TLS with an optional private CA, for STARTTLS and direct TLS (see ./tls.ts);
 * - TLS required before authenticating, unless `allowPlaintext`;
 * - SASL: SCRAM-SHA-1, then PLAIN (PLAIN only on an encrypted stream unless `allowPlaintext`);
 *   no ANONYMOUS, no SASL2/FAST (Prosody 0.12 offers neither); SCRAM's PBKDF2 is Node's native
 *   one (./scram.ts);
 * - no @xmpp/reconnect (fixed 1 s retries, no backoff): XmppConnection owns reconnecting.
 * Stream management, iq caller/callee (with XEP-0199 ping) and resource binding are kept; the
 * caller only binds the resource: the agent's own requests go through ./iq-requests.ts, which
 * checks who answers.
 */
import { Client, jid, xml } from "@xmpp/client-core";
import iqCallee from "@xmpp/iq/callee.js";
import iqCaller from "@xmpp/iq/caller.js";
import middleware from "@xmpp/middleware";
import resourceBinding from "@xmpp/resource-binding";
import sasl, { type CredentialsObj } from "@xmpp/sasl";
import streamFeatures from "@xmpp/stream-features";
import streamManagement from "@xmpp/stream-management";
import type { Element } from "@xmpp/xml";
import SASLFactory from "saslmechanisms";
// @ts-expect-error -- no types published; typed as `Plugin` below.
import tcpPlugin from "@xmpp/tcp";
// @ts-expect-error -- no types published; typed as `Plugin` below.
import tlsPlugin from "@xmpp/tls";
import { useIqDepthLimit } from "./iq-depth.js";
import { utf8Plain } from "./sasl-plain.js";
import { nativeScramSha1 } from "./scram.js";
import { TlsCertificateError, TlsRequiredError, asCertificateError, tlsOptions } from "./tls.js";
import { useDirectTlsOptions, useStartTls, useTlsRequired } from "./tls.js";

export { xml, jid };
export type { Element };

/** A transport plugin pushes its connection class onto `entity.transports`. */
type Plugin = (deps: { entity: Client }) => void;
// Casts from the untyped default exports above; their shapes are the two lines each in
// node_modules/@xmpp/{tcp,tls}/index.js.
const tcp = tcpPlugin as Plugin;
const tls = tlsPlugin as Plugin;

export interface XmppClientOptions {
  /** `xmpp://host:port` (STARTTLS) or `xmpps://host:port` (direct TLS). */
  service: string;
  /** The XMPP domain: stream `to`, SASL realm and the name the certificate must carry. */
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /** PEM of an extra CA to trust besides Node's default roots. */
  caPem?: string;
  /** Authenticate even when the stream is not encrypted. Test networks only. */
  allowPlaintext?: boolean;
  /** Per-step timeout of xmpp.js (stream open, close, iq), ms. */
  timeoutMs?: number;
}

/** What stream management (XEP-0198) reports about each stanza we sent. */
export interface StreamManagementEvents {
  on(event: "ack" | "fail", listener: (stanza: Element) => void): unknown;
  off(event: "ack" | "fail", listener: (stanza: Element) => void): unknown;
  removeAllListeners(): unknown;
  /** The server accepted <enable/>: stanzas sent from now on will be acked or failed. */
  readonly enabled: boolean;
  /** <enable/> went out: stanzas sent from now on are queued for an ack (or a failure). */
  readonly enableSent: boolean;
}

export interface XmppClient {
  /** The xmpp.js entity: start/stop, send, `stanza`/`online`/`error`/`status` events. */
  entity: Client;
  streamManagement: StreamManagementEvents;
  iqCaller: ReturnType<typeof iqCaller<Client>>;
  iqCallee: ReturnType<typeof iqCallee<Client>>;
}

/** The server refused our credentials, or no mechanism we allow could be used. Not retried. */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
  constructor(
    readonly server: string,
    readonly condition: string,
    text?: string,
  ) {
    super(`XMPP server ${server} refused authentication (${condition})${text ? `: ${text}` : ""}`);
  }
}

export function createXmppClient(options: XmppClientOptions): XmppClient {
  const { service, domain, username, resource } = options;
  // Credentials stay in the SASL closure: entity.options is never given the password, so any
  // code that logs or inspects the entity cannot leak it.
  const entity = new Client({ service, domain, timeout: options.timeoutMs ?? 5_000 });
  entity.jid = jid(username, domain);
  const secure = tlsOptions(domain, options.caPem);
  tcp({ entity });
  tls({ entity });
  useDirectTlsOptions(entity, secure);

  const mw = middleware({ entity });
  const features = streamFeatures({ middleware: mw });
  useIqDepthLimit(mw);
  const caller = iqCaller({ middleware: mw, entity });
  const callee = iqCallee({ middleware: mw, entity });

  // Stream features: order of registration is order of priority.
  useStartTls(features, { ...secure, servername: domain });
  useTlsRequired(mw, domain, options.allowPlaintext === true);
  useSasl(features, options);
  const sm = streamManagement({ streamFeatures: features, entity, middleware: mw });
  resourceBinding({ streamFeatures: features, iqCaller: caller }, resource);

  callee.get("urn:xmpp:ping", "ping", () => ({}));
  // The runtime object is an EventEmitter with `ack`/`fail` events (stream-management/index.js);
  // @types/xmpp__stream-management only declares its counters.
  const streamManagementEvents = sm as unknown as StreamManagementEvents;
  return { entity, streamManagement: streamManagementEvents, iqCaller: caller, iqCallee: callee };
}

/**
 * Starts the client; fails on its first error, on a closed socket, or after `timeoutMs` (a
 * server that accepts TCP and then says nothing would otherwise hold the attempt forever).
 */
export function startClient(
  client: XmppClient,
  timeoutMs: number,
  lastError: () => Error | undefined,
): Promise<void> {
  const { entity } = client;
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) =>
      finish(err instanceof Error ? err : new Error(describeFailure(err)));
    const timer = setTimeout(() => fail(`no session after ${timeoutMs} ms`), timeoutMs);
    // A server may just close the socket (e.g. shutting down): start() would then never settle.
    const onDisconnect = () => fail(lastError() ?? "connection closed");
    const finish = (err?: Error) => {
      clearTimeout(timer);
      entity.off("disconnect", onDisconnect);
      if (err) reject(err);
      else resolve();
    };
    entity.on("disconnect", onDisconnect);
    entity.start().then(() => finish(), fail);
  });
}

/**
 * Closes the client. A session (it reached online) goes through xmpp.js's stop(): a polite close
 * if the socket is still up, and stream management then reports every unacknowledged stanza as
 * `fail`. A half-negotiated client has nothing to flush and may face a server that never
 * answers, so its socket is simply destroyed.
 */
export async function closeClient(client: XmppClient, session: boolean): Promise<void> {
  const { entity, streamManagement } = client;
  const socket = entity.socket; // stop() detaches it, even when the close timed out
  if (session) await entity.stop().catch(() => undefined);
  streamManagement.removeAllListeners();
  // Runtime shapes: a net.Socket, or @xmpp/tls's wrapper holding a tls.TLSSocket in `socket`.
  const s = socket as { destroy?: () => void; socket?: { destroy?: () => void } } | null;
  s?.socket?.destroy?.();
  s?.destroy?.();
}

/** SASL mechanisms this client may use, best first, given what the server offers. */
export function chooseMechanism(
  offered: readonly string[],
  encrypted: boolean,
  allowPlaintext: boolean,
): string | undefined {
  return offered.find((m) => m !== "PLAIN" || encrypted || allowPlaintext);
}

/** The runtime callback takes the mechanism too (sasl/index.js `done`); the typings omit it. */
type Authenticate = (credentials: CredentialsObj, mechanism: string) => Promise<void>;

function useSasl(features: ReturnType<typeof streamFeatures<Client>>, options: XmppClientOptions) {
  const factory = new SASLFactory();
  // Registration order is preference order: the server's offer is filtered through it.
  nativeScramSha1(factory);
  utf8Plain(factory);
  const { username, password } = options;
  sasl({ streamFeatures: features, saslFactory: factory }, async (done, offered, _fast, entity) => {
    const allow = options.allowPlaintext === true;
    const mechanism = chooseMechanism(offered, entity.isSecure(), allow);
    if (mechanism === undefined) {
      const list = offered.join(", ") || "none";
      throw new AuthenticationError(options.domain, "no-usable-mechanism", `offered: ${list}`);
    }
    await (done as unknown as Authenticate)({ username, password }, mechanism);
  });
}

/** The typed error for failures that retrying cannot fix; undefined for transient ones. */
export function fatalError(err: unknown, server: string): Error | undefined {
  if (err instanceof AuthenticationError || err instanceof TlsRequiredError) return err;
  const cert = asCertificateError(err, server);
  if (cert instanceof TlsCertificateError) return cert;
  if (err instanceof Error && err.name === "SASLError") {
    // @xmpp/sasl's SASLError carries the RFC 6120 §6.5 condition.
    const { condition, text } = err as Error & { condition?: string; text?: string };
    if (condition === "temporary-auth-failure") return undefined;
    return new AuthenticationError(server, condition ?? "failure", text);
  }
  return undefined;
}

/** A short, credential-free description for logs and `offline` reasons. */
export function describeFailure(err: unknown): string {
  if (typeof err === "string") return err;
  if (!(err instanceof Error)) return `non-Error failure (${typeof err})`;
  const { code, condition } = err as Error & { code?: unknown; condition?: unknown };
  if (err.name === "StreamError" && typeof condition === "string")
    return `stream error: ${condition}`;
  return typeof code === "string" ? `${code}: ${err.message}` : err.message;
}
