/**
 * XmppTelemetry as a relay transport (src/xmpp/telemetry.ts), with a connection that confirms
 * every stanza: what counts as delivered when recipients bounce.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { DeliveryFilter } from "../../src/core/delivery-policy.js";
import { LaneFilter } from "../../src/core/lane-filter.js";
import type { OutboxEntry } from "../../src/core/outbox/index.js";
import type { Element } from "../../src/xmpp/client.js";
import { RecipientHealth } from "../../src/xmpp/recipients.js";
import { Subscribers } from "../../src/xmpp/subscribers.js";
import { XmppTelemetry } from "../../src/xmpp/telemetry.js";

function setup(subscribers: string[], waitForSubscriber = true) {
  const sent: Element[] = [];
  const lines: string[] = [];
  const log = pino(
    { level: "warn" },
    new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }),
  );
  let now = 1_000_000;
  const health = new RecipientHealth({ now: () => now, random: () => 0.5 });
  const recipients = new Subscribers(subscribers);
  const telemetry = new XmppTelemetry({
    connection: {
      online: true,
      sendAcked: (stanza) => (sent.push(stanza), Promise.resolve()),
    },
    subscribers: recipients,
    filter: new LaneFilter(() => new DeliveryFilter()),
    health,
    device: () => undefined,
    log,
    waitForSubscriber,
  });
  const advance = (ms: number) => (now += ms);
  return { telemetry, sent, lines, advance, recipients };
}

let seq = 0;
function entries(count: number): OutboxEntry[] {
  return Array.from({ length: count }, () => {
    seq += 1;
    const values = [{ sensor: "temp", kind: "num" as const, value: 20 }];
    return { seq, at: seq, reading: { device: "d", boot: "b", seq, receivedAt: seq, values } };
  });
}

describe("XmppTelemetry", () => {
  it("is not ready while nobody is subscribed, so readings wait for the first subscriber", async () => {
    const { telemetry, recipients } = setup([]);
    expect(telemetry.ready).toBe(false);
    await recipients.add("juliet@example.org");
    expect(telemetry.ready).toBe(true);
    await recipients.remove("juliet@example.org");
    expect(telemetry.ready).toBe(false);
    // Configured not to wait: nobody subscribed lets readings go, as sent to no one.
    expect(setup([], false).telemetry.ready).toBe(true);
  });

  it("confirms nothing while every recipient is paused: the readings stay in the outbox", async () => {
    const { telemetry, sent, advance } = setup(["dash@example.org"]);
    await telemetry.deliver(entries(1), "live");
    telemetry.bounced("dash@example.org", "service-unavailable");
    await expect(telemetry.deliver(entries(2), "live")).rejects.toThrow(
      /every telemetry recipient is paused/,
    );
    expect(sent).toHaveLength(1);
    advance(60_000); // the pause is over
    await telemetry.deliver(entries(1), "replay");
    expect(sent).toHaveLength(2);
  });

  it("counts the readings of a message the recipient's server bounced", async () => {
    const { telemetry, sent, lines } = setup(["dash@example.org"]);
    await telemetry.deliver(entries(3), "replay");
    const id = String(sent[0]?.attrs.id);
    telemetry.bounced("dash@example.org", "service-unavailable", id);
    expect(telemetry.stats).toMatchObject({ bounces: 1, readingsBounced: 3 });
    expect(lines.at(-1)).toMatch(/3 readings not delivered to it; paused/);
  });

  it("keeps sending to the others, and says what a paused recipient missed when it resumes", async () => {
    const { telemetry, sent, lines, advance } = setup(["a@example.org", "b@example.org"]);
    telemetry.bounced("b@example.org", "service-unavailable");
    await telemetry.deliver(entries(3), "live");
    await telemetry.deliver(entries(2), "live");
    expect(sent.map((s) => String(s.attrs.to))).toEqual(["a@example.org", "a@example.org"]);
    expect(telemetry.stats).toMatchObject({ skippedPaused: 2, readingsSkipped: 5 });
    advance(60_000);
    await telemetry.deliver(entries(1), "live");
    expect(sent.at(-1)?.attrs.to).toBe("b@example.org");
    const warning = lines.map((l) => JSON.parse(l) as { msg: string; readings?: number }).at(-1);
    expect(warning).toMatchObject({ readings: 5 });
    expect(warning?.msg).toMatch(/b@example.org resumed; 5 readings were not sent/);
  });
});
