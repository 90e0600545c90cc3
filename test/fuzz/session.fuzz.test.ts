/**
 * Fuzz of the serial session above the codec (src/device/session.ts, validate.ts and the
 * SerialLink on serialport's mock binding): garbled HELLO/SENSOR/RD/ACK/… sequences with random
 * attributes never make it throw, memory stays within maxHeldReadings, and every reading and
 * every line is accounted for: accepted, a duplicate, or dropped with a reason.
 */
import { SerialPortMock } from "serialport";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceSession, type SessionEvent } from "../../src/device/session.js";
import { SerialLink, type ProtocolProblem } from "../../src/device/serial-link.js";
import { encodeFrame, type Frame } from "../../src/device/wire/index.js";
import { FUZZ_TIMEOUT_MS, fuzz, fuzzAsync, runs } from "./runs.js";

const SURFACE = "serial session + link";

// Small pools, so that boots, names and seqs collide often enough to reach every branch.
const boot = fc.constantFrom("0000000a", "0000000b", "0000000c");
const dev = fc.constantFrom("node-1", "node-2");
const capName = fc.constantFrom("temp", "hum", "door", "relay", "mode");
const token = fc.oneof(
  fc.constantFrom("0", "1", "-1", "21.5", "1e3", "on", "off", "auto", "999999999999999"),
  fc.stringMatching(/^-?[0-9]{1,6}(\.[0-9]{1,3})?$/),
  fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/),
);
const count = fc.integer({ min: 0, max: 3 });

const hello = fc.record({
  type: fc.constant("HELLO" as const),
  proto: fc.integer({ min: 1, max: 3 }),
  min: fc.integer({ min: 0, max: 3 }),
  dev,
  fw: fc.constant("1.0"),
  boot,
  sensors: count,
  actuators: count,
});
const capability = fc.record(
  {
    type: fc.constantFrom("SENSOR" as const, "ACTUATOR" as const),
    name: capName,
    kind: fc.constantFrom("num" as const, "bool" as const, "enum" as const),
    min: fc.integer({ min: -50, max: 0 }),
    max: fc.integer({ min: 0, max: 100 }),
    values: fc.constantFrom(["auto", "on", "off"], ["a"]).map((v) => [...v]),
  },
  { requiredKeys: ["type", "name", "kind"] },
);
const reading = fc.record({
  type: fc.constant("RD" as const),
  boot,
  seq: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1)),
  values: fc.uniqueArray(fc.tuple(capName, token), {
    minLength: 1,
    maxLength: 3,
    selector: ([k]) => k,
  }),
});
const other = fc.oneof(
  fc.record({ type: fc.constant("ACK" as const), id: fc.constantFrom("1", "2", "zz") }),
  fc.record({ type: fc.constant("NACK" as const), id: fc.constant("1"), reason: capName }),
  fc.record({ type: fc.constant("PONG" as const), id: fc.constant("7") }),
  fc.record({ type: fc.constant("LOG" as const), level: fc.constant("info" as const), msg: token }),
  fc.record({ type: fc.constant("ERR" as const), code: capName }),
  fc.record({ type: fc.constant("CMD" as const), id: fc.constant("1"), act: capName, val: token }),
);
const frame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 2, arbitrary: hello },
  { weight: 4, arbitrary: capability },
  { weight: 5, arbitrary: reading },
  { weight: 1, arbitrary: other },
);
type Step = { frame: Frame } | { reopen: true };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: frame.map((f) => ({ frame: f })) },
  { weight: 1, arbitrary: fc.constant({ reopen: true as const }) },
);

/** A clean handshake that ends the sequence, so that no reading is left held. */
function closingHandshake(): Frame[] {
  return [
    {
      type: "HELLO",
      proto: 1,
      min: 1,
      dev: "node-1",
      fw: "1.0",
      boot: "0000000f",
      sensors: 1,
      actuators: 0,
    },
    { type: "SENSOR", name: "temp", kind: "num" },
  ];
}

function tally(events: SessionEvent[], into: Map<string, number>): void {
  for (const e of events) {
    into.set(e.type, (into.get(e.type) ?? 0) + 1);
    if (e.type === "dropped") {
      expect(["unknown-boot", "invalid", "unconfirmed-seq"]).toContain(e.reason);
      expect(e.detail).toMatch(/^RD (boot=\S+ )?seq=\d+/);
    }
    if (e.type === "gap") expect(e.missing).toBeGreaterThan(0);
  }
}

