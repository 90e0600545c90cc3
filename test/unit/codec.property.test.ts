/** Properties of the wire codec: round trips, robustness against junk, CRC coverage, chunking. */
import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  crc16,
  decodeLine,
  dumpFrame,
  encodeFrame,
  encodePayload,
  encodeText,
  escapeBytes,
  formatNum,
  LineFramer,
  RESERVED_RD_KEYS,
  WireEncodeError,
} from "../../src/device/wire/index.js";
import type { Frame, FramerEvent } from "../../src/device/wire/index.js";

const RUNS = { numRuns: 1000 };

const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
const sensorKey = name.filter((k) => !RESERVED_RD_KEYS.has(k));
const uint = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 4294967295 }));
const hex8 = fc.stringMatching(/^[0-9a-f]{8}$/);
const cid = fc.stringMatching(/^[0-9a-z]{1,8}$/);
// At most 15 significant digits (PROTOCOL.md §3): 10 + 5.
const numToken = fc.stringMatching(/^-?(0|[1-9][0-9]{0,9})(\.[0-9]{1,5})?$/);
const scalar = fc.oneof(numToken, name);
const num = fc.oneof(
  fc.constant(-0),
  fc
    .tuple(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 8 }))
    .map(([n, k]) => n / 10 ** k),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => formatNum(x) !== undefined),
);
// Bytes that must be escaped, or are easy to get wrong, in text fields.
const tricky = fc.constantFrom(..."aZ%$*= \\|\t\né°✓");
const text = fc
  .oneof(
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
    fc.string({ unit: tricky, minLength: 1, maxLength: 20 }),
  )
  .filter((s) => encodeText(s).length <= 64);

const hello = fc
  .record({
    proto: fc.integer({ min: 1, max: 4294967295 }),
    minSeed: uint,
    dev: fc.stringMatching(/^[A-Za-z0-9._-]{1,32}$/),
    fw: fc.stringMatching(/^[A-Za-z0-9._+-]{1,24}$/),
    boot: hex8,
    sensors: fc.integer({ min: 0, max: 32 }),
    actuators: fc.integer({ min: 0, max: 32 }),
  })
  .map(({ minSeed, ...rest }): Frame => ({
    type: "HELLO",
    ...rest,
    min: minSeed % (rest.proto + 1),
  }));

const capability = fc
  .record(
    {
      type: fc.constantFrom("SENSOR" as const, "ACTUATOR" as const),
      name: sensorKey,
      kind: fc.constantFrom("num" as const, "bool" as const, "enum" as const),
      unit: text,
      min: num,
      max: num,
      values: fc.uniqueArray(name, { minLength: 1, maxLength: 16 }),
    },
    { requiredKeys: ["type", "name", "kind"] },
  )
  .map((f): Frame => {
    if (f.kind === "enum" && f.values === undefined) f.values = ["off", "on"];
    if (f.min !== undefined && f.max !== undefined && f.min > f.max)
      [f.min, f.max] = [f.max, f.min];
    return f;
  });

const reading = fc
  .record(
    {
      boot: hex8,
      seq: uint,
      t: uint,
      values: fc.uniqueArray(fc.tuple(sensorKey, scalar), {
        minLength: 1,
        maxLength: 8,
        selector: ([key]) => key,
      }),
    },
    { requiredKeys: ["boot", "seq", "values"] },
  )
  .map((f): Frame => ({ type: "RD", ...f }));

const otherFrames: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    { type: fc.constant("ACK" as const), id: cid, val: scalar },
    { requiredKeys: ["type", "id"] },
  ),
  fc.record(
    { type: fc.constant("NACK" as const), id: cid, reason: name, msg: text },
    { requiredKeys: ["type", "id", "reason"] },
  ),
  fc.record({ type: fc.constant("PONG" as const), id: cid }),
  fc.record({
    type: fc.constant("LOG" as const),
    level: fc.constantFrom("debug" as const, "info" as const, "warn" as const, "error" as const),
    msg: text,
  }),
  fc.record(
    { type: fc.constant("ERR" as const), code: name, sensor: name, msg: text },
    { requiredKeys: ["type", "code"] },
  ),
  fc.constant({ type: "WHO" as const }),
  fc.record({ type: fc.constant("USE" as const), v: uint }),
  fc.record({ type: fc.constant("CMD" as const), id: cid, act: name, val: scalar }),
  fc.record({ type: fc.constant("PING" as const), id: cid }),
);

