/**
 * Who may do what, as a matrix: every sender (listed roles, strangers, look-alike accounts, a
 * room occupant, wrappers claiming the owner, forged spellings) × every command path (chat,
 * XEP-0050, XEP-0325, MQTT set topics), against one agent on a real Prosody with MUC and a real
 * Mosquitto. Each cell checks three observables: what the sender got back, whether the device
 * changed (the emulator's actuator state, or a new HELLO), and the audit record.
 */
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent.js";
import { loadConfig } from "../../src/config/load.js";
import { xml } from "../../src/xmpp/client.js";
import { adhocSetRelay, awaitMessageReply, chatCommand } from "../support/authz-paths.js";
import { controlSetRelay, nextId, type Seen } from "../support/authz-paths.js";
import {
  captureLog,
  joinAs,
  MUC_NS,
  mqttCell,
  mqttRetainedCell,
  watchBroker,
  wrapped,
} from "../support/authz-cells.js";
import { slixAdhocSet, slixChat, slixControlSet } from "../support/authz-slixmpp.js";
import type { CapturedLog, Cell, MqttWatch, Observed } from "../support/authz-cells.js";
import { ALL_PATHS, CHAT_PATHS, TEXT, expectOf, expectedOf } from "../support/authz-expect.js";
import type { AuditedAs, Expect, Path } from "../support/authz-expect.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { addMucComponent, startProsody, type ProsodyServer } from "../support/prosody.js";
import { startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";

const PASSWORD = "peer-pw-authz";
const AGENT_FULL = "agent@localhost/iot-agent";
const ROOM = "lab@conference.localhost";
/** Cyrillic "о" in place of the Latin "o": a different account that reads the same. */
const LOOKALIKE = "\u043ewner";

/** Who sends, how the agent must see them, and how a command reaches the agent from them. */
interface Sender {
  name: string;
  /** The bare JID the audit log must name, and the role it must record. */
  audit: AuditedAs;
  paths: Path[];
  act: (path: Path, on: boolean) => Promise<Seen>;
}

let server: ProsodyServer;
let broker: MosquittoBroker;
let dir: string;
let agent: Agent;
let offAgent: Agent;
let log: CapturedLog;
let offLog: CapturedLog;
let watch: MqttWatch;
const peers: Record<string, Peer> = {};

function config(user: string, port: string, mqttBlock: string): string {
  return `xmpp:
  service: ${server.service}
  domain: localhost
  username: ${user}
  password: { env: AGENT_PASSWORD }
  tls: { caFile: ${server.caFile} }
device: { port: ${join(dir, port)}, emulate: true }
access:
  allow:
    - { jid: owner@localhost, role: admin }
    - { jid: op@localhost, role: operator }
    - { jid: viewer@localhost, role: viewer }
  strangers: error
  rateLimit: { commands: 1000, perSeconds: 60 }
outbox: { dir: ${join(dir, `outbox-${user}`)} }
mqtt:
  url: ${broker.url}
  tls: { allowPlaintext: true }
  discovery: { enabled: false }
${mqttBlock}`;
}

async function startAgent(user: string, port: string, mqttBlock: string, captured: CapturedLog) {
  const file = join(dir, `${user}.yaml`);
  await writeFile(file, config(user, port, mqttBlock), { mode: 0o600 });
  const loaded = await loadConfig(file, { AGENT_PASSWORD: "agent-pw-authz" });
  const started = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    log: captured.logger,
  });
  await until(() => started.status().device.state === "online", `${user}'s device online`);
  return started;
}

beforeAll(async () => {
  server = await startProsody();
  await addMucComponent(server);
  for (const u of ["owner", "op", "viewer", "stranger", LOOKALIKE]) {
    await server.register(u, PASSWORD);
  }
  for (const u of ["agent", "agentoff"]) await server.register(u, "agent-pw-authz");
  await server.start();
  broker = await startMosquitto();
  await broker.start();
  dir = await mkdtemp(join(tmpdir(), "iot-authz-"));
  const caPem = await readFile(server.caFile, "utf8");
  const login = (user: string, resource = "test") =>
    startPeer(server, user, PASSWORD, caPem, resource);
  Object.assign(peers, {
    owner: await login("owner"),
    phone: await login("owner", "phone"),
    // The server folds the case (nodeprep): this is the owner's account, logged in as "Owner".
    cased: await login("Owner", "cased"),
    op: await login("op"),
    viewer: await login("viewer"),
    stranger: await login("stranger"),
    mimic: await login("stranger", "owner@localhost"),
  });
  log = captureLog();
  offLog = captureLog();
  const commands = "  commands: { role: operator, actuators: [relay] }\n";
  agent = await startAgent("agent", "ttyAUTHZ", `  clientId: authz-on\n${commands}`, log);
  // No mqtt.commands section: commands over MQTT are off.
  const off = "  clientId: authz-off\n  baseTopic: iot-off\n";
  offAgent = await startAgent("agentoff", "ttyOFF", off, offLog);
  watch = await watchBroker(broker);
  await joinRoom();
}, 60_000);

