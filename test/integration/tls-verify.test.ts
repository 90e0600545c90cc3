/**
 * The whole agent against servers whose certificates it has no reason to trust (a per-run
 * self-signed CA that is neither configured nor in NODE_EXTRA_CA_CERTS): it must refuse to log
 * in, name the certificate problem, and send no credentials — the servers' own logs show no
 * login attempt. With the CA configured, the same agent logs in (the positive control that makes
 * "no login in the log" mean something).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { TlsCertificateError } from "../../src/xmpp/tls.js";
import { captureLog, type CapturedLog } from "../support/authz-cells.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { recordingProxy, startProsody, type ProsodyServer } from "../support/prosody.js";
import { until } from "../support/wait.js";
import { byteProxy, tlsRecordTypes, TLS_APPLICATION_DATA } from "../support/tls-records.js";

const XMPP_PW = "tls-verify-xmpp-pw";
const MQTT_USER = { username: "agent", password: "tls-verify-mqtt-pw" };

let server: ProsodyServer;
let broker: MosquittoBroker;
let dir: string;
let runs = 0;

beforeAll(async () => {
  server = await startProsody();
  await server.register("agent", XMPP_PW);
  await server.start();
  broker = await startMosquitto({ tls: true, auth: MQTT_USER });
  await broker.start();
  dir = await mkdtemp(join(tmpdir(), "iot-tls-verify-"));
  // Each run makes a new CA: nothing in the environment can already trust it.
  expect([server.caFile, broker.caFile]).not.toContain(process.env.NODE_EXTRA_CA_CERTS);
}, 30_000);

afterAll(async () => {
  await broker?.destroy();
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Setup {
  service?: string;
  xmppCa: boolean;
  mqtt?: { ca: boolean; port: number };
}

/** Starts an agent; resolves to it, or to the error start() rejected with. */
async function start(setup: Setup, log: CapturedLog): Promise<Agent | Error> {
  const n = ++runs;
  const file = join(dir, `agent-${n}.yaml`);
  const mqtt = setup.mqtt
    ? `mqtt:
  url: mqtts://localhost:${setup.mqtt.port}
  username: agent
  password: { env: MQTT_PW }
  clientId: tls-verify-${n}
  tls: { ${setup.mqtt.ca ? `caFile: ${broker.caFile}` : ""} }
`
    : "";
  await writeFile(
    file,
    `xmpp:
  service: ${setup.service ?? server.service}
  domain: localhost
  username: agent
  password: { env: XMPP_PW }
  tls: { ${setup.xmppCa ? `caFile: ${server.caFile}` : ""} }
device: { port: ${join(dir, `tty${n}`)}, emulate: true }
outbox: { dir: ${join(dir, `outbox-${n}`)} }
${mqtt}`,
    { mode: 0o600 },
  );
  const loaded = await loadConfig(file, { XMPP_PW, MQTT_PW: MQTT_USER.password });
  return Agent.start({
    config: loaded.config,
    password: loaded.password,
    ...(loaded.mqttPassword ? { mqttPassword: loaded.mqttPassword } : {}),
    log: log.logger,
    onlineWaitMs: 15_000,
  }).catch((error: unknown) => error as Error);
}

/** Prosody's log lines about logins (mod_saslauth / c2s at level info). */
const prosodyLogins = () =>
  server
    .log()
    .split("\n")
    .filter((l) => /authenticat/i.test(l));
/** Per connection the proxy saw: did the client send application data (23) records? */
const sentData = (proxy: Awaited<ReturnType<typeof byteProxy>>) =>
  proxy.connections().map((bytes) => tlsRecordTypes(bytes).includes(TLS_APPLICATION_DATA));

describe("TLS verification of the whole agent", () => {
  it("refuses an XMPP server it cannot verify, naming the certificate, before any credential", async () => {
    const proxy = await recordingProxy(server.port);
    const log = captureLog();
    try {
      const before = prosodyLogins().length;
      const failure = await start({ service: proxy.service, xmppCa: false }, log);
      expect(failure).toBeInstanceOf(TlsCertificateError);
      expect(failure).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
      expect((failure as Error).message).toMatch(
        /TLS certificate of XMPP server localhost was rejected/,
      );
      // The wire: STARTTLS was asked for, and nothing after the failed handshake was sent.
      expect(proxy.sent()).toContain("<starttls");
      expect(proxy.sent()).not.toMatch(/<auth|xmpp-sasl"[^>]*>[A-Za-z0-9+/=]{8}/);
      expect(proxy.sent()).not.toContain(XMPP_PW);
      expect(prosodyLogins().slice(before)).toEqual([]);
    } finally {
      proxy.close();
    }
  }, 30_000);

  it("logs in to the same server once its CA is configured (control)", async () => {
    const log = captureLog();
    const before = prosodyLogins().length;
    const agent = await start({ xmppCa: true }, log);
    expect(agent).toBeInstanceOf(Agent);
    try {
      expect((agent as Agent).xmpp.online).toBe(true);
      expect(prosodyLogins().slice(before).join("\n")).toMatch(/agent@localhost/);
    } finally {
      await (agent as Agent).stop();
    }
  }, 30_000);

  it("refuses an MQTT broker it cannot verify and never sends it the password", async () => {
    const log = captureLog();
    const proxy = await byteProxy(Number(new URL(broker.url).port));
    const agent = await start({ xmppCa: true, mqtt: { ca: false, port: proxy.port } }, log);
    expect(agent).toBeInstanceOf(Agent);
    try {
      const certWarning = () =>
        log.entries().filter((e) => /^mqtt: .*(self[- ]signed|certificate)/i.test(e.msg ?? ""));
      // Two attempts (reconnectPeriod 2 s): retrying does not wear the check down.
      await until(() => sentData(proxy).length >= 2, "a second attempt", 10_000);
      await until(() => certWarning().length >= 2, "the second refusal logged", 5_000);
      expect(certWarning()[0]?.msg).toMatch(/self-signed certificate/);
      // Handshake and alert records only: the CONNECT packet, with the password, never left.
      expect(sentData(proxy)).not.toContain(true);
      expect(log.entries().some((e) => e.msg === "mqtt online")).toBe(false);
    } finally {
      await (agent as Agent).stop();
      proxy.close();
    }
  }, 30_000);

  it("connects to the same broker once its CA is configured (control)", async () => {
    const log = captureLog();
    const proxy = await byteProxy(Number(new URL(broker.url).port));
    const agent = await start({ xmppCa: true, mqtt: { ca: true, port: proxy.port } }, log);
    expect(agent).toBeInstanceOf(Agent);
    try {
      // The broker requires the password: online means it was sent, and accepted.
      await until(() => log.entries().some((e) => e.msg === "mqtt online"), "mqtt online");
      expect(sentData(proxy)).toContain(true);
    } finally {
      await (agent as Agent).stop();
      proxy.close();
    }
  }, 30_000);
});