function encodable(frame: Frame): boolean {
  try {
    encodeFrame(frame);
    return true;
  } catch (error) {
    if (error instanceof WireEncodeError) return false;
    throw error;
  }
}

const frame = fc.oneof(hello, capability, reading, otherFrames).filter(encodable);
const validLine = frame.map(encodeFrame);

function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

describe("encode → decode", () => {
  it("gives back the frame", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const result = decodeLine(encodeFrame(f));
        expect(result).toEqual({ ok: true, frame: f });
      }),
      RUNS,
    );
  });

  it("is stable: the decoded frame dumps and re-encodes the same", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const line = encodeFrame(f);
        const result = decodeLine(line);
        if (!result.ok) throw new Error(result.error.detail);
        expect(dumpFrame(result.frame)).toBe(dumpFrame(f));
        expect(encodeFrame(result.frame)).toBe(line);
      }),
      RUNS,
    );
  });

  it("throws WireEncodeError rather than emit a line the decoder rejects", () => {
    const junk = fc.string({
      unit: fc.constantFrom("a", "1", "-", ".", "|", "A", "%", " "),
      maxLength: 10,
    });
    const maybe = <T>(valid: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> =>
      fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: bad });
    const str = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> => maybe(valid, junk);
    const looseFrame: fc.Arbitrary<Frame> = fc.oneof(
      fc.record({
        type: fc.constant("RD" as const),
        boot: str(hex8),
        seq: maybe(uint, fc.double()),
        values: fc.array(fc.tuple(str(sensorKey), str(scalar)), { maxLength: 4 }),
      }),
      fc.record({
        type: fc.constant("CMD" as const),
        id: str(cid),
        act: str(name),
        val: str(scalar),
      }),
      fc.record({
        type: fc.constant("SENSOR" as const),
        name: str(name),
        kind: fc.constantFrom("num" as const, "enum" as const),
        min: maybe(num, fc.double()),
        values: fc.array(str(name), { maxLength: 3 }),
      }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(looseFrame, (f) => {
        if (!encodable(f)) return;
        accepted++;
        expect(decodeLine(encodeFrame(f)).ok).toBe(true);
      }),
      RUNS,
    );
    // Both branches must be exercised for the property to mean anything.
    expect(accepted).toBeGreaterThan(RUNS.numRuns / 10);
    expect(accepted).toBeLessThan(RUNS.numRuns * 0.9);
  });
});

describe("text fields and UTF-8", () => {
  const hex = (b: number): string => b.toString(16).toUpperCase().padStart(2, "0");
  // Bytes around every boundary of the UTF-8 table, so that random runs hit valid and invalid.
  const interesting = fc.constantFrom(
    0x00,
    0x41,
    0x7f,
    0x80,
    0x8f,
    0x90,
    0x9f,
    0xa0,
    0xbf,
    0xc0,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xe1,
    0xec,
    0xed,
    0xee,
    0xef,
    0xf0,
    0xf1,
    0xf3,
    0xf4,
    0xf5,
    0xfe,
    0xff,
  );
  const bytes = fc.array(fc.oneof(interesting, fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 21,
  });

  it("accepts a text field exactly when its bytes are valid UTF-8 (Buffer's isUtf8 decides)", () => {
    let valid = 0;
    fc.assert(
      fc.property(bytes, fc.constantFrom("LOG", "NACK", "SENSOR"), (raw, type) => {
        const token = raw.map((b) => "%" + hex(b)).join("");
        const payload =
          type === "LOG"
            ? `LOG level=info msg=${token}`
            : type === "NACK"
              ? `NACK id=1 reason=x msg=${token}`
              : `SENSOR name=k kind=num unit=${token}`;
        const result = decodeLine(encodePayload(payload));
        const ok = isUtf8(Uint8Array.from(raw));
        if (ok) valid++;
        expect(result.ok).toBe(ok);
        if (result.ok) {
          expect(dumpFrame(result.frame)).toContain(escapeBytes(String.fromCharCode(...raw)));
        } else {
          expect(result.error.code).toBe("field");
          expect(result.error.detail).toMatch(/field '(msg|unit)': text is not valid UTF-8/);
        }
      }),
      { numRuns: 3000 },
    );
    expect(valid).toBeGreaterThan(100);
  });

  it.each([
    ["$LOG level=info msg=caf%C3", "LOG field 'msg'"],
    ["$SENSOR name=t kind=num unit=%B0C", "SENSOR field 'unit'"],
    ["$ERR code=x msg=%ED%A0%80", "ERR field 'msg'"],
  ])("names the field in the detail: %s", (payload, where) => {
    const result = decodeLine(encodePayload(payload.slice(1)));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe("field");
      expect(result.error.detail).toContain(where);
      expect(result.error.detail).toContain("not valid UTF-8");
    }
  });
});

