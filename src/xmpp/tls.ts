/**
 * TLS for the XMPP client: certificate trust (an optional private CA on top of Node's public
 * roots), STARTTLS and direct TLS that both verify the server's name, and the rule that nothing
 * is authenticated on a stream that is not encrypted unless the operator explicitly allows it.
 *
 * The stock @xmpp/starttls and @xmpp/tls take no TLS options (STARTTLS calls
 * `tls.connect({ socket, host })`), so a device that trusts a private CA would have to set
 * NODE_EXTRA_CA_CERTS for the whole process. These replacements take the CA per connection.
 */
import { rootCertificates, type ConnectionOptions } from "node:tls";
import type { Client } from "@xmpp/client-core";
import { xml } from "@xmpp/client-core";
import type { Middleware } from "@xmpp/middleware";
import type { StreamFeatures } from "@xmpp/stream-features";
// @ts-expect-error -- @xmpp/starttls ships no types; typed by `Upgrade` below.
import * as starttlsInternals from "@xmpp/starttls/starttls.js";

const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
const NS_STREAM = "http://etherx.jabber.org/streams";

/** The server did not offer (or we could not use) TLS, and plaintext was not allowed. */
export class TlsRequiredError extends Error {
  override readonly name = "TlsRequiredError";
  constructor(readonly server: string) {
    super(
      `XMPP server ${server} did not secure the stream with TLS; refusing to authenticate ` +
        `over an unencrypted connection (allowPlaintext is off)`,
    );
  }
}

/** The server's certificate did not verify (unknown CA, wrong name, expired, ...). */
export class TlsCertificateError extends Error {
  override readonly name = "TlsCertificateError";
  constructor(
    readonly server: string,
    readonly code: string,
    cause: Error,
  ) {
    super(
      `TLS certificate of XMPP server ${server} was rejected (${code}: ${cause.message}); ` +
        `if the server uses a private CA, pass its certificate as caPem`,
      { cause },
    );
  }
}

/**
 * Options for every TLS handshake. Supplying `ca` replaces Node's default trust store, hence the
 * explicit `rootCertificates` plus the extra CA. `rejectUnauthorized` is set explicitly so that a
 * stray NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn verification off, and the
 * default `checkServerIdentity` always checks the XMPP domain (not the IP we dial) as servername.
 */
export function tlsOptions(domain: string, caPem?: string): ConnectionOptions {
  return {
    servername: domain,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    ...(caPem !== undefined && { ca: [...rootCertificates, caPem] }),
  };
}

/** OpenSSL verification codes plus Node's own name-mismatch code. */
const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|HOSTNAME|INVALID_CA/;

/** Wraps a certificate verification failure in a TlsCertificateError; other errors pass through. */
export function asCertificateError(err: unknown, server: string): unknown {
  if (err instanceof TlsCertificateError || !(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === "string" && CERT_CODE.test(code)
    ? new TlsCertificateError(server, code, err)
    : err;
}

/** Wraps the plain socket in TLS; resolves to @xmpp/tls's socket wrapper once verified. */
type Upgrade = (socket: unknown, options: ConnectionOptions) => Promise<unknown>;
// The untyped module exports exactly these two functions (node_modules/@xmpp/starttls/starttls.js).
const { upgrade, canUpgrade } = starttlsInternals as {
  upgrade: Upgrade;
  canUpgrade: (socket: unknown) => boolean;
};

/** Connection's socket swap is private API (used the same way by @xmpp/starttls itself). */
interface SocketSwap {
  _attachSocket(socket: unknown): void;
}

/**
 * STARTTLS (RFC 6120 §5) with our TLS options. Registered first among the stream features so the
 * stream is upgraded before anything else is negotiated.
 */
export function useStartTls(
  streamFeatures: StreamFeatures<Client>,
  options: ConnectionOptions & { servername: string },
): void {
  streamFeatures.use("starttls", NS_TLS, async ({ entity }, next) => {
    // Already TLS (direct TLS or upgraded): nothing to do.
    if (!canUpgrade(entity.socket)) return next() as Promise<unknown>; // koa types `next` as any
    const reply = await entity.sendReceive(xml("starttls", { xmlns: NS_TLS }));
    if (!reply.is("proceed", NS_TLS)) throw new Error("STARTTLS refused by the server");
    let secure: unknown;
    try {
      secure = await upgrade(entity.socket, { ...options, host: options.servername });
    } catch (err) {
      throw asCertificateError(err, options.servername);
    }
    (entity as unknown as SocketSwap)._attachSocket(secure);
    await entity.restart();
  });
}

/**
 * Runs on every stream-features element after STARTTLS had its chance (it does not pass the
 * element on when it upgrades), so it sees only features offered on a stream that is still
 * plaintext: no STARTTLS offered, or stripped by someone in the path. Throwing here stops before
 * SASL — and before any session at all — unless the operator set `allowPlaintext`, in which case
 * the caller warns loudly.
 */
export function useTlsRequired(
  middleware: Middleware<Client>,
  server: string,
  allowPlaintext: boolean,
): void {
  middleware.use(async ({ entity, stanza }, next) => {
    const features = stanza.is("features", NS_STREAM);
    if (features && !entity.isSecure() && !allowPlaintext) throw new TlsRequiredError(server);
    return next() as Promise<unknown>; // `next` is typed any by koa
  });
}

/** Adds our TLS options to direct-TLS (xmpps://) dials, which @xmpp/tls makes with none. */
export function useDirectTlsOptions(entity: Client, options: ConnectionOptions): void {
  const base = entity.socketParameters.bind(entity);
  // Connection#connect asks the instance for its socket parameters, so overriding the instance
  // method reaches the transport without subclassing the untyped @xmpp/tls connection class.
  entity.socketParameters = (service: string) => {
    const params = base(service);
    if (!service.startsWith("xmpps:") || typeof params !== "object" || params === null) {
      return params;
    }
    return { ...params, ...options };
  };
}
