/**
 * Pieces of the authorization matrix (test/integration/authz-matrix.test.ts): the captured log
 * its audit column is read from, messages that wrap a command claimed to come from the owner,
 * and MQTT set-topic cells, where the sender is whoever may publish to the broker.
 */
import { Writable } from "node:stream";
import mqtt, { type MqttClient } from "mqtt";
import { pino, type Logger } from "pino";
import type { Agent } from "../../src/agent.js";
import { xml, type Element } from "../../src/xmpp/client.js";
import { awaitMessageReply, nextId, type Seen } from "./authz-paths.js";
import type { MosquittoBroker } from "./mosquitto.js";
import type { Peer } from "./xmpp-peer.js";
import { until } from "./wait.js";

export interface Observed {
  reply: string;
  device: "changed" | "unchanged";
  audit: string;
}

export interface Cell {
  sender: string;
  path: string;
  expected: Observed;
  run: () => Promise<Observed>;
}

type Entry = {
  msg?: string;
  audit?: string;
  event?: string;
  reason?: string;
  sender?: string;
  role?: string;
  [key: string]: unknown;
};

export interface CapturedLog {
  logger: Logger;
  entries(): Entry[];
  /** The audit records (core/audit.ts), oldest first. */
  audit(): Entry[];
  /** Audit records after the first `mark`: "event[:reason],… sender role", or "none". */
  summary(mark: number): string;
}

/** A debug-level logger kept in memory, to read the agent's audit records and decisions. */
export function captureLog(): CapturedLog {
  const entries: Entry[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _enc, done) => (
      entries.push(JSON.parse(chunk.toString()) as Entry),
      done()
    ),
  });
  const audit = () => entries.filter((e) => e.audit === "command");
  return {
    logger: pino({ level: "debug" }, sink),
    entries: () => entries,
    audit,
    summary(mark) {
      const fresh = audit().slice(mark);
      if (fresh.length === 0) return "none";
      const events = fresh.map((e) => (e.reason ? `${e.event}:${e.reason}` : `${e.event}`));
      return `${events.join(",")} ${fresh[0]?.sender} ${fresh[0]?.role}`;
    },
  };
}

const CARBONS_NS = "urn:xmpp:carbons:2";
const FORWARD_NS = "urn:xmpp:forward:0";

/** A chat message as the owner would have sent it, to be wrapped by someone else. */
const ownersMessage = (text: string) =>
  xml(
    "message",
    { xmlns: "jabber:client", from: "owner@localhost/test", to: "agent@localhost", type: "chat" },
    xml("body", {}, text),
  );
const forwarded = (text: string) => xml("forwarded", { xmlns: FORWARD_NS }, ownersMessage(text));

export interface Wrapper {
  name: string;
  /** "stranger": answered as the outer sender; "ignored": not a command at all. */
  expect: "stranger" | "ignored";
  send: (on: boolean) => Promise<Seen>;
}

/**
 * Messages from `peer` (a stranger) that claim, in their payload, to carry the owner's command.
 * Only the outer `from`, stamped by the server, may count.
 */
export function wrapped(peer: () => Peer, log: CapturedLog): Wrapper[] {
  const text = (on: boolean) => `set relay ${on ? "on" : "off"}`;
  const ignored = (name: string, reason: string, payload: (t: string) => Element[]): Wrapper => ({
    name,
    expect: "ignored",
    send: (on) => sendIgnored(peer(), log, reason, payload(text(on))),
  });
  return [
    {
      name: "XEP-0033 ofrom=owner",
      expect: "stranger",
      send: (on) => {
        const id = nextId("ofrom");
        const addresses = xml(
          "addresses",
          { xmlns: "http://jabber.org/protocol/address" },
          xml("address", { type: "ofrom", jid: "owner@localhost/test" }),
        );
        const stanza = xml(
          "message",
          { to: "agent@localhost", type: "chat", id },
          xml("body", {}, text(on)),
          addresses,
        );
        return awaitMessageReply(peer(), id, () => peer().client.entity.send(stanza));
      },
    },
    ignored("XEP-0297 forwarded from owner", "forwarded copy", (t) => [forwarded(t)]),
    ignored("XEP-0280 <received> carbon", "carbon copy", (t) => [
      xml("received", { xmlns: CARBONS_NS }, forwarded(t)),
    ]),
    ignored("XEP-0280 <sent> carbon", "carbon copy", (t) => [
      xml("sent", { xmlns: CARBONS_NS }, forwarded(t)),
    ]),
    ignored("XEP-0313 archived result", "archived copy", (t) => [
      xml("result", { xmlns: "urn:xmpp:mam:2", id: "archived-1" }, forwarded(t)),
    ]),
  ];
}

/**
 * Sends a wrapper and waits for the agent's own account of it (its debug line "message
 * ignored" with the reason), then a short quiet period for any reply. A wrapper that never
 * reaches the agent is reported as such, so it cannot pass as "ignored".
 */
async function sendIgnored(
  peer: Peer,
  log: CapturedLog,
  reason: string,
  payload: Element[],
): Promise<Seen> {
  const id = nextId("wrapped");
  const mark = log.entries().length;
  await peer.client.entity.send(
    xml("message", { to: "agent@localhost", type: "chat", id }, ...payload),
  );
  const seen = () =>
    log
      .entries()
      .slice(mark)
      .some((e) => e.msg === "message ignored" && e.reason === reason);
  const reached = await until(seen, `the agent to ignore a ${reason}`, 5_000).then(
    () => true,
    () => false,
  );
  await new Promise((r) => setTimeout(r, 300));
  const answered = peer.received.some(
    (s) => s.attrs.id === id || s.getChild("reply")?.attrs.id === id,
  );
  if (!reached) return { reply: "not-delivered", detail: "no 'message ignored' line" };
  return answered ? { reply: "answer", detail: "replied" } : { reply: "none", detail: "ignored" };
}

