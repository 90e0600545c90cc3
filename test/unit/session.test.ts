import { describe, expect, it } from "vitest";
import { DeviceSession, type SessionEvent } from "../../src/device/session.js";
import type { DeviceFrame, HelloFrame, ReadingFrame } from "../../src/device/wire/frames.js";

const BOOT = "3f9a12c0";

function hello(overrides: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: "HELLO",
    proto: 1,
    min: 1,
    dev: "envnode-01",
    fw: "1.0.0",
    boot: BOOT,
    sensors: 2,
    actuators: 1,
    ...overrides,
  };
}

const CAPS: DeviceFrame[] = [
  { type: "SENSOR", name: "temp", kind: "num", unit: "°C", min: -40, max: 85 },
  { type: "SENSOR", name: "door", kind: "bool" },
  { type: "ACTUATOR", name: "relay", kind: "bool" },
];

function rd(
  seq: number,
  boot = BOOT,
  values: Array<[string, string]> = [["temp", "21.5"]],
): ReadingFrame {
  return { type: "RD", boot, seq, values };
}

function feed(session: DeviceSession, frames: DeviceFrame[], at = 1000): SessionEvent[] {
  return frames.flatMap((f) => session.handle(f, at));
}

function handshake(session: DeviceSession, h: HelloFrame = hello()): SessionEvent[] {
  return feed(session, [h, ...CAPS]);
}

const types = (events: SessionEvent[]) => events.map((e) => e.type);
const seqs = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === "reading" ? [e.reading.seq] : []));

describe("DeviceSession handshake", () => {
  it("asks who the device is when the port opens", () => {
    expect(new DeviceSession().opened()).toEqual([{ type: "send", frame: { type: "WHO" } }]);
  });

  it("completes after HELLO and every announced capability, not before", () => {
    const s = new DeviceSession();
    expect(feed(s, [hello(), CAPS[0]!, CAPS[1]!])).toEqual([]);
    expect(s.state).toBe("collecting");
    const events = feed(s, [CAPS[2]!]);
    expect(events).toHaveLength(1);
    const done = events[0]!;
    expect(done.type).toBe("hello");
    if (done.type !== "hello") return;
    expect(done.rebooted).toBe(false);
    expect(done.device).toMatchObject({ id: "envnode-01", boot: BOOT, protocol: 1 });
    expect(done.device.sensors.map((c) => c.name)).toEqual(["temp", "door"]);
    expect(done.device.actuators[0]).toEqual({ name: "relay", kind: "bool" });
  });

  it("restarts the handshake on a repeated capability", () => {
    const s = new DeviceSession();
    const events = feed(s, [hello(), CAPS[0]!, CAPS[0]!]);
    expect(types(events)).toEqual(["invalid", "send"]);
    expect(s.state).toBe("waiting-hello");
  });

  it("picks the highest common version and tells a newer device with USE", () => {
    const s = new DeviceSession({ agentVersion: 1 });
    const events = feed(s, [hello({ proto: 3, min: 1 })]);
    expect(events[0]).toEqual({ type: "send", frame: { type: "USE", v: 1 } });
  });

  it("refuses a device whose oldest version is newer than the agent's", () => {
    const s = new DeviceSession({ agentVersion: 1 });
    const events = feed(s, [hello({ proto: 3, min: 2 })]);
    expect(types(events)).toEqual(["incompatible"]);
    expect(s.state).toBe("incompatible");
    expect(types(feed(s, [rd(1)]))).toEqual(["dropped"]);
  });
});

