/**
 * PubSub services that refuse or are impersonated, on a real Prosody: stand-in services are
 * external components (test/support/pubsub_component.py, slixmpp), answering the way ejabberd
 * 23.01 answers a publish-option it does not take. The agent's publishes complete only with the
 * service's own answer; a refusing service neither stops the agent nor loses its readings.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DeliveryFilter } from "../../src/core/delivery-policy.js";
import { LaneFilter } from "../../src/core/lane-filter.js";
import type { Reading } from "../../src/core/reading.js";
import { xml, type Element } from "../../src/xmpp/client.js";
import { XmppConnection } from "../../src/xmpp/connection.js";
import { PUBSUB_NS } from "../../src/xmpp/pubsub.js";
import { PubSubTelemetry } from "../../src/xmpp/pubsub-telemetry.js";
import { agentCommand } from "../support/agent-command.js";
import { addExternalComponent, freePort, startProsody } from "../support/prosody.js";
import type { ProsodyServer } from "../support/prosody.js";
import { startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";

vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

const SECRET = "component-secret-5d1";
const AGENT_PASSWORD = "agent-pw-4e2";
/** Refuses every publish; holds its answers until told, so that many wait at once. */
const REFUSING = "pubsub-refuse.localhost";
/** Refuses publishes carrying pubsub#max_items, accepts the rest; holds until told. */
const HOLDING = "pubsub-hold.localhost";
/** Refuses publishes carrying pubsub#max_items, accepts the rest, at once. */
const STRICT = "pubsub-strict.localhost";

interface PublishLine {
  id: string;
  from: string;
  options: string[];
}

interface Component {
  publishes: PublishLine[];
  release(): void;
  stop(): void;
}

let server: ProsodyServer;
let dir: string;
let caPem: string;
let componentPort = 0;
const components: Record<string, Component> = {};

/** Starts the stand-in service for `host`; resolves once it is connected to Prosody. */
async function startComponent(host: string, extra: string[]): Promise<Component> {
  const script = "test/support/pubsub_component.py";
  const args = [script, host, SECRET, "--server", `127.0.0.1:${componentPort}`, ...extra];
  const child: ChildProcessWithoutNullStreams = spawn("/usr/bin/python3", args);
  const publishes: PublishLine[] = [];
  let ready = false;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const parsed = JSON.parse(line) as { ready?: boolean } & PublishLine;
    if (parsed.ready) ready = true;
    else publishes.push(parsed);
  });
  await until(() => ready || child.exitCode !== null, `${host} connected`, 20_000);
  if (!ready) throw new Error(`${host} did not start:\n${stderr}`);
  return { publishes, release: () => child.stdin.write("\n"), stop: () => child.kill() };
}

beforeAll(async () => {
  server = await startProsody();
  for (const host of [REFUSING, HOLDING, STRICT]) {
    componentPort = await addExternalComponent(server, host, SECRET);
  }
  await server.register("agent", AGENT_PASSWORD);
  await server.register("mallory", "mallory-pw");
  await server.start();
  caPem = await readFile(server.caFile, "utf8");
  dir = await mkdtemp(join(tmpdir(), "iot-pubsub-refuse-"));
  components[REFUSING] = await startComponent(REFUSING, ["--hold"]);
  components[HOLDING] = await startComponent(HOLDING, [
    "--hold",
    "--refuse-field",
    "pubsub#max_items",
  ]);
  components[STRICT] = await startComponent(STRICT, ["--refuse-field", "pubsub#max_items"]);
});

