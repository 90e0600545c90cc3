/** Outgoing stanza builders: exact XML for known inputs, and the cases where nothing is due. */
import { xml } from "@xmpp/client";
import { describe, expect, it } from "vitest";
import type { DeviceDescription, Reading } from "../../src/core/reading.js";
import {
  chatReply,
  humanSummary,
  presence,
  receiptFor,
  stanzaError,
  subscriptionAnswer,
  telemetryMessage,
  withReceiptRequest,
} from "../../src/xmpp/stanzas.js";
import { sampleReading } from "../support/stanza-fixtures.js";

const reading: Reading = sampleReading([
  { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
  { sensor: "hum", kind: "num", value: 40.2, unit: "%" },
  { sensor: "door", kind: "enum", value: "closed" },
]);

describe("telemetryMessage", () => {
  it("carries a body, the XEP-0323 fields and the reading id", () => {
    const el = telemetryMessage({ to: "ops@example.org", id: "tm-1", readings: [reading] });
    expect(el.toString()).toBe(
      '<message to="ops@example.org" id="tm-1" type="normal">' +
        "<body>envnode-01 #1523: temp 21.5 °C, hum 40.2 %, door closed</body>" +
        '<fields xmlns="urn:xmpp:iot:sensordata" seqnr="0" done="true">' +
        '<node nodeId="envnode-01"><timestamp value="2025-01-02T03:04:05.678Z">' +
        '<numeric name="temp" value="21.5" unit="°C" momentary="true" automaticReadout="true"/>' +
        '<numeric name="hum" value="40.2" unit="%" momentary="true" automaticReadout="true"/>' +
        '<enum name="door" value="closed" dataType="urn:xmpp-iot-agent:enum:door" momentary="true"/>' +
        "</timestamp></node></fields>" +
        '<reading xmlns="urn:xmpp-iot-agent:reading:1" device="envnode-01" boot="b7f3" seq="1523"/>' +
        "</message>",
    );
  });

  it("marks a reading whose time was taken before the clock was synchronised, and only that one", () => {
    const unsynced: Reading = { ...reading, seq: 1524, timeSynced: false };
    const el = telemetryMessage({
      to: "ops@example.org",
      id: "tm-3",
      readings: [reading, unsynced],
    });
    expect(el.getChildren("reading").map(String)).toEqual([
      '<reading xmlns="urn:xmpp-iot-agent:reading:1" device="envnode-01" boot="b7f3" seq="1523"/>',
      '<reading xmlns="urn:xmpp-iot-agent:reading:1" device="envnode-01" boot="b7f3" seq="1524" timeSynced="false"/>',
    ]);
  });

  it("takes a type, a body and the seqnr of a request it answers", () => {
    const el = telemetryMessage({
      to: "alice@example.org/phone",
      id: "tm-2",
      readings: [reading, { ...reading, seq: 1524 }],
      body: "two readings",
      type: "chat",
      seqnr: "42",
    });
    expect(el.attrs).toEqual({ to: "alice@example.org/phone", id: "tm-2", type: "chat" });
    expect(el.getChildText("body")).toBe("two readings");
    expect(el.getChild("fields")?.attrs.seqnr).toBe("42");
    expect(el.getChildren("reading").map((r) => r.attrs.seq as unknown)).toEqual(["1523", "1524"]);
  });
});

describe("humanSummary", () => {
  const device: DeviceDescription = {
    id: "envnode-01",
    firmware: "1.0",
    boot: "b7f3",
    protocol: 1,
    sensors: [{ name: "co2", kind: "num", unit: "ppm" }],
    actuators: [],
  };

  it("fills units from the device description and spells booleans on/off", () => {
    const r = {
      ...reading,
      values: [
        { sensor: "co2", kind: "num" as const, value: 415 },
        { sensor: "relay", kind: "bool" as const, value: true },
        { sensor: "tiny", kind: "num" as const, value: 1e-7 },
      ],
    };
    expect(humanSummary([r], device)).toBe(
      "envnode-01 #1523: co2 415 ppm, relay on, tiny 0.0000001",
    );
    expect(humanSummary([r])).toBe("envnode-01 #1523: co2 415, relay on, tiny 0.0000001");
  });

  it("keeps batches short: the latest three readings and a count of the rest", () => {
    const batch = [1, 2, 3, 4, 5].map((seq) => ({
      ...reading,
      seq,
      values: reading.values.slice(2),
    }));
    expect(humanSummary(batch)).toBe(
      "(2 earlier readings)\n" +
        "envnode-01 #3: door closed\nenvnode-01 #4: door closed\nenvnode-01 #5: door closed",
    );
    expect(humanSummary([])).toBe("no readings");
    expect(humanSummary([{ ...reading, values: [] }])).toBe("envnode-01 #1523: (no values)");
  });
});

describe("chatReply", () => {
  it("keeps the thread and references the request (XEP-0461)", () => {
    const el = chatReply({
      to: "alice@example.org/phone",
      id: "r-1",
      body: "relay on",
      thread: "th-9",
      inReplyTo: "cmd-7",
    });
    expect(el.toString()).toBe(
      '<message to="alice@example.org/phone" id="r-1" type="chat"><body>relay on</body>' +
        "<thread>th-9</thread>" +
        '<reply xmlns="urn:xmpp:reply:0" to="alice@example.org/phone" id="cmd-7"/></message>',
    );
  });

  it("is a plain chat message without them", () => {
    expect(chatReply({ to: "bob@example.org", body: "ok" }).toString()).toBe(
      '<message to="bob@example.org" type="chat"><body>ok</body></message>',
    );
  });
});

describe("XEP-0184 receipts", () => {
  const request = (attrs: Record<string, string>, ...extra: ReturnType<typeof xml>[]) =>
    xml(
      "message",
      attrs,
      xml("body", {}, "status"),
      xml("request", { xmlns: "urn:xmpp:receipts" }),
      ...extra,
    );

  it("acks a request with the same type, echoing the message id", () => {
    const msg = request({ from: "alice@example.org/phone", id: "m1", type: "chat" });
    expect(receiptFor(msg, "ack-1")?.toString()).toBe(
      '<message to="alice@example.org/phone" id="ack-1" type="chat">' +
        '<received xmlns="urn:xmpp:receipts" id="m1"/></message>',
    );
    expect(receiptFor(request({ from: "a@b/c", id: "m2" }))?.toString()).toBe(
      '<message to="a@b/c"><received xmlns="urn:xmpp:receipts" id="m2"/></message>',
    );
  });

  it.each([
    ["no request", xml("message", { from: "a@b/c", id: "m1" }, xml("body", {}, "hi"))],
    ["no id", request({ from: "a@b/c" })],
    ["no from", request({ id: "m1" })],
    ["an error", request({ from: "a@b/c", id: "m1", type: "error" })],
    ["groupchat", request({ from: "room@muc/nick", id: "m1", type: "groupchat" })],
    [
      "an ack",
      request({ from: "a@b/c", id: "m1" }, xml("received", { xmlns: "urn:xmpp:receipts" })),
    ],
  ])("sends nothing for %s", (_, msg) => {
    expect(receiptFor(msg)).toBeUndefined();
  });

  it("withReceiptRequest adds one request to a copy", () => {
    const original = chatReply({ to: "a@b", id: "r1", body: "hi" });
    const asked = withReceiptRequest(original);
    expect(asked.toString()).toBe(
      '<message to="a@b" id="r1" type="chat"><body>hi</body>' +
        '<request xmlns="urn:xmpp:receipts"/></message>',
    );
    expect(original.toString()).not.toContain("request");
    expect(withReceiptRequest(asked).toString()).toBe(asked.toString());
  });

  it("withReceiptRequest refuses messages without id, errors and acks", () => {
    expect(() => withReceiptRequest(chatReply({ to: "a@b", body: "hi" }))).toThrow(
      /needs a message id/,
    );
    expect(() => withReceiptRequest(xml("message", { id: "e", type: "error" }))).toThrow(/errors/);
    const ack = xml(
      "message",
      { id: "x" },
      xml("received", { xmlns: "urn:xmpp:receipts", id: "m" }),
    );
    expect(() => withReceiptRequest(ack)).toThrow(/loops/);
  });
});

describe("stanzaError", () => {
  const command = xml(
    "message",
    { from: "eve@example.org/x", to: "agent@example.org/dev", id: "c1", type: "chat" },
    xml("body", {}, "x".repeat(5000)),
  );

  it("swaps addresses, keeps the id, and leaves the payload out", () => {
    const el = stanzaError(command, "modify", "policy-violation", "body over 4096 characters");
    expect(el.toString()).toBe(
      '<message to="eve@example.org/x" from="agent@example.org/dev" id="c1" type="error">' +
        '<error type="modify"><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>' +
        '<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">body over 4096 characters</text>' +
        "</error></message>",
    );
  });

  it("works for any stanza, text optional", () => {
    const iq = xml("iq", { from: "a@b/c", id: "q1", type: "get" });
    expect(stanzaError(iq, "cancel", "service-unavailable").toString()).toBe(
      '<iq to="a@b/c" id="q1" type="error"><error type="cancel">' +
        '<service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>',
    );
  });

  it("never answers an error with an error", () => {
    const err = stanzaError(command, "auth", "forbidden");
    expect(() => stanzaError(err, "cancel", "bad-request")).toThrow(/never answer an error/);
  });
});

describe("presence", () => {
  it("builds available presence with optional show, status and priority", () => {
    expect(presence().toString()).toBe("<presence/>");
    expect(presence({ show: "dnd", status: "calibrating", priority: -1 }).toString()).toBe(
      "<presence><show>dnd</show><status>calibrating</status><priority>-1</priority></presence>",
    );
    expect(() => presence({ priority: 128 })).toThrow(RangeError);
  });

  it("answers subscription requests", () => {
    expect(subscriptionAnswer("alice@example.org", true).toString()).toBe(
      '<presence to="alice@example.org" type="subscribed"/>',
    );
    expect(subscriptionAnswer("eve@example.org", false).toString()).toBe(
      '<presence to="eve@example.org" type="unsubscribed"/>',
    );
  });
});