afterAll(async () => {
  await watch?.client.endAsync();
  await agent?.stop();
  await offAgent?.stop();
  await Promise.all(Object.values(peers).map((p) => p.stop()));
  await broker?.destroy();
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The owner and the agent in a room; a stranger joins under the nick "owner". */
async function joinRoom(): Promise<void> {
  await joinAs(peers.owner!, `${ROOM}/boss`);
  const agentJoined = peers.owner!.next(
    (s) => s.is("presence") && s.attrs.from === `${ROOM}/device`,
  );
  await agent.xmpp.send(xml("presence", { to: `${ROOM}/device` }, xml("x", { xmlns: MUC_NS })));
  await agentJoined;
  await joinAs(peers.stranger!, `${ROOM}/owner`);
}

const relay = (a: Agent) => a.emulator?.status().actuators.relay;
let hellos = 0;

/** Runs one XMPP cell: the command, then the device and the audit records it produced. */
async function observe(path: Path, act: (on: boolean) => Promise<Seen>): Promise<Observed> {
  const mark = log.audit().length;
  const before = { relay: relay(agent), hellos };
  const on = before.relay !== "1";
  const seen = await act(on);
  if (seen.reply === "answer" && path !== "chat get") {
    const done = () =>
      path === "chat admin" ? hellos > before.hellos : relay(agent) !== before.relay;
    await until(done, "the device to change").catch(() => undefined);
  }
  const changed = path === "chat admin" ? hellos > before.hellos : relay(agent) !== before.relay;
  return { reply: seen.reply, device: changed ? "changed" : "unchanged", audit: log.summary(mark) };
}

function xmppCells(sender: Sender, expect?: Expect): Cell[] {
  return sender.paths.map((path) => ({
    sender: sender.name,
    path,
    expected: expectedOf(path, expect ?? expectOf(sender.audit.role, path), sender.audit),
    run: () => observe(path, (on) => sender.act(path, on)),
  }));
}

/** Sends through a real logged-in client: chat to `to`, IQs to the agent. */
function real(peer: () => Peer, to = "agent@localhost"): Sender["act"] {
  return (path, on) => {
    if (path === "adhoc set") return adhocSetRelay(peer(), AGENT_FULL, on);
    if (path === "control set") return controlSetRelay(peer(), AGENT_FULL, on);
    return chatCommand(peer(), to, TEXT[path](on));
  };
}

/** The same paths through slixmpp, for an account xmpp.js cannot log in as. */
function slixmpp(user: string): Sender["act"] {
  const jid = `${user}@localhost`;
  return (path, on) => {
    if (path === "adhoc set") return slixAdhocSet(server, jid, PASSWORD, AGENT_FULL, on);
    if (path === "control set") return slixControlSet(server, jid, PASSWORD, AGENT_FULL, on);
    return slixChat(server, jid, PASSWORD, "agent@localhost", TEXT[path](on));
  };
}

/**
 * A chat message whose `from` the server would never let through, handed to the agent as if
 * received: the server folds these spellings into the owner's account (prosodyctl registers
 * "ｏｗｎｅｒ" and "owner\u200b" as "owner"), so no second account can send them. The reply goes
 * out for real and the server routes it to the owner's "test" resource.
 */
function forged(from: string): Sender["act"] {
  return (path, on) => {
    const id = nextId("forged");
    const stanza = xml(
      "message",
      { from, to: AGENT_FULL, type: "chat", id },
      xml("body", {}, TEXT[path as keyof typeof TEXT](on)),
    );
    return awaitMessageReply(peers.owner!, id, () =>
      Promise.resolve(agent.xmpp.emit("stanza", stanza)),
    );
  };
}

const admin = (name: string, act: Sender["act"], paths = ALL_PATHS): Sender => ({
  name,
  audit: { sender: "owner@localhost", role: "admin" },
  paths,
  act,
});
const nobody = (name: string, sender: string, act: Sender["act"], paths = ALL_PATHS): Sender => ({
  name,
  audit: { sender, role: "none" },
  paths,
  act,
});

function matrix(): Cell[] {
  const senders: Sender[] = [
    admin(
      "owner@localhost/test",
      real(() => peers.owner!),
    ),
    admin(
      "owner@localhost/phone (other resource)",
      real(() => peers.phone!),
    ),
    admin(
      "Owner (login, case folded by server)",
      real(() => peers.cased!),
    ),
    {
      ...admin(
        "op@localhost",
        real(() => peers.op!),
      ),
      audit: { sender: "op@localhost", role: "operator" },
    },
    {
      ...admin(
        "viewer@localhost",
        real(() => peers.viewer!),
      ),
      audit: { sender: "viewer@localhost", role: "viewer" },
    },
    nobody(
      "stranger@localhost",
      "stranger@localhost",
      real(() => peers.stranger!),
    ),
    nobody(
      "stranger@localhost/owner@localhost",
      "stranger@localhost",
      real(() => peers.mimic!),
    ),
    nobody(`${LOOKALIKE}@localhost (Cyrillic о)`, `${LOOKALIKE}@localhost`, slixmpp(LOOKALIKE)),
    nobody(
      "room PM, stranger as nick owner",
      ROOM,
      real(() => peers.stranger!, `${ROOM}/device`),
      CHAT_PATHS,
    ),
    nobody(
      "room PM, owner as occupant",
      ROOM,
      real(() => peers.owner!, `${ROOM}/device`),
      CHAT_PATHS,
    ),
    admin(
      "forged ｏｗｎｅｒ@localhost (fullwidth)",
      forged("ｏｗｎｅｒ@localhost/test"),
      CHAT_PATHS,
    ),
    admin("forged OWNER@LOCALHOST", forged("OWNER@LOCALHOST/test"), CHAT_PATHS),
    nobody(
      "forged owner\\u200b (zero-width)",
      "(invalid JID)",
      forged("owner\u200b@localhost/test"),
      CHAT_PATHS,
    ),
  ];
  const who = { sender: "stranger@localhost", role: "none" as const };
  const wrappers = wrapped(() => peers.stranger!, log).map((w) => ({
    sender: `stranger: ${w.name}`,
    path: "chat set",
    expected: expectedOf("chat set", w.expect, who),
    run: () => observe("chat set", w.send),
  }));
  return [...senders.flatMap((s) => xmppCells(s)), ...wrappers, ...mqttCells()];
}

function mqttCells(): Cell[] {
  const deps = { agent: () => agent, log: () => log, watch: () => watch };
  const base = "iot-agent/envnode-emu";
  return [
    mqttCell(deps, "allowed: relay, role operator", `${base}/relay/set`, "grant"),
    mqttCell(deps, "led, outside mqtt.commands.actuators", `${base}/led/set`, "invalid"),
    mqttCell(deps, "another device's topic", "iot-agent/other-node/relay/set", "invalid"),
    mqttCell(
      { ...deps, agent: () => offAgent, log: () => offLog },
      "commands off (no mqtt.commands)",
      "iot-off/envnode-emu/relay/set",
      "off",
    ),
    // Last: its retained message stays on the broker, where only a reconnect would see it.
    mqttRetainedCell(
      {
        ...deps,
        broker: () => broker,
        clientId: "authz-on",
        undo: (on) => chatCommand(peers.owner!, "agent@localhost", TEXT["chat set"](on)),
      },
      "retained set, replayed at reconnect",
      `${base}/relay/set`,
    ),
  ];
}

describe("authorization matrix", () => {
  it("grants exactly what each role allows, on every path, and nothing to anyone else", async () => {
    agent.link.on("hello", () => void (hellos += 1));
    const started = Date.now();
    const rows: Array<Cell & { observed: Observed; held: boolean }> = [];
    for (const cell of matrix()) {
      const observed = await cell.run();
      rows.push({
        ...cell,
        observed,
        held: JSON.stringify(observed) === JSON.stringify(cell.expected),
      });
    }
    const table = rows.map(
      (r) =>
        `${r.held ? "ok  " : "FAIL"} ${r.sender.padEnd(44)} ${r.path.padEnd(14)} ` +
        `${r.observed.reply}/${r.observed.device}/${r.observed.audit}` +
        (r.held ? "" : `   expected ${r.expected.reply}/${r.expected.device}/${r.expected.audit}`),
    );
    const grants = rows.filter(
      (r) => r.expected.reply === "answer" || r.expected.reply === "state",
    );
    const refusals = rows.length - grants.length;
    const heldRefusals = rows.filter((r) => r.held && !grants.includes(r)).length;
    console.log(table.join("\n"));
    console.log(
      `authz matrix: ${rows.length} cells, ${heldRefusals}/${refusals} refusals held, ` +
        `${grants.filter((r) => r.held).length}/${grants.length} grants, ${Date.now() - started} ms`,
    );
    expect(rows.filter((r) => !r.held).map((r) => `${r.sender} × ${r.path}`)).toEqual([]);
  }, 90_000);
});
