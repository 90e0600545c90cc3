/**
 * A stop that cannot hang: a real Mosquitto frozen with SIGSTOP keeps the agent's TCP connection
 * open, so QoS 1 publishes in flight are never acknowledged, the realistic hang of a broker that
 * died behind a NAT or a stuck host. The agent must still stop within a bound and close its
 * outbox, so that what XMPP confirmed stays confirmed and what MQTT did not comes back.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import { Outbox } from "../../src/core/outbox/index.js";
import { settlesWithin } from "../../src/core/within.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { until } from "../support/wait.js";
import { startPeer, type Peer } from "../support/xmpp-peer.js";

/** Far below systemd's TimeoutStopSec (20 s), with room for a loaded test machine. */
const STOP_BOUND_MS = 10_000;

describe("agent stop with an MQTT broker that stopped answering", () => {
  let prosody: ProsodyServer;
  let broker: MosquittoBroker;
  let dir: string;
  let agent: Agent | undefined;
  /** Online, so the XMPP sink has someone confirming its messages while MQTT hangs. */
  let dash: Peer;

  beforeAll(async () => {
    prosody = await startProsody();
    await prosody.register("agent", "agent-secret");
    await prosody.register("dash", "dash-secret");
    await prosody.start();
    dash = await startPeer(prosody, "dash", "dash-secret", await readFile(prosody.caFile, "utf8"));
    broker = await startMosquitto();
    await broker.start();
    dir = await mkdtemp(join(tmpdir(), "iot-agent-stop-"));
  }, 60_000);

  afterAll(async () => {
    await dash?.stop();
    broker?.resume();
    await broker?.destroy();
    await prosody?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("stops within the bound with publishes in flight, and closes the outbox", async () => {
    const outboxDir = join(dir, "outbox");
    const file = join(dir, "agent.yaml");
    await writeFile(
      file,
      `xmpp: { service: ${prosody.service}, domain: localhost, username: agent, password: { env: P }, tls: { caFile: ${prosody.caFile} } }
device: { port: ${join(dir, "ttySTOP")}, emulate: true }
telemetry: { subscribers: [dash@localhost] }
outbox: { dir: ${outboxDir} }
mqtt: { url: ${broker.url}, tls: { allowPlaintext: true }, clientId: stop-test }
`,
      { mode: 0o600 },
    );
    const loaded = await loadConfig(file, { P: "agent-secret" });
    agent = await Agent.start({
      config: loaded.config,
      password: loaded.password,
      log: createLogger({ level: "silent" }),
      emulatorRateHz: 10,
    });
    const sinks = () => agent!.status().sinks;
    await until(() => (sinks().mqtt?.relay.delivered ?? 0) >= 5, "readings mirrored to MQTT");
    broker.pause();
    const stalledAt = sinks().mqtt!.relay.delivered;
    // Publishes written to a connection nobody reads any more: handed out, never confirmed.
    await until(
      () => sinks().mqtt!.relay.deliveries - sinks().mqtt!.relay.delivered >= 3,
      "MQTT deliveries in flight",
    );
    await until(() => (sinks().xmpp?.relay.delivered ?? 0) > stalledAt + 3, "XMPP going on");
    const xmppDelivered = sinks().xmpp!.relay.delivered;

    const started = Date.now();
    const stopped = await settlesWithin(agent.stop(), STOP_BOUND_MS);
    const stopMs = Date.now() - started;
    console.log(`stop took ${stopMs} ms with MQTT publishes in flight`);
    expect(stopped, `agent.stop() settled within ${STOP_BOUND_MS} ms`).toBe(true);
    const mqttDelivered = sinks().mqtt!.relay.delivered;
    agent = undefined;

    // Closed means the cursors were written on the way out, not a second earlier.
    const saved = JSON.parse(await readFile(join(outboxDir, "cursors.json"), "utf8")) as {
      sinks: Record<string, number>;
    };
    expect(saved.sinks.xmpp).toBeGreaterThanOrEqual(xmppDelivered);
    const reopened = await Outbox.open(outboxDir, { sinks: ["xmpp", "mqtt"] });
    try {
      const mqtt = reopened.sink("mqtt");
      const xmpp = reopened.sink("xmpp");
      // What the broker never confirmed is still owed to it; what XMPP confirmed is not resent.
      expect(mqtt.cursor).toBeLessThanOrEqual(mqttDelivered);
      expect(mqtt.pending).toBeGreaterThanOrEqual(3);
      expect(xmpp.cursor).toBeGreaterThanOrEqual(xmppDelivered);
      expect(xmpp.pending).toBeLessThan(mqtt.pending);
    } finally {
      await reopened.close();
    }
  }, 60_000);
});
