/** PubSub telemetry items (src/xmpp/pubsub.ts). */
import { describe, expect, it } from "vitest";
import type { Reading } from "../../src/core/reading.js";
import { xml } from "../../src/xmpp/client.js";
import { IqErrorReply } from "../../src/xmpp/iq-requests.js";
import {
  itemId,
  mayRefuseOptions,
  PUBSUB_NS,
  publishIq,
  telemetryItem,
  TELEMETRY_NS,
} from "../../src/xmpp/pubsub.js";
import { parseReadingIds, SENSORDATA_NS } from "../../src/xmpp/sensordata.js";
import type { StanzaErrorCondition } from "../../src/xmpp/stanzas.js";

const reading = (seq: number): Reading => ({
  device: "envnode-01",
  boot: "07b3096b",
  seq,
  receivedAt: Date.parse("2026-11-29T10:00:00Z") + seq,
  values: [{ sensor: "temp", kind: "num", value: 21.5, unit: "°C" }],
});

describe("PubSub telemetry", () => {
  it("names an item after its first reading, so a resend replaces it", () => {
    expect(itemId([reading(12), reading(13)])).toBe("envnode-01-07b3096b-12");
    expect(() => itemId([])).toThrow(RangeError);
  });

  it("puts the XEP-0323 fields and the reading identities in one payload", () => {
    const item = telemetryItem([reading(1), reading(2)]);
    expect(item.attrs.xmlns).toBe(TELEMETRY_NS);
    expect(item.getChild("fields", SENSORDATA_NS)?.getChildren("node")).toHaveLength(2);
    expect(parseReadingIds(item).map((r) => r.seq)).toEqual([1, 2]);
  });

  it("publishes with publish-options that make the node private and bounded", () => {
    const target = { node: "urn:t", accessModel: "presence" as const, maxItems: 50 };
    const iq = publishIq(target, "id-1", telemetryItem([reading(1)]));
    expect(iq.attrs).toEqual({ type: "set" }); // PEP: no `to`
    const pubsub = iq.getChild("pubsub", PUBSUB_NS);
    expect(pubsub?.getChild("publish")?.attrs.node).toBe("urn:t");
    expect(pubsub?.getChild("publish")?.getChild("item")?.attrs.id).toBe("id-1");
    const fields = pubsub?.getChild("publish-options")?.getChild("x")?.getChildren("field") ?? [];
    const values = Object.fromEntries(
      fields.map((f) => [String(f.attrs.var), f.getChildText("value")] as const),
    );
    expect(values).toEqual({
      FORM_TYPE: "http://jabber.org/protocol/pubsub#publish-options",
      "pubsub#access_model": "presence",
      "pubsub#max_items": "50",
      "pubsub#persist_items": "true",
    });
    expect(
      publishIq({ ...target, service: "pubsub.example.org" }, "i", telemetryItem([reading(1)]))
        .attrs.to,
    ).toBe("pubsub.example.org");
  });

  it("keeps the access model when it leaves the other publish-options out", () => {
    const target = { node: "urn:t", accessModel: "whitelist" as const, maxItems: 50 };
    const iq = publishIq(target, "id-1", telemetryItem([reading(1)]), "access-model");
    const form = iq.getChild("pubsub", PUBSUB_NS)?.getChild("publish-options")?.getChild("x");
    const fields = (form?.getChildren("field") ?? []).map((f) => [
      String(f.attrs.var),
      f.getChildText("value"),
    ]);
    expect(fields).toEqual([
      ["FORM_TYPE", "http://jabber.org/protocol/pubsub#publish-options"],
      ["pubsub#access_model", "whitelist"],
    ]);
  });

  it("tells which refusals may be about the publish-options", () => {
    const refusal = (condition: StanzaErrorCondition, text?: string, extra = xml("x")) => {
      const parsed = { errorType: "cancel" as const, condition, ...(text ? { text } : {}) };
      return new IqErrorReply("ps.example.org", parsed, xml("error", {}, extra));
    };
    const precondition = xml("precondition-not-met", { xmlns: `${PUBSUB_NS}#errors` });
    expect(mayRefuseOptions(refusal("resource-constraint", "Unknown field"))).toBe(true);
    expect(mayRefuseOptions(refusal("conflict", undefined, precondition))).toBe(true);
    expect(mayRefuseOptions(refusal("internal-server-error", "Unknown field"))).toBe(true);
    expect(mayRefuseOptions(refusal("forbidden"))).toBe(false);
    expect(mayRefuseOptions(refusal("item-not-found"))).toBe(false);
    expect(mayRefuseOptions(new Error("resource-constraint"))).toBe(false);
  });
});
