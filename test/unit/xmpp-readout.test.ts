/** XEP-0323 readout requests (src/xmpp/readout.ts) and the recent history they read. */
import { describe, expect, it } from "vitest";
import { RecentHistory } from "../../src/core/history.js";
import type { Reading } from "../../src/core/reading.js";
import { xml } from "../../src/xmpp/client.js";
import {
  parseReadoutRequest,
  readoutMessage,
  readoutRejected,
  selectReadings,
  type ReadoutSource,
} from "../../src/xmpp/readout.js";
import { parseSensorDataFields, SENSORDATA_NS } from "../../src/xmpp/sensordata.js";

const T0 = Date.parse("2026-11-29T10:00:00Z");
const NOW = T0 + 60_000;

function reading(seq: number): Reading {
  return {
    device: "envnode-01",
    boot: "b1",
    seq,
    receivedAt: T0 + seq * 1000,
    values: [
      { sensor: "temp", kind: "num", value: 20 + seq, unit: "°C" },
      { sensor: "door", kind: "bool", value: seq % 2 === 0 },
    ],
  };
}

const req = (attrs: Record<string, string>, ...children: ReturnType<typeof xml>[]) =>
  xml("req", { xmlns: SENSORDATA_NS, ...attrs }, ...children);

function source(count: number): ReadoutSource {
  const history = new RecentHistory(5);
  for (let i = 1; i <= count; i++) history.add(reading(i));
  return {
    device: undefined,
    latest: history.latest(),
    between: (from, to, limit) => history.between(from, to, limit),
  };
}

describe("RecentHistory", () => {
  it("keeps the newest readings up to its capacity, oldest first", () => {
    const history = new RecentHistory(3);
    expect(history.latest()).toBeUndefined();
    for (let i = 1; i <= 5; i++) history.add(reading(i));
    expect(history.length).toBe(3);
    expect(history.latest()?.seq).toBe(5);
    expect(history.between(0, Infinity).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(history.between(T0 + 4000, T0 + 4000).map((r) => r.seq)).toEqual([4]);
    expect(history.between(0, Infinity, 2).map((r) => r.seq)).toEqual([3, 4]);
    expect(() => new RecentHistory(0)).toThrow(RangeError);
  });
});

describe("parseReadoutRequest", () => {
  it("reads a bare request as momentary", () => {
    expect(parseReadoutRequest(req({ seqnr: "7" }), NOW)).toEqual({
      ok: true,
      value: { seqnr: "7", momentary: true, nodes: [], fields: [] },
    });
  });

  it("reads historical flags and a time range, with node and field filters", () => {
    const parsed = parseReadoutRequest(
      req(
        { seqnr: "8", historical: "true", from: "2026-11-29T10:00:02Z" },
        xml("node", { nodeId: "envnode-01" }),
        xml("field", { name: "temp" }),
      ),
      NOW,
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        seqnr: "8",
        momentary: false,
        historical: { from: T0 + 2000, to: NOW },
        nodes: ["envnode-01"],
        fields: ["temp"],
      },
    });
  });

  it.each([
    [{}, "bad-request", "seqnr"],
    [{ seqnr: "x" }, "bad-request", "seqnr"],
    [{ seqnr: "1", from: "yesterday" }, "bad-request", "xs:dateTime"],
    [
      { seqnr: "1", from: "2026-11-29T11:00:00Z", to: "2026-11-29T10:00:00Z" },
      "bad-request",
      "after",
    ],
    [{ seqnr: "1", when: "2026-11-29T11:00:00" }, "feature-not-implemented", "when"],
  ])("refuses %j with %s", (attrs, condition, text) => {
    const parsed = parseReadoutRequest(req(attrs), NOW);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.refusal.condition).toBe(condition);
      expect(parsed.refusal.text).toContain(text);
    }
  });

  it("refuses a node without nodeId", () => {
    const parsed = parseReadoutRequest(req({ seqnr: "1" }, xml("node", {})), NOW);
    expect(parsed.ok).toBe(false);
  });
});

describe("selectReadings", () => {
  const request = { seqnr: "1", momentary: true, nodes: [], fields: [] };

  it("selects the latest reading, filtered to the fields asked for", () => {
    const selected = selectReadings({ ...request, fields: ["temp"] }, source(3));
    expect(selected.ok && selected.value.momentary).toEqual([
      { ...reading(3), values: [reading(3).values[0]] },
    ]);
  });

  it("selects history in the range and the momentary value", () => {
    const range = { historical: { from: T0 + 2000, to: T0 + 4000 } };
    const selected = selectReadings({ ...request, ...range }, source(5));
    expect(selected.ok && selected.value.historical.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect(selected.ok && selected.value.momentary.map((r) => r.seq)).toEqual([5]);
  });

  it("refuses an unknown node or field with item-not-found", () => {
    const node = selectReadings({ ...request, nodes: ["other"] }, source(1));
    const field = selectReadings({ ...request, fields: ["pressure"] }, source(1));
    expect(!node.ok && node.refusal).toMatchObject({ condition: "item-not-found" });
    expect(!field.ok && field.refusal.text).toBe("Invalid field pressure");
  });

  it("selects nothing before the first reading", () => {
    expect(selectReadings(request, source(0))).toEqual({
      ok: true,
      value: { momentary: [], historical: [] },
    });
  });
});

describe("readout replies", () => {
  it("sends history flagged historical and the momentary values, done", () => {
    const msg = readoutMessage("owner@example.org/pc", "9", {
      historical: [reading(1), reading(2)],
      momentary: [reading(3)],
    });
    const fields = msg.getChild("fields", SENSORDATA_NS);
    expect(fields?.attrs).toMatchObject({ seqnr: "9", done: "true" });
    const parsed = parseSensorDataFields(fields!);
    expect(parsed.blocks.map((b) => b.time)).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
    const flags = fields!
      .getChildren("node")
      .map((n) => n.getChild("timestamp")?.getChild("numeric")?.attrs as Record<string, string>);
    expect(flags.map((a) => a.historicalOther ?? a.momentary)).toEqual(["true", "true", "true"]);
    expect(flags[0]).not.toHaveProperty("momentary");
    expect(flags[2]).not.toHaveProperty("historicalOther");
  });

  it("explains a rejection inside <rejected>", () => {
    const rejected = readoutRejected("4", "Access denied");
    expect(rejected.attrs).toEqual({ xmlns: SENSORDATA_NS, seqnr: "4" });
    expect(rejected.getChildText("error")).toBe("Access denied");
  });
});
