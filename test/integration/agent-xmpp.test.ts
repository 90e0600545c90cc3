/**
 * The whole agent end to end: the emulator on a real pty, a real Prosody, and people on the other
 * side. Telemetry reaches subscribers with a correct XEP-0323 payload, the owner's commands act
 * on the device, everyone else is refused, bounces are backed off, and a server restart heals.
 */
import { execFile } from "node:child_process";
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/logger.js";
import { xml, type Element } from "../../src/xmpp/client.js";
import {
  parseReadingIds,
  parseSensorDataFields,
  SENSORDATA_NS,
} from "../../src/xmpp/sensordata.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { isChatFrom, startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";

const PASSWORD = "peer-secret-1";
/** Cyrillic "о" in place of the Latin "o" of owner: another account that looks the same. */
const LOOKALIKE = "\u043ewner";
const AGENT = "agent@localhost";

let server: ProsodyServer;
let dir: string;
let agent: Agent;
const peers: Record<string, Peer> = {};

function configYaml(server: ProsodyServer, dir: string): string {
  return `
xmpp:
  service: ${server.service}
  domain: localhost
  username: agent
  password: { env: TEST_AGENT_PASSWORD }
  tls: { caFile: ${server.caFile} }
  reconnect: { initialSeconds: 0.2, maxSeconds: 1 }
device:
  port: ${join(dir, "ttyAGENT")}
  emulate: true
access:
  allow:
    - { jid: owner@localhost, role: admin }
    - { jid: viewer@localhost, role: viewer }
  strangers: error
telemetry:
  subscribers: [ dash@localhost, ghost@localhost ]
  pubsub: { maxItems: 50 }
outbox: { dir: ${join(dir, "outbox")} }
alerts:
  - { name: warm, sensor: temp, above: -40, forSeconds: 0 }
`;
}

beforeAll(async () => {
  server = await startProsody();
  for (const user of ["owner", "viewer", "stranger", "dash", "owner2", LOOKALIKE]) {
    await server.register(user, PASSWORD);
  }
  await server.register("agent", "agent-secret");
  await server.start();
  dir = await mkdtemp(join(tmpdir(), "iot-agent-e2e-"));
  const file = join(dir, "agent.yaml");
  await writeFile(file, configYaml(server, dir), { mode: 0o600 });
  const caPem = await readFile(server.caFile, "utf8");
  for (const user of ["owner", "viewer", "stranger", "dash", "owner2"]) {
    peers[user] = await startPeer(server, user, PASSWORD, caPem);
  }
  // A stranger whose resource spells the owner's JID: only the bare JID may count.
  peers.mimic = await startPeer(server, "stranger", PASSWORD, caPem, "owner@localhost");
  const loaded = await loadConfig(file, { TEST_AGENT_PASSWORD: "agent-secret" });
  agent = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    log: createLogger({ level: "silent" }),
  });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await Promise.all(Object.values(peers).map((p) => p.stop()));
  await server?.destroy();
  await rm(dir, { recursive: true, force: true });
});

interface ProbeLine {
  from: string;
  type: string;
  body: string;
  thread: string;
  error: unknown;
  receipt: string | null;
}

/** Runs a slixmpp script (Debian's python3-slixmpp) and parses its JSON lines. */
function python<T>(script: string, args: string[]): Promise<T[]> {
  const common = ["--server", `127.0.0.1:${server.port}`, "--ca", server.caFile];
  return new Promise((resolve, reject) =>
    execFile("/usr/bin/python3", [script, ...args, ...common], (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      resolve(
        stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as T),
      );
    }),
  );
}

/** Sends one chat message with slixmpp and returns what came back. */
function probe(jid: string, text: string, expect = 1): Promise<ProbeLine[]> {
  const args = [jid, PASSWORD, "--send", AGENT, text, "--expect", String(expect)];
  return python<ProbeLine>("test/support/xmpp_probe.py", [...args, "--timeout", "20"]);
}