describe("DeviceSession readings", () => {
  it("types readings against the capabilities and stamps the receive time", () => {
    const s = new DeviceSession();
    handshake(s);
    const [event] = s.handle(
      rd(1, BOOT, [
        ["temp", "21.5"],
        ["door", "1"],
      ]),
      4242,
    );
    expect(event).toEqual({
      type: "reading",
      reading: {
        device: "envnode-01",
        boot: BOOT,
        seq: 1,
        receivedAt: 4242,
        values: [
          { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
          { sensor: "door", kind: "bool", value: true },
        ],
      },
    });
  });

  it("marks a reading received before the clock was synchronised, also when it was held", () => {
    const s = new DeviceSession();
    const synced = (events: SessionEvent[]) =>
      events.flatMap((e) => (e.type === "reading" ? [e.reading.timeSynced ?? true] : []));
    expect(s.handle(rd(1), 1000, false)).toEqual([]); // held: no handshake yet
    const replayed = handshake(s); // the clock got synchronised meanwhile
    expect(synced(replayed)).toEqual([false]);
    expect(synced([...s.handle(rd(2), 2000, false), ...s.handle(rd(3), 3000)])).toEqual([
      false,
      true,
    ]);
  });

  it("reports a gap with the number of skipped readings", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(1), rd(2)]);
    const events = feed(s, [rd(6)]);
    expect(events[0]).toEqual({
      type: "gap",
      device: "envnode-01",
      boot: BOOT,
      after: 2,
      missing: 3,
    });
    expect(seqs(events)).toEqual([6]);
  });

  it("drops repeated and older sequence numbers as duplicates", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(10)]);
    expect(types(feed(s, [rd(10), rd(9)]))).toEqual(["duplicate", "duplicate"]);
    expect(seqs(feed(s, [rd(11)]))).toEqual([11]);
  });

  it("continues across the 32-bit wrap without a gap", () => {
    const s = new DeviceSession();
    handshake(s);
    const events = feed(s, [rd(4294967294), rd(4294967295), rd(0), rd(1)]);
    expect(types(events)).toEqual(["reading", "reading", "reading", "reading"]);
  });

  it("drops a reading that breaks its declared range, and says why", () => {
    const s = new DeviceSession();
    handshake(s);
    const [event] = feed(s, [rd(1, BOOT, [["temp", "99"]])]);
    expect(event?.type).toBe("dropped");
    expect(event?.type === "dropped" && event.detail).toMatch(/temp/);
  });

  it("holds readings of an unknown boot, asks again, and replays them after the handshake", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(1)]);
    const NEW = "00c0ffee";
    const first = feed(s, [rd(1, NEW)]);
    expect(first).toEqual([{ type: "send", frame: { type: "WHO" } }]);
    expect(feed(s, [rd(2, NEW)])).toEqual([]);
    expect(s.heldReadings).toBe(2);
    const events = handshake(s, hello({ boot: NEW }));
    expect(types(events)).toEqual(["hello", "reading", "reading"]);
    expect(events[0]?.type === "hello" && events[0].rebooted).toBe(true);
    expect(seqs(events)).toEqual([1, 2]);
  });

  it("keeps the held readings bounded and reports each one it drops", () => {
    const s = new DeviceSession({ maxHeldReadings: 3 });
    const events = feed(
      s,
      [1, 2, 3, 4, 5].map((n) => rd(n)),
    );
    expect(s.heldReadings).toBe(3);
    expect(events.filter((e) => e.type === "dropped")).toHaveLength(2);
    expect(seqs(handshake(s))).toEqual([3, 4, 5]);
  });

  it("keeps the sequence across a re-handshake of the same boot", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(7)]);
    s.opened();
    const events = handshake(s);
    expect(events[0]?.type === "hello" && events[0].rebooted).toBe(false);
    expect(types(feed(s, [rd(7)]))).toEqual(["duplicate"]);
  });
});

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("DeviceSession: a seq far from the last one (PROTOCOL.md §7)", () => {
  it("device at seq 83, one valid frame at seq 583, then 41 real readings: all 41 arrive", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(
      s,
      range(1, 83).map((n) => rd(n)),
    );
    const events = feed(s, [rd(583), ...range(84, 124).map((n) => rd(n))]);
    expect(seqs(events)).toEqual(range(84, 124));
    const dropped = events.filter((e) => e.type === "dropped");
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ reason: "unconfirmed-seq" });
    expect(dropped[0]?.type === "dropped" && dropped[0].detail).toMatch(
      /^RD seq=583: 500 ahead of seq 83, and the next reading \(seq 84\) continues from 83/,
    );
    expect(types(events)).not.toContain("gap");
    expect(types(events)).not.toContain("duplicate");
  });

  it("accepts a far jump once the next reading confirms it, and reports the gap", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(83)]);
    expect(feed(s, [rd(583)])).toEqual([]);
    const events = feed(s, [rd(585)]);
    expect(types(events)).toEqual(["gap", "reading", "gap", "reading"]);
    expect(events[0]).toMatchObject({ after: 83, missing: 499 });
    expect(seqs(events)).toEqual([583, 585]);
  });

  it("recovers when the first reading it saw was the corrupt one", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(583), rd(84)]);
    const events = feed(
      s,
      range(85, 90).map((n) => rd(n)),
    );
    expect(seqs(events)).toEqual(range(84, 90));
    expect(types(events)).toContain("rewound");
  });

  it("drops an unconfirmed jump when the device reboots, and says so", () => {
    const s = new DeviceSession();
    handshake(s);
    feed(s, [rd(83), rd(583)]);
    const events = handshake(s, hello({ boot: "00c0ffee" }));
    expect(events[0]).toMatchObject({ type: "dropped", reason: "unconfirmed-seq" });
    expect(events[1]?.type).toBe("hello");
  });
});

describe("DeviceSession resumed after a restart", () => {
  const resumeAfter = { device: "envnode-01", boot: BOOT, seq: 40 };

  it("reports the readings the device sent while no agent read as a gap", () => {
    const s = new DeviceSession({ resumeAfter });
    handshake(s);
    const events = feed(s, [rd(45)]);
    const gap = { type: "gap", device: "envnode-01", boot: BOOT, after: 40, missing: 4 };
    expect(events[0]).toEqual(gap);
    expect(seqs(events)).toEqual([45]);
    expect(types(feed(s, [rd(40)]))).toEqual(["duplicate"]);
  });

  it("holds a resumed jump beyond the window until the next reading confirms it", () => {
    const s = new DeviceSession({ resumeAfter });
    handshake(s);
    expect(feed(s, [rd(1040)])).toEqual([]);
    const events = feed(s, [rd(1041)]);
    expect(events[0]).toMatchObject({ type: "gap", after: 40, missing: 999 });
    expect(seqs(events)).toEqual([1040, 1041]);
  });

  it("ignores the resume point for another boot or another device", () => {
    for (const h of [hello({ boot: "00c0ffee" }), hello({ dev: "envnode-02" })]) {
      const s = new DeviceSession({ resumeAfter });
      handshake(s, h);
      const events = feed(s, [rd(45, h.boot)]);
      expect(types(events)).toEqual(["reading"]);
    }
  });
});