afterAll(async () => {
  for (const c of Object.values(components)) c.stop();
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The agent's XMPP connection, in this process, logging into `lines`. */
async function connect(lines: string[] = []): Promise<XmppConnection> {
  const sink = { write: (line: string) => void lines.push(line) };
  const connection = new XmppConnection({
    service: server.service,
    domain: server.domain,
    username: "agent",
    password: AGENT_PASSWORD,
    resource: "pi",
    caPem,
    reconnect: { initialMs: 200, maxMs: 2_000 },
    log: pino({ level: "debug" }, sink),
    presence: () => ({ status: "relaying readings" }),
  });
  await connection.start();
  return connection;
}

const reading = (seq: number): Reading => ({
  device: "envnode-01",
  boot: "0badcafe",
  seq,
  receivedAt: Date.now(),
  values: [{ sensor: "temp", kind: "num", value: 21.5, unit: "°C" }],
});

describe("a publish's answer", () => {
  let agent: XmppConnection;
  let mallory: Peer;
  beforeAll(async () => {
    agent = await connect();
    mallory = await startPeer(server, "mallory", "mallory-pw", caPem);
  });
  afterAll(async () => {
    await mallory?.stop();
    await agent?.stop();
  });

  it("comes only from the service asked: a forged result with the right id completes nothing", async () => {
    const service = components[HOLDING]!;
    const publish = xml(
      "iq",
      { type: "set", to: HOLDING },
      xml(
        "pubsub",
        { xmlns: PUBSUB_NS },
        xml("publish", { node: "urn:t" }, xml("item", { id: "1" })),
      ),
    );
    let settled = false;
    const answer = agent.request(publish).finally(() => (settled = true));
    answer.catch(() => undefined); // awaited below; a failure before that must not go unheard
    await until(() => service.publishes.length === 1, "the publish at the service");
    const { id } = service.publishes[0]!;
    // Not guessable: a random UUID, not ten characters of Math.random.
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const forgedArrived = new Promise<void>((resolve) => {
      const onStanza = (s: Element) => {
        if (s.attrs.id !== id || !String(s.attrs.from).startsWith("mallory@")) return;
        agent.off("stanza", onStanza);
        resolve();
      };
      agent.on("stanza", onStanza);
    });
    await mallory.client.entity.send(xml("iq", { type: "result", id, to: agent.jid ?? "" }));
    await forgedArrived;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);

    service.release();
    const result = await answer;
    expect(result.attrs.from).toBe(HOLDING);
  });
});

/** `iot-agent run` publishing to `service`, as a child process; its output collected. */
async function spawnAgent(service: string) {
  const healthPort = await freePort();
  const file = join(dir, "agent.yaml");
  await writeFile(
    file,
    `xmpp:
  service: ${server.service}
  domain: localhost
  username: agent
  password: { env: IOT_AGENT_XMPP_PASSWORD }
  tls: { caFile: ${server.caFile} }
device: { port: ${join(dir, "tty")}, emulate: true }
outbox: { dir: ${join(dir, "outbox")} }
telemetry:
  pubsub: { service: ${service}, maxItems: 50 }
health: { port: ${healthPort} }
`,
    { mode: 0o600 },
  );
  const agent = agentCommand(["run", "--config", file]);
  const child = spawn(agent.command, agent.args, {
    env: { ...process.env, IOT_AGENT_XMPP_PASSWORD: AGENT_PASSWORD },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The log goes to stderr, and so do Node's warnings and a crash's last words.
  let stderr = "";
  child.stdout.resume();
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const metric = async (name: string) => {
    const text = await fetch(`http://127.0.0.1:${healthPort}/metrics`).then((r) => r.text());
    return Number(new RegExp(`^${name}\\{sink="pubsub"\\} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
  };
  return { child, exited, metric, stderr: () => stderr };
}

describe("a pubsub service that refuses every publish", () => {
  it("leaves the agent running, its readings in the outbox, and one warning per reason", async () => {
    const service = components[REFUSING]!;
    const agent = await spawnAgent(REFUSING);
    try {
      // Answers held back until a dozen publishes wait at once, as with a slow service.
      await until(
        () => service.publishes.length >= 12 || agent.child.exitCode !== null,
        "12 publishes",
        60_000,
      );
      const held = service.publishes.length;
      service.release();
      // Every held publish refused and counted as not delivered (or the agent gone).
      let failures = 0;
      const failed = async () => {
        failures = await agent.metric("iot_agent_delivery_failures_total").catch(() => NaN);
        return failures >= held || agent.child.exitCode !== null;
      };
      while (!(await failed())) await new Promise((r) => setTimeout(r, 100));
      expect(agent.child.exitCode, agent.stderr()).toBeNull();
      expect(agent.stderr()).not.toMatch(/MaxListenersExceededWarning|Unhandled|unhandled/);
      expect(await agent.metric("iot_agent_readings_delivered_total")).toBe(0);
      expect(await agent.metric("iot_agent_outbox_pending")).toBeGreaterThanOrEqual(12);
      // Each refusal was retried once with the access model alone, refused again.
      const retries = service.publishes.filter((p) => p.options.join() === "pubsub#access_model");
      expect(retries.length).toBeGreaterThanOrEqual(held);
      const failedLines = agent
        .stderr()
        .split("\n")
        .filter((l) => /pubsub publish failed/.test(l));
      expect(failedLines).toHaveLength(1);
    } finally {
      agent.child.kill("SIGTERM");
    }
    expect(await agent.exited).toBe(0);
  });
});

describe("a pubsub service that refuses the item limit", () => {
  it("takes publishes with the access model alone after one refusal, remembered", async () => {
    const lines: string[] = [];
    const connection = await connect(lines);
    const service = components[STRICT]!;
    try {
      const pubsub = new PubSubTelemetry({
        connection,
        target: { service: STRICT, node: "urn:t", accessModel: "presence", maxItems: 50 },
        filter: new LaneFilter(() => new DeliveryFilter()),
        log: pino({ level: "info" }, { write: (line: string) => void lines.push(line) }),
      });
      for (const seq of [1, 2, 3]) {
        await pubsub.deliver([{ seq, at: Date.now(), reading: reading(seq) }], "live");
      }
      expect(service.publishes.map((p) => p.options.join())).toEqual([
        "pubsub#access_model,pubsub#max_items,pubsub#persist_items",
        "pubsub#access_model",
        "pubsub#access_model",
        "pubsub#access_model",
      ]);
      expect(pubsub.stats).toEqual({ published: 3, failures: 0, publishOptions: "access-model" });
      expect(lines.filter((l) => l.includes("refuses the item limit"))).toHaveLength(1);
    } finally {
      await connection.stop();
    }
  });
});
