/**
 * The XMPP pieces that need no XMPP server: subscription decisions, mechanism choice, error
 * classification, TLS options, and the reconnect policy against servers that fail at the TCP
 * level (nothing listening, or listening and never answering).
 */
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { Writable } from "node:stream";
import { rootCertificates } from "node:tls";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { chooseMechanism, describeFailure, fatalError, xml } from "../../src/xmpp/client.js";
import { AckTracker, UnconfirmedStanzaError } from "../../src/xmpp/acks.js";
import {
  AuthenticationError,
  TlsCertificateError,
  TlsRequiredError,
  XmppConnection,
} from "../../src/xmpp/connection.js";
import { handleSubscription } from "../../src/xmpp/roster.js";
import { tlsOptions } from "../../src/xmpp/tls.js";
import { freePort } from "../support/prosody.js";

const allowAlice = (bare: string) => bare === "alice@example.org";

describe("handleSubscription", () => {
  it("approves an allow-listed JID and subscribes back, addressing the bare JID", () => {
    const request = xml("presence", { type: "subscribe", from: "alice@example.org/phone" });
    const decision = handleSubscription(request, allowAlice);
    expect(decision.kind).toBe("approve");
    if (decision.kind === "ignore") return;
    expect(decision.from).toBe("alice@example.org");
    expect(decision.replies.map((r) => r.toString())).toEqual([
      '<presence to="alice@example.org" type="subscribed"/>',
      '<presence to="alice@example.org" type="subscribe"/>',
    ]);
  });

  it("refuses anyone else", () => {
    const request = xml("presence", { type: "subscribe", from: "mallory@example.org" });
    const decision = handleSubscription(request, allowAlice);
    expect(decision).toMatchObject({ kind: "refuse", from: "mallory@example.org" });
    if (decision.kind === "ignore") return;
    expect(decision.replies.map((r) => r.toString())).toEqual([
      '<presence to="mallory@example.org" type="unsubscribed"/>',
    ]);
  });

  it("ignores what is not a subscription request", () => {
    const stanzas = [
      xml("presence", { from: "alice@example.org/phone" }),
      xml("presence", { type: "subscribed", from: "alice@example.org" }),
      xml("message", { type: "subscribe", from: "alice@example.org" }),
      xml("presence", { type: "subscribe" }),
      xml("presence", { type: "subscribe", from: "@" }),
    ];
    for (const s of stanzas) expect(handleSubscription(s, () => true)).toEqual({ kind: "ignore" });
  });
});

describe("chooseMechanism", () => {
  const offered = ["SCRAM-SHA-1", "PLAIN"];
  it("prefers SCRAM-SHA-1", () =>
    expect(chooseMechanism(offered, true, false)).toBe("SCRAM-SHA-1"));
  it("uses PLAIN only when encrypted or explicitly allowed", () => {
    expect(chooseMechanism(["PLAIN"], true, false)).toBe("PLAIN");
    expect(chooseMechanism(["PLAIN"], false, false)).toBeUndefined();
    expect(chooseMechanism(["PLAIN"], false, true)).toBe("PLAIN");
  });
});

describe("fatalError", () => {
  const saslError = (condition: string) =>
    Object.assign(new Error("SASL"), { name: "SASLError", condition, text: "" });

  it("turns refused credentials into AuthenticationError", () => {
    const err = fatalError(saslError("not-authorized"), "example.org");
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ condition: "not-authorized", server: "example.org" });
  });
  it("treats a temporary auth failure and network errors as transient", () => {
    expect(fatalError(saslError("temporary-auth-failure"), "example.org")).toBeUndefined();
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    expect(fatalError(refused, "example.org")).toBeUndefined();
  });
  it("recognises certificate failures and missing TLS", () => {
    const selfSigned = Object.assign(new Error("self-signed certificate"), {
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    });
    expect(fatalError(selfSigned, "example.org")).toBeInstanceOf(TlsCertificateError);
    const noTls = new TlsRequiredError("example.org");
    expect(fatalError(noTls, "example.org")).toBe(noTls);
  });
  it("describes errors without leaking anything but code and message", () => {
    const stream = Object.assign(new Error("x"), { name: "StreamError", condition: "conflict" });
    expect(describeFailure(stream)).toBe("stream error: conflict");
    expect(describeFailure(Object.assign(new Error("boom"), { code: "EPIPE" }))).toBe(
      "EPIPE: boom",
    );
  });
});

