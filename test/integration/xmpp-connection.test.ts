/**
 * XmppConnection and the client factory against real Prosody servers: TLS trust and
 * enforcement, authentication failures, recovery from a killed server, presence subscriptions.
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createXmppClient, xml, type Element, type XmppClient } from "../../src/xmpp/client.js";
import {
  AuthenticationError,
  TlsCertificateError,
  TlsRequiredError,
  UnconfirmedStanzaError,
  XmppConnection,
  type SubscriptionAudit,
  type XmppConnectionOptions,
} from "../../src/xmpp/connection.js";
import { impostorTls, recordingProxy, startProsody } from "../support/prosody.js";
import type { ProsodyServer } from "../support/prosody.js";

const AGENT_PASSWORD = "agent-Secr3t-pw";
const PEER_PASSWORD = "peer-pw";
// Each login costs ~0.5 s of SCRAM; a restart test waits for backoff. Generous, not tight.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** A logger writing to memory, to assert on what the agent logs — and never logs. */
function captureLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()),
  });
  type Entry = { msg?: string; level: number; time: number; [k: string]: unknown };
  const entries = () => lines.map((l) => JSON.parse(l) as Entry);
  return { log: pino({ level: "debug" }, sink), captured: { lines, entries } };
}
type CapturedLog = ReturnType<typeof captureLogger>["captured"];

function count(captured: CapturedLog, msg: string): number {
  return captured.entries().filter((e) => e.msg === msg).length;
}

function agentOptions(
  server: ProsodyServer,
  overrides: Partial<XmppConnectionOptions> = {},
): { options: XmppConnectionOptions; captured: CapturedLog } {
  const { log, captured } = captureLogger();
  const options: XmppConnectionOptions = {
    service: server.service,
    domain: server.domain,
    username: "agent",
    password: AGENT_PASSWORD,
    resource: "pi",
    reconnect: { initialMs: 200, maxMs: 2_000 },
    log,
    presence: () => ({ status: "relaying readings" }),
    isAllowed: (bare) => bare === `alice@${server.domain}`,
    ...overrides,
  };
  return { options, captured };
}

/** A plain factory-built client standing in for a person or service on the other end. */
async function startPeer(server: ProsodyServer, username: string, caPem: string) {
  const client = createXmppClient({
    service: server.service,
    domain: server.domain,
    username,
    password: PEER_PASSWORD,
    resource: "test",
    caPem,
  });
  client.entity.on("error", () => undefined); // failures show up as rejected start() / timeouts
  await client.entity.start();
  // Only an "interested resource" (one that fetched its roster) is told of subscription
  // approvals and refusals (RFC 6121 §2.1.6); without available presence, messages to the bare
  // JID are not delivered to it.
  await client.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }));
  // The server reflects our presence back once it has processed it: from then on we are
  // available, and a message sent by another connection cannot overtake it.
  const self = nextStanza(client, presenceOf(undefined, `${username}@localhost/test`));
  await client.entity.send(xml("presence"));
  await self;
  return client;
}

function nextStanza(peer: XmppClient, match: (s: Element) => boolean): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("expected stanza not received")), 15_000);
    const listener = (stanza: Element) => {
      if (!match(stanza)) return;
      clearTimeout(timer);
      peer.entity.off("stanza", listener);
      resolve(stanza);
    };
    peer.entity.on("stanza", listener);
  });
}

const chat = (to: string, body: string) =>
  xml("message", { to, type: "chat" }, xml("body", {}, body));

const presenceOf = (type: string | undefined, from: string) => (s: Element) =>
  s.is("presence") && s.attrs.type === type && String(s.attrs.from).startsWith(from);

/** Cyrillic letters in the name; Latin-1, Greek and a symbol in the password. */
const UNICODE_USER = "\u0434\u0430\u0442\u0447\u0438\u043a";
const UNICODE_PASSWORD = "p\u00e4ss-\u03c9-\u2713";

