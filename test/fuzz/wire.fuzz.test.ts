/**
 * Fuzz of the serial codec (src/device/wire): random bytes in random chunkings, endless lines,
 * NUL bytes, invalid UTF-8 and CR/LF mixes. The framer must keep its buffer within the 251 bytes
 * PROTOCOL.md §2 allows, and valid frames after any junk must all come out decoded.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeLine,
  encodeFrame,
  LineFramer,
  MAX_FRAME,
  type Frame,
  type FramerEvent,
} from "../../src/device/wire/index.js";
import { FUZZ_TIMEOUT_MS, fuzz, runs } from "./runs.js";

const SURFACE = "serial framer + decoder";
const BUFFER_CAP = MAX_FRAME + 1;
const WIRE_CODES = new Set(["noise", "truncated", "length", "frame", "crc", "syntax", "type"]);

/** The framer's private buffer state; read to check the memory bound, not to drive it. */
interface FramerInternals {
  buf: Buffer;
  len: number;
}
const internals = (framer: LineFramer) => framer as unknown as FramerInternals;

/** Bytes that steer the framer and decoder, mixed with uniform ones. */
const steering = fc.constantFrom(0x24, 0x0a, 0x0d, 0x00, 0x2a, 0x20, 0x3d, 0x25, 0xc3, 0xff, 0x80);
const junkBytes = (maxLength: number) =>
  fc
    .array(fc.oneof(steering, fc.integer({ min: 0, max: 255 })), { maxLength })
    .map((a) => Uint8Array.from(a));

/** Splits `bytes` at the given points (taken modulo its length). */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...points, bytes.length]) {
    out.push(bytes.subarray(from, to));
    from = to;
  }
  return out;
}

function feed(framer: LineFramer, parts: Uint8Array[]): FramerEvent[] {
  const events: FramerEvent[] = [];
  for (const part of parts) {
    events.push(...framer.push(part));
    const { buf, len } = internals(framer);
    expect(buf.length).toBe(BUFFER_CAP);
    expect(len).toBeLessThanOrEqual(BUFFER_CAP);
  }
  return events;
}

const hex8 = fc.stringMatching(/^[0-9a-f]{8}$/);
const name = fc
  .stringMatching(/^[a-z][a-z0-9_]{0,7}$/)
  .filter((n) => !["boot", "seq", "t"].includes(n));
const num = fc.integer({ min: -99999, max: 99999 }).map(String);
const anyFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant("RD" as const),
    boot: hex8,
    seq: fc.nat(),
    values: fc.uniqueArray(fc.tuple(name, num), {
      minLength: 1,
      maxLength: 6,
      selector: ([k]) => k,
    }),
  }),
  fc.record({
    type: fc.constant("LOG" as const),
    level: fc.constantFrom("debug" as const, "info" as const, "warn" as const, "error" as const),
    msg: fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }),
  }),
  fc.record({ type: fc.constant("ACK" as const), id: fc.stringMatching(/^[0-9a-z]{1,8}$/) }),
  fc.record({ type: fc.constant("PONG" as const), id: fc.stringMatching(/^[0-9a-z]{1,8}$/) }),
);
function encodable(frame: Frame): boolean {
  try {
    encodeFrame(frame);
    return true;
  } catch {
    return false;
  }
}
const validFrame = anyFrame.filter(encodable);
const terminator = fc.constantFrom("\n", "\r\n", "\n\r", "\n\n", "\r\n\r\n");