describe("AckTracker", () => {
  it("waits for the confirmation of that very stanza", async () => {
    const acks = new AckTracker();
    const [mine, other] = [xml("presence"), xml("presence")];
    let settled = false;
    const acked = acks.track(mine).then(() => (settled = true));
    acks.confirmed(other);
    await Promise.resolve();
    expect(settled).toBe(false);
    acks.confirmed(mine);
    await acked;
    expect(settled).toBe(true);
  });

  it("rejects what the stream dropped, and everything still waiting when the session closes", async () => {
    const acks = new AckTracker();
    const [dropped, waiting] = [xml("message"), xml("message")];
    const first = acks.track(dropped);
    const second = acks.track(waiting);
    acks.failed(dropped, "the stream ended");
    await expect(first).rejects.toThrow(UnconfirmedStanzaError);
    await expect(first).rejects.toThrow(/the stream ended/);
    acks.failAll("the session was closed");
    await expect(second).rejects.toThrow(/the session was closed/);
    acks.confirmed(waiting); // a late ack for a settled stanza changes nothing
  });
});

describe("tlsOptions", () => {
  it("verifies the XMPP domain and adds the extra CA to the default roots", () => {
    const options = tlsOptions("example.org", "PEM");
    expect(options).toMatchObject({ servername: "example.org", rejectUnauthorized: true });
    expect(options.ca).toEqual([...rootCertificates, "PEM"]);
    expect(tlsOptions("example.org").ca).toBeUndefined();
  });
});

/** A logger whose lines can be awaited: `until(msg, n)` resolves at the n-th line with `msg`. */
function watchedLogger() {
  const entries: { msg?: string; [k: string]: unknown }[] = [];
  const raw: string[] = [];
  const waiters: { msg: string; n: number; resolve: () => void }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      entries.push(JSON.parse(chunk.toString()) as (typeof entries)[0]);
      for (const w of waiters) {
        if (entries.filter((e) => e.msg === w.msg).length >= w.n) w.resolve();
      }
      done();
    },
  });
  const until = (msg: string, n: number) =>
    new Promise<void>((resolve) => waiters.push({ msg, n, resolve }));
  return { log: pino({ level: "debug" }, sink), entries, raw, until };
}

function connection(port: number, log: pino.Logger, attemptTimeoutMs?: number) {
  return new XmppConnection({
    service: `xmpp://127.0.0.1:${port}`,
    domain: "example.org",
    username: "agent",
    password: "unit-test-Secr3t",
    resource: "pi",
    reconnect: { initialMs: 40, maxMs: 160 },
    log,
    presence: () => ({ status: "ok" }),
    attemptTimeoutMs,
  });
}

describe("XmppConnection reconnect policy", () => {
  it("retries an unreachable server with capped, jittered exponential delays", async () => {
    const watched = watchedLogger();
    const agent = connection(await freePort(), watched.log);
    const started = agent.start();
    await watched.until("xmpp reconnecting after delay", 8);
    await agent.stop();
    await expect(started).rejects.toThrow(/stopped before it came online/);

    const retries = watched.entries.filter((e) => e.msg === "xmpp reconnecting after delay");
    retries.slice(0, 8).forEach((r, i) => {
      expect(r.attempt).toBe(i + 1);
      expect(r.reason).toMatch(/ECONNREFUSED/);
      expect(r.delayMs).toBeGreaterThanOrEqual(0);
      expect(r.delayMs).toBeLessThanOrEqual(Math.min(160, 40 * 2 ** i));
    });
    expect(watched.raw.join("")).not.toContain("unit-test-Secr3t");
  });

  it("gives up on a server that accepts TCP but never speaks, and keeps trying", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s)).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const address = silent.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const watched = watchedLogger();
    const agent = connection(port, watched.log, 300);
    const started = agent.start().catch((err: unknown) => err);
    await watched.until("xmpp reconnecting after delay", 2);
    const t0 = performance.now();
    await agent.stop();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await started).toBeInstanceOf(Error);
    const retry = watched.entries.find((e) => e.msg === "xmpp reconnecting after delay");
    expect(retry).toMatchObject({ reason: "no session after 300 ms" });
    for (const s of sockets) s.destroy();
    silent.close();
  });

  it("rejects a service that is not xmpp:// or xmpps://", () => {
    const bad = () =>
      new XmppConnection({
        service: "ws://127.0.0.1:5280",
        domain: "example.org",
        username: "agent",
        password: "pw",
        resource: "pi",
        reconnect: { initialMs: 1, maxMs: 1 },
        log: pino({ level: "silent" }),
        presence: () => ({ status: "ok" }),
      });
    expect(bad).toThrow(TypeError);
  });
});