export interface MqttWatch {
  client: MqttClient;
  messages: Array<{ topic: string; payload: string }>;
}

interface MqttDeps {
  agent: () => Agent;
  log: () => CapturedLog;
  watch: () => MqttWatch;
}

/**
 * A command published to `topic`. "grant": the device changes, the new state is published;
 * "invalid": refused, published on the error topic; "off": nobody is listening.
 */
export function mqttCell(
  deps: MqttDeps,
  name: string,
  topic: string,
  expect: "grant" | "invalid" | "off",
): Cell {
  // MQTT names no sender: every command on the base shares one identity and rate limit.
  const who = `mqtt:${topic.split("/")[0]} operator`;
  const expected: Observed = {
    grant: { reply: "state", device: "changed" as const, audit: `accepted,done ${who}` },
    invalid: {
      reply: "error-topic",
      device: "unchanged" as const,
      audit: `refused:invalid ${who}`,
    },
    off: { reply: "none", device: "unchanged" as const, audit: "none" },
  }[expect];
  const prefix = topic.split("/").slice(0, 2).join("/");
  return {
    sender: `mqtt publisher: ${name}`,
    path: "mqtt set",
    expected,
    async run() {
      const { messages, client } = deps.watch();
      const actuators = () => JSON.stringify(deps.agent().emulator?.status().actuators);
      const before = actuators();
      const mark = { audit: deps.log().audit().length, mqtt: messages.length };
      const on = deps.agent().emulator?.status().actuators.relay !== "1";
      await client.publishAsync(topic, on ? "on" : "off", { qos: 1 });
      const fresh = () => messages.slice(mark.mqtt).filter((m) => m.topic.startsWith(`${prefix}/`));
      const reply = () => {
        if (fresh().some((m) => m.topic.endsWith("/relay/state"))) return "state";
        return fresh().some((m) => m.topic.endsWith("/error")) ? "error-topic" : "none";
      };
      // Waiting for what a grant or a refusal produces; "off" produces nothing, so a quiet spell.
      await until(() => reply() !== "none", "an MQTT answer", expect === "off" ? 700 : 5_000).catch(
        () => undefined,
      );
      return {
        reply: reply(),
        device: actuators() === before ? "unchanged" : "changed",
        audit: deps.log().summary(mark.audit),
      };
    },
  };
}

interface RetainedDeps extends MqttDeps {
  broker: () => MosquittoBroker;
  /** The agent's MQTT client id, to take its session over and so make it reconnect. */
  clientId: string;
  /** Sets the relay by another path (XMPP), as a person would after the MQTT command. */
  undo: (on: boolean) => Promise<unknown>;
}

/**
 * A retained set on `topic`: carried out once, live; then the relay is set back over XMPP and
 * the agent made to reconnect, when the broker would hand it the retained set again. Replaying
 * it would undo the later XMPP change: the cell expects nothing at all to happen.
 */
export function mqttRetainedCell(deps: RetainedDeps, name: string, topic: string): Cell {
  const relay = () => deps.agent().emulator?.status().actuators.relay;
  const connects = () =>
    Number((deps.agent().status().sinks.mqtt?.transport as { connects?: number }).connects);
  return {
    sender: `mqtt publisher: ${name}`,
    path: "mqtt retained",
    expected: { reply: "none", device: "unchanged", audit: "none" },
    async run() {
      const { messages, client } = deps.watch();
      const states = (from: number) =>
        messages.slice(from).filter((m) => m.topic.endsWith("/relay/state")).length;
      const on = relay() !== "1";
      const live = messages.length;
      await client.publishAsync(topic, on ? "on" : "off", { qos: 1, retain: true });
      // Its state message too, so that it cannot be taken for a replay's below.
      await until(() => relay() === (on ? "1" : "0") && states(live) > 0, "the live command");
      await deps.undo(!on);
      await until(() => relay() === (on ? "0" : "1"), "the relay set back over XMPP");
      const mark = {
        audit: deps.log().audit().length,
        mqtt: messages.length,
        connects: connects(),
      };
      const before = relay();
      const impostor = await mqtt.connectAsync(deps.broker().url, {
        clientId: deps.clientId,
        reconnectPeriod: 0,
      });
      await impostor.endAsync();
      await until(() => connects() > mark.connects, "the agent to reconnect", 15_000);
      // A replay would act within moments of the new subscription: a quiet spell, then look.
      await until(() => states(mark.mqtt) > 0, "a replay", 2_000).catch(() => undefined);
      return {
        reply: states(mark.mqtt) > 0 ? "state" : "none",
        device: relay() === before ? "unchanged" : "changed",
        audit: deps.log().summary(mark.audit),
      };
    },
  };
}

/** A client watching every agent's error and relay state topics on `b`. */
export async function watchBroker(b: MosquittoBroker): Promise<MqttWatch> {
  const client: MqttClient = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
  const messages: Array<{ topic: string; payload: string }> = [];
  client.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
  await client.subscribeAsync(["+/+/error", "+/+/relay/state"], { qos: 1 });
  return { client, messages };
}

export const MUC_NS = "http://jabber.org/protocol/muc";

/** `peer` enters the room as `occupant` (room@service/nick); resolves once it is in. */
export async function joinAs(peer: Peer, occupant: string): Promise<void> {
  const self = peer.next((s) => s.is("presence") && s.attrs.from === occupant);
  await peer.client.entity.send(xml("presence", { to: occupant }, xml("x", { xmlns: MUC_NS })));
  await self;
}