describe("serial framer + decoder fuzz", () => {
  it(
    "random bytes in random chunks: no throw, same events as one push, bounded lines",
    () => {
      const cases = fc.tuple(junkBytes(1200), fc.array(fc.nat(), { maxLength: 30 }));
      fuzz(
        SURFACE,
        "random bytes, random chunking",
        fc.property(cases, ([bytes, cuts]) => {
          const whole = new LineFramer().push(bytes);
          expect(feed(new LineFramer(), chunks(bytes, cuts))).toEqual(whole);
          for (const event of whole) {
            if (event.kind === "error") {
              expect(WIRE_CODES.has(event.code)).toBe(true);
              continue;
            }
            expect(event.line.length).toBeLessThanOrEqual(BUFFER_CAP);
            expect(event.line.startsWith("$")).toBe(true);
            const result = decodeLine(event.line);
            if (!result.ok) expect(result.error.detail.length).toBeGreaterThan(0);
          }
        }),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "an endless line is capped at 251 bytes, reported once, and the next frame still decodes",
    () => {
      const noLineEnd = fc
        .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 })
        .map((a) => Uint8Array.from(a.filter((b) => b !== 0x0a && b !== 0x24)));
      const flood = fc.record({
        unit: noLineEnd.filter((u) => u.length > 0),
        repeat: fc.integer({ min: 300, max: 20_000 }),
        cuts: fc.array(fc.nat(), { maxLength: 40 }),
        after: validFrame,
      });
      fuzz(
        SURFACE,
        "endless line without newline",
        fc.property(flood, ({ unit, repeat, cuts, after }) => {
          const body = Buffer.concat([
            Buffer.from("$"),
            ...Array<Buffer>(repeat).fill(Buffer.from(unit)),
          ]);
          fc.pre(body.length > BUFFER_CAP);
          const framer = new LineFramer();
          const events = feed(framer, chunks(body, cuts));
          expect(events.filter((e) => e.kind === "line")).toEqual([]);
          expect(events.filter((e) => e.kind === "error" && e.code === "length")).toHaveLength(1);
          const next = feed(framer, [Buffer.from(`\n${encodeFrame(after)}\n`, "latin1")]);
          const lines = next.flatMap((e) => (e.kind === "line" ? [decodeLine(e.line)] : []));
          expect(lines).toEqual([{ ok: true, frame: after }]);
        }),
        { numRuns: runs(0.25) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "valid frames between junk (NUL, invalid UTF-8, CR/LF mixes) are all decoded, in order",
    () => {
      const stream = fc.array(fc.tuple(junkBytes(300), validFrame, terminator), {
        minLength: 1,
        maxLength: 8,
      });
      fuzz(
        SURFACE,
        "valid frames interleaved with junk",
        fc.property(stream, fc.array(fc.nat(), { maxLength: 30 }), (parts, cuts) => {
          const bytes = Buffer.concat(
            parts.flatMap(([junk, frame, end]) => [
              junk,
              Buffer.from(encodeFrame(frame) + end, "latin1"),
            ]),
          );
          const decoded = feed(new LineFramer(), chunks(bytes, cuts)).flatMap((e) => {
            if (e.kind !== "line") return [];
            const r = decodeLine(e.line);
            return r.ok ? [r.frame] : [];
          });
          // Junk may itself hold a valid line, so the frames sent are a subsequence of those read.
          let at = 0;
          for (const frame of decoded) {
            const want = parts[at]?.[1];
            if (want !== undefined && JSON.stringify(frame) === JSON.stringify(want)) at++;
          }
          expect(at).toBe(parts.length);
        }),
        { numRuns: runs(0.5) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "decodeLine never throws on a line of any UTF-16 code units",
    () => {
      const line = fc.oneof(
        fc.string({ unit: "binary", maxLength: 260 }),
        fc.string({
          unit: fc.constantFrom(..."$*=% AZaz09\u0000\u00ff\ufffd\ud800"),
          maxLength: 260,
        }),
      );
      fuzz(
        SURFACE,
        "decodeLine on arbitrary strings",
        fc.property(line, (s) => {
          const result = decodeLine(s);
          if (!result.ok) {
            expect(WIRE_CODES.has(result.error.code) || result.error.code === "field").toBe(true);
            expect(result.error.detail.length).toBeGreaterThan(0);
          }
        }),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