describe("serial session fuzz", () => {
  it(
    "DeviceSession: never throws, holds at most maxHeld, accounts for every RD",
    () => {
      const input = fc.record({
        steps: fc.array(step, { maxLength: 60 }),
        maxHeld: fc.integer({ min: 1, max: 8 }),
      });
      fuzz(
        SURFACE,
        "DeviceSession frame sequences",
        fc.property(input, ({ steps, maxHeld }) => {
          const session = new DeviceSession({ maxHeldReadings: maxHeld });
          const seen = new Map<string, number>();
          let readings = 0;
          const frames = [...steps, ...closingHandshake().map((f) => ({ frame: f }))];
          for (const [i, s] of frames.entries()) {
            if ("reopen" in s) {
              tally(session.opened(), seen);
              continue;
            }
            if (s.frame.type === "RD") readings++;
            tally(session.handle(s.frame as Parameters<DeviceSession["handle"]>[0], i), seen);
            expect(session.heldReadings).toBeLessThanOrEqual(maxHeld);
          }
          const outcomes = ["reading", "duplicate", "dropped"].map((k) => seen.get(k) ?? 0);
          expect(session.state).toBe("ready");
          expect(session.heldReadings).toBe(0);
          expect(outcomes.reduce((a, b) => a + b, 0)).toBe(readings);
        }),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

interface MockBindingApi {
  reset(): void;
  createPort(path: string, options: { echo: boolean; record: boolean }): void;
}
interface MockPortApi {
  emitData(data: Buffer): void;
}
const MockBinding = SerialPortMock.binding as unknown as MockBindingApi;
const PATH = "/dev/ttyFUZZ";

afterEach(() => MockBinding.reset());

/** A line as the wire carries it: a valid frame, or `$` and junk without `$` or a newline. */
type Line = { frame: Frame } | { junk: Uint8Array };
const junkLine = fc
  .array(fc.integer({ min: 0, max: 255 }), { maxLength: 320 })
  .map((a) => ({ junk: Uint8Array.from(a.filter((b) => b !== 0x0a && b !== 0x24)) }));
const line: fc.Arbitrary<Line> = fc.oneof(
  { weight: 4, arbitrary: frame.filter(encodable).map((f) => ({ frame: f })) },
  { weight: 1, arbitrary: junkLine },
);

function encodable(f: Frame): boolean {
  try {
    encodeFrame(f);
    return true;
  } catch {
    return false;
  }
}

function lineBytes(l: Line): Buffer {
  if ("frame" in l) return Buffer.from(`${encodeFrame(l.frame)}\r\n`, "latin1");
  return Buffer.concat([Buffer.from("$"), l.junk, Buffer.from("\n")]);
}

/** Like test/support/wait.ts until(), but yields per event-loop turn: the mock answers in one. */
async function soon(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

async function runLink(lines: Line[], cuts: number[]): Promise<void> {
  MockBinding.createPort(PATH, { echo: false, record: true });
  let port: SerialPortMock | undefined;
  const link = new SerialLink({
    path: PATH,
    openPort: (o) => (port = new SerialPortMock({ ...o, autoOpen: false })),
    helloRetryMs: 60_000,
    presenceCheckMs: 0,
    maxHeldReadings: 4,
  });
  const problems: ProtocolProblem[] = [];
  link.on("protocol-error", (p) => problems.push(p));
  link.start();
  try {
    await soon(() => link.state === "handshaking", "the mock port to open");
    const all = [...lines, ...closingHandshake().map((f) => ({ frame: f }))];
    const bytes = Buffer.concat(all.map(lineBytes));
    let from = 0;
    for (const to of [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b)) {
      (port?.port as unknown as MockPortApi).emitData(bytes.subarray(from, to));
      from = to;
    }
    (port?.port as unknown as MockPortApi).emitData(bytes.subarray(from));
    const s = link.stats;
    await soon(() => s.bytesIn === bytes.length, "every byte to be read");
    const wireErrors = Object.values(s.wireErrors).reduce((a, b) => a + b, 0);
    expect(s.framesIn + wireErrors).toBe(all.length);
    const rd = all.filter((l) => "frame" in l && l.frame.type === "RD").length;
    expect(s.readings + s.duplicates + s.readingsDropped).toBe(rd);
    const dropped = problems.filter((p) => p.kind === "reading-dropped");
    expect(dropped).toHaveLength(s.readingsDropped);
    for (const p of problems) expect(p.detail.length).toBeGreaterThan(0);
    expect(link.state).toBe("online");
  } finally {
    await link.stop();
    MockBinding.reset();
  }
}

describe("serial link fuzz", () => {
  it(
    "SerialLink: garbled lines never throw, and every line is a frame or a counted wire error",
    async () => {
      await fuzzAsync(
        SURFACE,
        "SerialLink over the mock binding",
        fc.asyncProperty(
          fc.array(line, { maxLength: 40 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          runLink,
        ),
        { numRuns: runs(0.1) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
