import { describe, expect, it } from "vitest";
import {
  analyse,
  parseAgentLog,
  parseReceived,
  percentile,
  recovery,
  type Accepted,
  type Drop,
  type Received,
} from "./analysis.js";

const T0 = 1_800_000_000_000;

function accepted(seqs: number[], boot = "b1", entryFrom = 1): Accepted[] {
  return seqs.map((seq, i) => ({ device: "d", boot, seq, entry: entryFrom + i, time: T0 + seq }));
}

function got(seqs: number[], delayed = false, boot = "b1", t = T0 / 1000): Received[] {
  return seqs.map((seq) => ({ device: "d", boot, seq, delayed, t }));
}

describe("analyse", () => {
  it("counts nothing wrong when every reading arrived once, in order", () => {
    const a = analyse(accepted([1, 2, 3]), got([1, 2, 3]));
    expect(a).toMatchObject({ accepted: 3, received: 3, receipts: 3, lost: 0, duplicates: 0 });
    expect(a).toMatchObject({ orderViolations: 0, devices: 1, boots: 1, unannounced: 0 });
  });

  it("counts a reading never received as lost, with a sample", () => {
    const a = analyse(accepted([1, 2, 3, 4]), got([1, 3]));
    expect(a.lost).toBe(2);
    expect(a.lostSample).toEqual(["d/b1/2 (entry 2)", "d/b1/4 (entry 4)"]);
  });

  it("counts duplicates, and a duplicate out of order is no violation", () => {
    const a = analyse(accepted([1, 2, 3]), [...got([1, 2]), ...got([1], true), ...got([3, 2])]);
    expect(a).toMatchObject({ duplicates: 2, orderViolations: 0, lost: 0, receipts: 5 });
  });

  it("checks order per lane: delayed and live may interleave, each must increase", () => {
    const ok = analyse(accepted([1, 2, 3, 4]), [
      ...got([3]),
      ...got([1], true),
      ...got([4]),
      ...got([2], true),
    ]);
    expect(ok.orderViolations).toBe(0);
    const bad = analyse(accepted([1, 2, 3]), [...got([2]), ...got([1]), ...got([3])]);
    expect(bad.orderViolations).toBe(1);
    expect(bad.orderSample[0]).toBe("live d/b1: 1 after 2");
  });

  it("checks order per boot: a new boot starts from seq 1", () => {
    const a = analyse(
      [...accepted([7, 8]), ...accepted([1, 2], "b2", 3)],
      [...got([7, 8]), ...got([1, 2], false, "b2")],
    );
    expect(a).toMatchObject({ orderViolations: 0, boots: 2, lost: 0 });
  });

  it("counts an unreceived reading inside a logged drop range as dropped, not lost", () => {
    const drops: Drop[] = [
      { sink: "xmpp", count: 2, fromSeq: 1, toSeq: 2, reason: "maxBytes", time: T0 },
    ];
    const a = analyse(accepted([1, 2, 3, 4]), got([4]), drops);
    expect(a).toMatchObject({ lost: 1, dropped: 2, droppedLogged: 2, received: 1 });
    expect(a.lostSample).toEqual(["d/b1/3 (entry 3)"]);
  });

  it("counts readings received that were never announced", () => {
    expect(analyse(accepted([1]), got([1, 2])).unannounced).toBe(1);
  });
});

describe("log parsing", () => {
  it("reads accepted readings and drops from pino lines, skipping a line cut short", () => {
    const text = [
      `{"level":30,"time":${T0},"msg":"agent online"}`,
      `{"level":20,"time":${T0 + 1},"device":"d","boot":"b1","seq":5,"entry":9,"msg":"reading accepted"}`,
      `{"level":40,"time":${T0 + 2},"sink":"xmpp","count":3,"fromSeq":1,"toSeq":3,"reason":"maxBytes","msg":"outbox dropped readings"}`,
      `{"level":50,"time":${T0 + 3},"msg":"boom"}`,
      `{"level":20,"time":${T0 + 4},"device":"d","bo`,
    ].join("\n");
    const log = parseAgentLog(text);
    expect(log.accepted).toEqual([{ device: "d", boot: "b1", seq: 5, entry: 9, time: T0 + 1 }]);
    expect(log.drops).toEqual([
      { sink: "xmpp", count: 3, fromSeq: 1, toSeq: 3, reason: "maxBytes", time: T0 + 2 },
    ]);
    expect(log.errors).toEqual(["boom"]);
  });

  it("reads the consumer's lines", () => {
    const text = `{"device":"d","boot":"b1","seq":3,"delayed":true,"offline":false,"t":1.5}\n{"dev`;
    expect(parseReceived(text)).toEqual([
      { device: "d", boot: "b1", seq: 3, delayed: true, offline: false, t: 1.5 },
    ]);
  });
});

describe("recovery", () => {
  const back = T0 + 10_000;
  it("measures the first reading after the server came back and when the backlog was in", () => {
    const a = accepted([1, 2, 3]).map((r, i) => ({ ...r, time: back - 5000 + i * 1000 }));
    const r = [
      ...got([1], false, "b1", (back - 6000) / 1000),
      ...got([2], true, "b1", (back + 500) / 1000),
      ...got([3], true, "b1", (back + 2000) / 1000),
    ];
    const m = recovery(a, r, back);
    expect(m.firstReadingSeconds).toBeCloseTo(0.5);
    expect(m.caughtUpSeconds).toBeCloseTo(2);
  });

  it("has no catch-up time when an earlier reading never arrived", () => {
    const m = recovery(accepted([1, 2]), got([2], false, "b1", (back + 100) / 1000), back);
    expect(m.firstReadingSeconds).toBeCloseTo(0.1);
    expect(m.caughtUpSeconds).toBeUndefined();
  });
});

describe("recovery with drops", () => {
  it("does not wait for a reading the outbox reported dropped", () => {
    const back = T0 + 10_000;
    const drops: Drop[] = [
      { sink: "xmpp", count: 1, fromSeq: 1, toSeq: 1, reason: "maxBytes", time: T0 },
    ];
    const m = recovery(accepted([1, 2]), got([2], true, "b1", (back + 300) / 1000), back, drops);
    expect(m.caughtUpSeconds).toBeCloseTo(0.3);
  });
});

describe("percentile", () => {
  it("takes the nearest rank and skips undefined", () => {
    expect(percentile([3, 1, undefined, 2, 4], 50)).toBe(2);
    expect(percentile([3, 1, 2, 4], 99)).toBe(4);
    expect(percentile([undefined], 50)).toBeUndefined();
  });
});
