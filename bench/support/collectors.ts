/**
 * Both ends of a measured pipeline, in the bench process so they share one clock: the emulated
 * device noting when each reading's line went onto the pty, and the subscribers (XMPP or MQTT)
 * noting when it arrived. A reading is known by (device, boot, seq) at both ends.
 */
import { readFile } from "node:fs/promises";
import mqtt from "mqtt";
import { DeviceEmulator } from "../../firmware-bridge/emulator/index.js";
import type { ProsodyServer } from "../../src/demo/prosody.js";
import { xml, type Element } from "../../src/xmpp/client.js";
import { parseReadingIds } from "../../src/xmpp/sensordata.js";
import { startPeer, type Peer } from "../../test/support/xmpp-peer.js";

const key = (device: string, boot: string, seq: number) => `${device}/${boot}/${seq}`;

/** First arrival of each reading; repeats are counted, not timed. */
export class Arrivals {
  readonly at = new Map<string, number>();
  duplicates = 0;
  record(device: string, boot: string, seq: number, now = performance.now()): void {
    const k = key(device, boot, seq);
    if (this.at.has(k)) this.duplicates++;
    else this.at.set(k, now);
  }
  /** Arrivals in [from, to) on the performance.now() clock. */
  countBetween(from: number, to: number): number {
    let n = 0;
    for (const t of this.at.values()) if (t >= from && t < to) n++;
    return n;
  }
}

export interface TrackedDevice {
  emulator: DeviceEmulator;
  deviceId: string;
  /** When each RD line was written to the pty. */
  sent: Map<string, number>;
}

export async function startDevice(
  link: string,
  rateHz: number,
  deviceId = "envnode-emu",
  seed = 1,
): Promise<TrackedDevice> {
  const emulator = await DeviceEmulator.start({ link, rateHz, deviceId, seed });
  const sent = new Map<string, number>();
  emulator.on("line-sent", (s) => {
    if (s.frame.type === "RD")
      sent.set(key(deviceId, s.frame.boot, s.frame.seq), performance.now());
  });
  return { emulator, deviceId, sent };
}

/** Milliseconds from pty write to arrival, for readings written in [from, to). */
export function latencies(sent: Map<string, number>, arrivals: Arrivals, from = 0, to = Infinity) {
  const out: number[] = [];
  for (const [k, t] of sent) {
    const got = arrivals.at.get(k);
    if (got !== undefined && t >= from && t < to) out.push(got - t);
  }
  return out;
}

export interface XmppSubscriber {
  peer: Peer;
  arrivals: Arrivals;
  /** Resolves at the first available presence from `bareJid` received after the call. */
  nextAvailable(bareJid: string, timeoutMs?: number): Promise<number>;
  subscribeTo(bareJid: string): Promise<void>;
  stop(): Promise<void>;
}

export async function xmppSubscriber(
  server: ProsodyServer,
  name: string,
  password: string,
): Promise<XmppSubscriber> {
  const peer = await startPeer(server, name, password, await readFile(server.caFile, "utf8"));
  const arrivals = new Arrivals();
  // One presence waiter per agent starting at once (a fleet start): not a listener leak.
  peer.client.entity.setMaxListeners(100);
  peer.client.entity.on("stanza", (stanza: Element) => {
    if (!stanza.is("message")) return;
    const now = performance.now();
    try {
      for (const id of parseReadingIds(stanza)) arrivals.record(id.device, id.boot, id.seq, now);
    } catch {
      // Not a telemetry message (a chat reply, an alert): nothing to count.
    }
  });
  // Keep only the newest stanzas: a long run would otherwise hold every reading in memory.
  const trim = setInterval(() => peer.received.splice(0, peer.received.length), 5_000);
  trim.unref();
  return {
    peer,
    arrivals,
    nextAvailable: (bareJid, timeoutMs = 30_000) =>
      peer
        .next(
          (s) =>
            s.is("presence") &&
            s.attrs.type === undefined &&
            String(s.attrs.from ?? "").startsWith(`${bareJid}/`),
          timeoutMs,
        )
        .then(() => performance.now()),
    subscribeTo: (bareJid) =>
      peer.client.entity.send(xml("presence", { to: bareJid, type: "subscribe" })),
    stop: async () => {
      clearInterval(trim);
      await peer.stop();
    },
  };
}

export interface MqttSubscriber {
  arrivals: Arrivals;
  stop(): Promise<void>;
}

/** Counts `<base>/<device>/state` JSON payloads, the form both the agent and the flow publish. */
export async function mqttSubscriber(url: string, base = "iot-agent"): Promise<MqttSubscriber> {
  const client = await mqtt.connectAsync(url, {
    clientId: `bench-sub-${process.pid}`,
    clean: true,
  });
  const arrivals = new Arrivals();
  client.on("message", (topic, payload) => {
    if (!topic.endsWith("/state") || topic.split("/").length !== 3) return;
    const now = performance.now();
    try {
      const r = JSON.parse(payload.toString()) as { device: string; boot: string; seq: number };
      arrivals.record(r.device, r.boot, r.seq, now);
    } catch {
      // Not a reading: ignored, it simply does not count as delivered.
    }
  });
  await client.subscribeAsync(`${base}/+/state`, { qos: 1 });
  return { arrivals, stop: () => client.endAsync() };
}