const telemetryFrom = (from: string) => (s: Element) =>
  s.is("message") && String(s.attrs.from).startsWith(from) && !!s.getChild("fields", SENSORDATA_NS);

/** Sends a command and returns the body of the agent's reply to it (XEP-0461 reply id). */
async function ask(peer: Peer, text: string): Promise<string> {
  const id = `ask-${++asked}`;
  const reply = peer.next(
    (s) => isChatFrom(AGENT)(s) && s.getChild("reply", "urn:xmpp:reply:0")?.attrs.id === id,
  );
  await peer.send(AGENT, text, { id });
  return (await reply).getChildText("body") ?? "";
}
let asked = 0;

describe("agent over XMPP", () => {
  it("sends subscribers telemetry with a XEP-0323 payload and the reading identity", async () => {
    const message = await peers.dash!.next(telemetryFrom(AGENT));
    expect(message.attrs.type).toBe("normal");
    const fields = parseSensorDataFields(message.getChild("fields", SENSORDATA_NS)!);
    const block = fields.blocks[0]!;
    expect(block.nodeId).toBe("envnode-emu");
    expect(block.values.map((v) => v.sensor)).toEqual(["temp", "hum", "door"]);
    expect(block.values[0]).toMatchObject({ kind: "num", unit: "°C" });
    const [id] = parseReadingIds(message);
    expect(id?.device).toBe("envnode-emu");
    expect(id?.boot).toBe(agent.link.device?.boot);
    expect(Number(id?.seq)).toBeGreaterThan(0);
    expect(message.getChildText("body")).toMatch(/^envnode-emu #\d+: temp .*°C/);
  });

  it("lets the owner set an actuator and read a live value", async () => {
    expect(await ask(peers.owner!, "set relay on")).toMatch(/relay set to on/);
    await until(() => agent.status().device.state === "online", "device online");
    expect(await ask(peers.owner!, "get temp")).toMatch(/^temp: -?\d+(\.\d+)? °C/);
    expect(agent.emulator?.status().actuators.relay).toBe("1");
    expect(await ask(peers.owner!, "set led strobe")).toMatch(/led/);
  });

  it("refuses a viewer's set and leaves the device unchanged", async () => {
    await ask(peers.owner!, "set led off");
    const answer = await ask(peers.viewer!, "set led blink");
    expect(answer).toMatch(/operator/);
    expect(agent.emulator?.status().actuators.led).toBe("off");
  });

  it("answers strangers and look-alike accounts with forbidden, and obeys none", async () => {
    const relay = agent.emulator?.status().actuators.relay;
    for (const who of ["stranger", "owner2", "mimic"]) {
      const error = peers[who]!.next((s) => s.is("message") && s.attrs.type === "error");
      await peers[who]!.send(AGENT, "set relay off");
      const stanza = await error;
      expect(stanza.getChild("error")?.getChild("forbidden")).toBeDefined();
    }
    expect(agent.emulator?.status().actuators.relay).toBe(relay);
  });

  it("answers an independent client (slixmpp) in the thread it asked in", async () => {
    const lines = await probe("owner@localhost", "get temp", 2);
    expect(lines.find((l) => l.receipt)?.receipt).toBe("probe-1");
    const reply = lines.find((l) => l.body);
    expect(reply?.from).toMatch(/^agent@localhost\//);
    expect(reply?.body).toMatch(/^temp: -?\d+(\.\d+)? °C/);
    expect(reply?.thread).toBe("probe-thread-1");
  });

  it("refuses a look-alike account (Cyrillic o) logged in with slixmpp", async () => {
    const relay = agent.emulator?.status().actuators.relay;
    const [reply] = await probe(`${LOOKALIKE}@localhost`, "set relay off");
    expect(reply?.type).toBe("error");
    expect(JSON.stringify(reply?.error)).toMatch(/forbidden/);
    expect(agent.emulator?.status().actuators.relay).toBe(relay);
  });

  it("alerts operators once, with a receipt request", async () => {
    const alert =
      peers.owner!.received.find(
        (s) => s.is("message") && /ALERT warm/.test(s.getChildText("body") ?? ""),
      ) ?? (await peers.owner!.next((s) => /ALERT warm/.test(s.getChildText("body") ?? "")));
    expect(alert.getChild("request", "urn:xmpp:receipts")).toBeDefined();
  });

  it("backs off a subscriber that does not exist instead of retrying", async () => {
    const messages = () => agent.status().sinks.xmpp?.transport ?? {};
    await until(() => (messages().bounces ?? 0) >= 1, "a bounce from ghost@localhost");
    await until(() => (messages().skippedPaused ?? 0) >= 2, "ghost being skipped");
  });

  it("tells slixmpp what it is: disco, version, ping, verified caps", async () => {
    const [r] = await python<{
      identities: string[][];
      features: string[];
      version: { name: string; version: string; os: string | null };
      ping_seconds: number;
      unknown: { type: string; condition: string };
      caps_verified: boolean;
    }>("test/support/disco_probe.py", [
      "viewer@localhost",
      PASSWORD,
      "--agent",
      `${AGENT}/iot-agent`,
    ]);
    expect(r?.identities).toEqual([["client", "bot", null, "xmpp-iot-agent"]]);
    expect(r?.features).toEqual(expect.arrayContaining(["urn:xmpp:ping", "jabber:iq:version"]));
    expect(r?.version).toEqual({ name: "xmpp-iot-agent", version: "0.1.0", os: null });
    expect(r?.ping_seconds).toBeLessThan(5);
    expect(r?.unknown).toEqual({ type: "cancel", condition: "service-unavailable" });
    expect(r?.caps_verified).toBe(true);
  });

  it("serves slixmpp's XEP-0323 readouts: momentary, historical, refused", async () => {
    type Event = { result: string; nodeId?: string; fields?: { name: string }[]; error?: string };
    const readout = (user: string, ...extra: string[]) =>
      python<Event>("test/support/readout_probe.py", [
        `${user}@localhost`,
        PASSWORD,
        "--agent",
        `${AGENT}/iot-agent`,
        ...extra,
      ]);
    const momentary = await readout("viewer", "--field", "temp");
    expect(momentary.map((e) => e.result)).toEqual(["accepted", "fields", "done"]);
    expect(momentary[1]?.fields?.map((f) => f.name)).toEqual(["temp"]);
    expect(momentary[1]?.nodeId).toBe(agent.status().device.id);

    const since = new Date(Date.now() - 60_000).toISOString().slice(0, 19);
    const history = await readout("owner", "--flags", JSON.stringify({ from: `${since}Z` }));
    const blocks = history.filter((e) => e.result === "fields");
    expect(blocks.length).toBeGreaterThan(1); // several readings from the recent history
    expect(history.at(-1)?.result).toBe("done");

    expect(await readout("stranger")).toEqual([
      expect.objectContaining({ result: "rejected", error: "Access denied" }),
    ]);
    const badNode = await readout("viewer", "--node", "no-such-device");
    expect(badNode).toEqual([
      expect.objectContaining({ result: "rejected", error: "Invalid nodeId no-such-device" }),
    ]);
  });

  it("obeys slixmpp's XEP-0325 set from an operator only, with the device's answer", async () => {
    type Answer = { result: string; fields: string[]; error: string | null };
    const control = (user: string, ...sets: string[][]) =>
      python<Answer>("test/support/control_probe.py", [
        `${user}@localhost`,
        PASSWORD,
        "--agent",
        `${AGENT}/iot-agent`,
        ...sets.flatMap((s) => ["--set", ...s]),
      ]);
    await until(() => agent.status().device.state === "online", "device online");
    const ok = await control("owner", ["relay", "boolean", "false"], ["led", "string", "blink"]);
    expect(ok).toEqual([{ result: "OK", fields: [], error: null }]);
    expect(agent.emulator?.status().actuators).toMatchObject({ relay: "0", led: "blink" });

    const viewer = await control("viewer", ["relay", "boolean", "true"]);
    expect(viewer[0]?.result).toBe("InsufficientPrivileges");
    const stranger = await control("stranger", ["relay", "boolean", "true"]);
    expect(stranger[0]?.result).toBe("InsufficientPrivileges");
    expect(agent.emulator?.status().actuators.relay).toBe("0");

    const unknown = await control("owner", ["valve", "boolean", "true"]);
    expect(unknown[0]?.result).toBe("NotFound");
    const bad = await control("owner", ["relay", "int", "7"]);
    expect(bad[0]?.result).toBe("OtherError");
    // slixmpp 1.8 reads no parameter names or error text from a <setResponse> (its stanza class
    // lacks the interfaces, and it looks for <error> without a namespace): codes only here, the
    // payload is checked in test/unit/xmpp-control.test.ts.
  });

  it("offers slixmpp its commands as XEP-0050 ad-hoc commands, by role", async () => {
    type Stage = {
      status?: string;
      fields?: Record<string, { type: string; options: string[] }>;
      notes?: string[][];
      error?: string[];
    };
    type Result = { commands: string[][]; runs: Array<{ node: string; stages: Stage[] }> };
    const adhoc = (user: string, ...runs: string[][]) =>
      python<Result>("test/support/adhoc_probe.py", [
        `${user}@localhost`,
        PASSWORD,
        "--agent",
        `${AGENT}/iot-agent`,
        ...runs.flatMap((r) => ["--run", ...r]),
      ]);
    await until(() => agent.status().device.state === "online", "device online");
    const [owner] = await adhoc(
      "owner",
      ["status"],
      ["set", "actuator=relay", "/", "value=1"],
      ["get", "sensor=temp"],
    );
    expect(owner?.commands.map((c) => c[0])).toEqual(
      expect.arrayContaining(["status", "get", "set", "reconnect-device"]),
    );
    const [status, set, get] = owner?.runs ?? [];
    expect(status?.stages[0]?.status).toBe("completed");
    expect(status?.stages[0]?.notes?.[0]?.[1]).toMatch(/device envnode-emu/);
    expect(set?.stages.map((s) => s.status)).toEqual(["executing", "executing", "completed"]);
    expect(set?.stages[0]?.fields?.actuator?.options).toEqual(expect.arrayContaining(["relay"]));
    expect(set?.stages[1]?.fields?.value?.type).toBe("boolean");
    expect(set?.stages[2]?.notes?.[0]).toEqual(["info", expect.stringMatching(/relay set to on/)]);
    expect(agent.emulator?.status().actuators.relay).toBe("1");
    expect(get?.stages.at(-1)?.notes?.[0]?.[1]).toMatch(/^temp: /);

    const [viewer] = await adhoc("viewer", ["set"]);
    expect(viewer?.commands.map((c) => c[0])).not.toContain("set");
    expect(viewer?.runs[0]?.stages[0]?.error).toContain("forbidden");
    const [stranger] = await adhoc("stranger", ["status"]);
    expect(stranger?.commands).toEqual([]);
    expect(stranger?.runs[0]?.stages[0]?.error).toContain("forbidden");
  });

  it("publishes telemetry to its PEP node, readable by allow-listed contacts only", async () => {
    type Items = { items?: Array<{ id: string; readings: { seq: number }[] }>; error?: string };
    const fetch = (user: string, ...extra: string[]) =>
      python<Items>("test/support/pubsub_probe.py", [
        `${user}@localhost`,
        PASSWORD,
        "--agent",
        AGENT,
        "--node",
        "urn:xmpp-iot-agent:telemetry",
        ...extra,
      ]);
    await until(() => (agent.status().sinks.pubsub?.transport.published ?? 0) >= 3, "publishes");
    const [owner] = await fetch("owner", "--subscribe-presence");
    expect(owner?.items?.length).toBeGreaterThanOrEqual(3);
    const first = owner?.items?.[0];
    expect(first?.readings.length).toBeGreaterThan(0);
    expect(first?.id).toMatch(/^envnode-emu-[0-9a-f]+-\d+$/);
    expect(agent.status().sinks.pubsub?.pending).toBeLessThan(20); // acked by IQ results
    // The agent refuses strangers' presence subscriptions, so PEP's presence model keeps them out.
    const [stranger] = await fetch("stranger");
    expect(stranger?.items).toBeUndefined();
    expect(stranger?.error).toMatch(/forbidden|not-authorized/);
  });

  it("lives through hostile stanzas the server lets pass: huge, deep, wide, unknown", async () => {
    const { owner, stranger } = peers;
    const agentJid = agent.xmpp.jid ?? "";
    // 200 KiB of body, under Prosody's 256 KiB stanza limit: refused, with a reason.
    const refused = owner!.next(
      (s) => isChatFrom(AGENT)(s) && /too long/.test(s.getChildText("body") ?? ""),
    );
    await owner!.send(AGENT, "set relay on " + "x".repeat(200 * 1024));
    expect((await refused).getChildText("body")).toMatch(
      /204,?8\d\d characters; commands fit in 4096/,
    );
    // An IQ nested 10,000 deep (70 kB: Prosody limits size, not depth) and a message with 5,000
    // children, from a stranger.
    const deep = `<q xmlns='urn:example:deep'>${"<x>".repeat(10_000)}${"</x>".repeat(10_000)}</q>`;
    const iqError = stranger!.next((s) => s.is("iq") && s.attrs.id === "deep-1");
    // Written raw: xmpp.js's serializer (ltx's recursive toString) cannot write it either.
    await stranger!.client.entity.write(`<iq to='${agentJid}' type='get' id='deep-1'>${deep}</iq>`);
    const wide = Array.from({ length: 5000 }, (_, i) => xml("item", { n: String(i) }));
    await stranger!.client.entity.send(
      xml("message", { to: agentJid, type: "chat" }, xml("body", {}, "get"), ...wide),
    );
    const answer = await iqError;
    // Answered by the agent itself (not bounced by the server), refused before any handler,
    // with nothing echoed: an echo of the payload could not even be serialized.
    expect(answer.attrs).toMatchObject({ type: "error", from: agentJid });
    expect(answer.getChild("error")?.getChild("policy-violation")).toBeDefined();
    expect(answer.getChild("q")).toBeUndefined();
    // A shallow unknown payload still gets service-unavailable (RFC 6120 §8.4).
    const unknown = stranger!.next((s) => s.is("iq") && s.attrs.id === "unknown-1");
    await stranger!.client.entity.send(
      xml("iq", { to: agentJid, type: "get", id: "unknown-1" }, xml("q", { xmlns: "urn:x" })),
    );
    expect((await unknown).getChild("error")?.getChild("service-unavailable")).toBeDefined();
    // Still online, still answering the owner.
    const pong = owner!.next((s) => isChatFrom(AGENT)(s) && s.getChildText("body") === "pong");
    await owner!.send(AGENT, "ping");
    await pong;
    expect(agent.xmpp.online).toBe(true);
  });

  it("reconnects by itself after Prosody restarts, and telemetry resumes", async () => {
    await server.stop(true);
    await until(() => !agent.xmpp.online, "agent offline");
    await server.start();
    const started = Date.now();
    await until(() => agent.xmpp.online, "agent back online", 30_000);
    const dash = await startPeer(server, "dash", PASSWORD, await readFile(server.caFile, "utf8"));
    try {
      // While dash was away its server bounced telemetry and the agent paused it; writing to
      // the agent shows it is back.
      const telemetry = dash.next(telemetryFrom(AGENT));
      await dash.send(AGENT, "ping");
      await telemetry;
    } finally {
      await dash.stop();
    }
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