/** Runs bytes through framer and decoder as the agent does; returns the decoded frames. */
function receive(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  for (const event of new LineFramer().push(bytes)) {
    if (event.kind !== "line") continue;
    const result = decodeLine(event.line);
    if (result.ok) frames.push(result.frame);
  }
  return frames;
}

describe("junk on the wire", () => {
  // Fragments of real lines, so the junk often gets as far as the CRC and syntax checks.
  const fragments = ["$", "*", "=", " ", "\n", "\r", "0", "7", "A", "F", "RD", "boot=", "seq=1"];
  const lineish = fc
    .array(fc.constantFrom(...fragments, "3f9a12c0"))
    .map((parts) => latin1Bytes(parts.join("")));

  it("never throws and never yields a reading", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), lineish), (bytes) => {
        expect(receive(bytes).some((f) => f.type === "RD")).toBe(false);
      }),
      RUNS,
    );
  });

  it("decodeLine never throws, even on chars outside latin1", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        expect(typeof decodeLine(s).ok).toBe("boolean");
        expect(typeof decodeLine(encodePayload(s)).ok).toBe("boolean");
      }),
      RUNS,
    );
  });
});

describe("single-byte damage", () => {
  const damage = fc.tuple(validLine, fc.nat(), fc.integer({ min: 0, max: 255 }));

  it("any substituted byte is rejected (CRC-16 detects every burst of up to 16 bits)", () => {
    fc.assert(
      fc.property(damage, ([line, at, byte]) => {
        const i = at % line.length;
        fc.pre(line.charCodeAt(i) !== byte);
        const bad = line.slice(0, i) + String.fromCharCode(byte) + line.slice(i + 1);
        expect(decodeLine(bad).ok).toBe(false);
      }),
      RUNS,
    );
  });

  /**
   * A removed or inserted byte shifts the rest of the payload, which the CRC does not detect with
   * certainty: about one in 65,536 such lines keeps its CRC. So the property is that only such a
   * genuine collision gets through, and that damage to `$`, `*` or the CRC digits never does.
   */
  it("a removed or inserted byte is rejected unless the payload CRC collides", () => {
    fc.assert(
      fc.property(damage, fc.boolean(), ([line, at, byte], insert) => {
        const i = at % (line.length + (insert ? 1 : 0));
        const bad = insert
          ? line.slice(0, i) + String.fromCharCode(byte) + line.slice(i)
          : line.slice(0, i) + line.slice(i + 1);
        const result = decodeLine(bad);
        if (!result.ok) return;
        const inPayload = i >= 1 && i < line.length - 5 + (insert ? 1 : 0);
        expect(inPayload).toBe(true);
        expect(crc16(bad.slice(1, -5))).toBe(crc16(line.slice(1, -5)));
      }),
      RUNS,
    );
  });
});

describe("framer chunking", () => {
  const piece = fc.oneof(
    validLine.map((l) => l + "\n"),
    validLine.map((l) => l + "\r\n"),
    validLine.map((l) => l.slice(0, l.length >> 1)),
    fc.constantFrom("\n", "\r\n", "$", "noise", "\xff\x00", "$" + "x".repeat(260)),
    fc.uint8Array({ maxLength: 40 }).map((b) => String.fromCharCode(...b)),
  );
  const stream = fc.array(piece, { maxLength: 12 }).map((parts) => latin1Bytes(parts.join("")));

  it("gives the same events however the bytes are split", () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const whole = new LineFramer().push(bytes);
        const framer = new LineFramer();
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const events: FramerEvent[] = [];
        let from = 0;
        for (const to of [...points, bytes.length]) {
          events.push(...framer.push(bytes.subarray(from, to)));
          from = to;
        }
        expect(events).toEqual(whole);
      }),
      RUNS,
    );
  });
});