describe("XmppConnection with a TLS Prosody", () => {
  let server: ProsodyServer;
  let caPem: string;
  let impostor: Awaited<ReturnType<typeof impostorTls>>;

  beforeAll(async () => {
    server = await startProsody({ directTls: true });
    // The CA is generated per run, so only caPem can make it trusted; the refusal test below
    // shows the default store (including any NODE_EXTRA_CA_CERTS) does not contain it.
    expect(process.env.NODE_EXTRA_CA_CERTS ?? "").not.toBe(server.caFile);
    for (const user of ["alice", "mallory"]) await server.register(user, PEER_PASSWORD);
    await server.register("agent", AGENT_PASSWORD);
    await server.register(UNICODE_USER, UNICODE_PASSWORD);
    await server.start();
    caPem = await readFile(server.caFile, "utf8");
    impostor = await impostorTls(server);
  });
  afterAll(async () => {
    impostor?.close();
    await server?.destroy();
  });

  it.each([
    ["STARTTLS", () => server.service],
    ["direct TLS", () => server.directTlsService ?? ""],
  ])("comes online over %s trusting the CA given as caPem", async (_name, service) => {
    const { options, captured } = agentOptions(server, { service: service(), caPem });
    const agent = new XmppConnection(options);
    const failed: Element[] = [];
    agent.on("sm-failed", (s) => failed.push(s));
    const t0 = performance.now();
    await agent.start();
    const elapsed = Math.round(performance.now() - t0);
    console.info(`[xmpp] ${_name}: start() to online in ${elapsed} ms`);
    expect(agent.online).toBe(true);
    expect(agent.jid).toBe("agent@localhost/pi");
    expect(captured.entries().find((e) => e.msg === "xmpp online")).toMatchObject({
      secure: true,
    });
    await agent.send(chat("nobody@localhost", "sent just before stop"));
    await agent.stop();
    expect(agent.online).toBe(false);
    expect(failed).toEqual([]); // a clean stop leaves nothing unconfirmed
    expect(captured.lines.join("")).not.toContain(AGENT_PASSWORD);
  });

  const selfSigned = "DEPTH_ZERO_SELF_SIGNED_CERT";
  it.each([
    ["an unknown CA over STARTTLS", selfSigned, () => ({ service: server.service })],
    ["an unknown CA over direct TLS", selfSigned, () => ({ service: server.directTlsService })],
    // Trusted CA, but the certificate names localhost, not the domain we asked for.
    [
      "another name",
      "ERR_TLS_CERT_ALTNAME_INVALID",
      () => ({ service: impostor.service, caPem, domain: "example.org" }),
    ],
  ])("refuses a certificate with %s (%s), without retrying", async (_name, code, overrides) => {
    const { options, captured } = agentOptions(server, overrides());
    const agent = new XmppConnection(options);
    const failure = await agent.start().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TlsCertificateError);
    expect(failure).toMatchObject({ code });
    expect((failure as Error).message).toMatch(/TLS certificate of XMPP server \S+ was rejected/);
    // Nothing should happen any more; a short quiet period is the only way to observe that.
    await sleep(1_000);
    expect(count(captured, "xmpp connecting")).toBe(1);
    expect(count(captured, "xmpp reconnecting after delay")).toBe(0);
    await agent.stop();
  });

  it("logs in with a name and a password beyond ASCII (UTF-8 on the wire, RFC 5802)", async () => {
    const { options } = agentOptions(server, {
      caPem,
      username: UNICODE_USER,
      password: UNICODE_PASSWORD,
    });
    const agent = new XmppConnection(options);
    await agent.start();
    expect(agent.jid).toBe(`${UNICODE_USER}@localhost/pi`);
    await agent.stop();
  });

  it("reports a wrong password as AuthenticationError and does not retry", async () => {
    const { options, captured } = agentOptions(server, { caPem, password: "not-the-password" });
    const agent = new XmppConnection(options);
    const failure = await agent.start().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect(failure).toMatchObject({ condition: "not-authorized", server: "localhost" });
    await sleep(1_000);
    expect(count(captured, "xmpp connecting")).toBe(1);
    expect(captured.lines.join("")).not.toContain("not-the-password");
  });

  it("approves allow-listed subscriptions, refuses others, says goodbye on stop", async () => {
    const { options, captured } = agentOptions(server, { caPem });
    const agent = new XmppConnection(options);
    const audits: SubscriptionAudit[] = [];
    agent.on("subscription", (a) => audits.push(a));
    await agent.start();
    const alice = await startPeer(server, "alice", caPem);
    const mallory = await startPeer(server, "mallory", caPem);
    try {
      // Alice approves the agent's request back, making the subscription mutual.
      alice.entity.on("stanza", (s: Element) => {
        if (presenceOf("subscribe", "agent@")(s)) {
          void alice.entity.send(xml("presence", { to: "agent@localhost", type: "subscribed" }));
        }
      });
      const approved = nextStanza(alice, presenceOf("subscribed", "agent@"));
      const askedBack = nextStanza(alice, presenceOf("subscribe", "agent@"));
      const available = nextStanza(alice, presenceOf(undefined, "agent@localhost/pi"));
      await alice.entity.send(xml("presence", { to: "agent@localhost", type: "subscribe" }));
      await Promise.all([approved, askedBack, available]);

      const refused = nextStanza(mallory, presenceOf("unsubscribed", "agent@"));
      await mallory.entity.send(xml("presence", { to: "agent@localhost", type: "subscribe" }));
      await refused;
      expect(audits.map((a) => [a.kind, a.from])).toEqual([
        ["approve", "alice@localhost"],
        ["refuse", "mallory@localhost"],
      ]);
      expect(count(captured, "xmpp subscription request")).toBe(2);

      const goodbye = nextStanza(alice, presenceOf("unavailable", "agent@localhost/pi"));
      await agent.stop();
      await goodbye;
    } finally {
      await Promise.all([alice.entity.stop(), mallory.entity.stop()]);
    }
  });
});

describe("XmppConnection and a server killed and restarted", () => {
  let server: ProsodyServer;
  let caPem: string;

  beforeAll(async () => {
    server = await startProsody();
    await server.register("agent", AGENT_PASSWORD);
    await server.register("receiver", PEER_PASSWORD);
    await server.start();
    caPem = await readFile(server.caFile, "utf8");
  });
  afterAll(() => server?.destroy());

  it("reconnects by itself and delivers messages again", async () => {
    const { options, captured } = agentOptions(server, { caPem });
    const agent = new XmppConnection(options);
    await agent.start();
    try {
      const unacked = chat("nobody@localhost", "never acknowledged");
      const smFailed = new Promise<void>((resolve) => {
        agent.on("sm-failed", (stanza) => stanza === unacked && resolve());
      });
      const offline = once(agent, "offline");
      const confirmation = agent.sendAcked(unacked).then(
        () => "confirmed",
        (error: unknown) => error,
      );
      await server.stop(true); // SIGKILL: no stream close, no ack for the message above
      expect((await offline)[0]).toBeTypeOf("string");
      await smFailed;
      expect(await confirmation).toBeInstanceOf(UnconfirmedStanzaError);

      const online = once(agent, "online");
      await sleep(1_500); // let a few reconnect attempts fail against the dead port
      await server.start();
      const restartedAt = Date.now(); // Prosody's port is open again
      await online;
      const at = (msg: string) => captured.entries().findLast((e) => e.msg === msg)?.time ?? NaN;
      const [attemptAt, onlineAt] = [at("xmpp connecting"), at("xmpp online")];
      console.info(
        `[xmpp] online ${onlineAt - restartedAt} ms after prosody restarted ` +
          `(next attempt after ${attemptAt - restartedAt} ms, login ${onlineAt - attemptAt} ms)`,
      );

      const retries = captured.entries().filter((e) => e.msg === "xmpp reconnecting after delay");
      expect(retries.length).toBeGreaterThan(1);
      for (const r of retries) expect(typeof r.reason).toBe("string");
      for (const r of retries) expect(r.level).toBe(30); // info
      expect(retries[0]).toHaveProperty("delayMs");

      const receiver = await startPeer(server, "receiver", caPem);
      try {
        const body = `reading after restart ${Date.now()}`;
        const received = nextStanza(receiver, (s) => s.getChildText("body") === body);
        const message = chat("receiver@localhost", body);
        // Other stanzas (the presence sent on reconnect) may be acked first.
        const acked = new Promise<Element>((resolve) =>
          agent.on("acked", (s) => s === message && resolve(s)),
        );
        await agent.sendAcked(message); // resolves on the server's <a h=…/>, not on the write
        expect(await acked).toBe(message);
        await received;
      } finally {
        await receiver.entity.stop();
      }
    } finally {
      await agent.stop();
    }
    expect(captured.lines.join("")).not.toContain(AGENT_PASSWORD);
  });
});

describe("XmppConnection keepalive", () => {
  let server: ProsodyServer;

  beforeAll(async () => {
    server = await startProsody();
    await server.register("agent", AGENT_PASSWORD);
    await server.start();
  });
  afterAll(() => server?.destroy());

  it("notices a server that stopped answering, and comes back when it answers again", async () => {
    const caPem = await readFile(server.caFile, "utf8");
    const keepalive = { intervalMs: 300, timeoutMs: 600 };
    const { options, captured } = agentOptions(server, { caPem, keepalive });
    const agent = new XmppConnection(options);
    await agent.start();
    // SIGSTOP: the TCP connection stays open, nothing answers. Only a ping can tell.
    const pid = Number((await readFile(`${server.dir}/prosody.pid`, "utf8")).trim());
    const offline = once(agent, "offline");
    process.kill(pid, "SIGSTOP");
    try {
      const [reason] = (await offline) as [string];
      expect(reason).toMatch(/no answer to a ping within 600 ms/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await once(agent, "online");
    expect(count(captured, "xmpp server stopped answering; closing the session")).toBe(1);
    await agent.stop();
  });
});

describe("XmppConnection and a server without TLS", () => {
  let server: ProsodyServer;

  beforeAll(async () => {
    server = await startProsody({ tls: false });
    await server.register("agent", AGENT_PASSWORD);
    await server.start();
  });
  afterAll(() => server?.destroy());

  it("refuses to authenticate before anything secret is sent", async () => {
    const proxy = await recordingProxy(server.port);
    try {
      const { options, captured } = agentOptions(server, { service: proxy.service });
      const agent = new XmppConnection(options);
      const failure = await agent.start().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(TlsRequiredError);
      expect((failure as Error).message).toContain("localhost");
      expect(proxy.sent()).toContain("<stream:stream");
      expect(proxy.sent()).not.toContain("<auth");
      expect(count(captured, "xmpp connecting")).toBe(1);
    } finally {
      proxy.close();
    }
  });

  it("connects with allowPlaintext and warns loudly", async () => {
    const { options, captured } = agentOptions(server, { allowPlaintext: true });
    const agent = new XmppConnection(options);
    await agent.start();
    expect(agent.online).toBe(true);
    const warning = captured.entries().find((e) => /NOT ENCRYPTED/.test(e.msg ?? ""));
    expect(warning).toMatchObject({ level: 40 });
    await agent.stop();
    expect(captured.lines.join("")).not.toContain(AGENT_PASSWORD);
  });
});
