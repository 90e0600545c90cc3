/** Runs the shared vectors of firmware-bridge/vectors/ (the C codec runs the same files). */
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  decodeLine,
  dumpError,
  dumpFrame,
  encodeFrame,
  FramerStream,
  LineFramer,
  unescapeVectorBytes,
} from "../../src/device/wire/index.js";
import type { FramerEvent } from "../../src/device/wire/index.js";

function readVectors(file: string): string[][] {
  const text = readFileSync(new URL(`../../firmware-bridge/vectors/${file}`, import.meta.url), {
    encoding: "latin1",
  });
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t"));
}

function decodeToDump(line: string): string {
  const result = decodeLine(line);
  return result.ok ? dumpFrame(result.frame) : dumpError(result.error.code);
}

function eventToDump(event: FramerEvent): string {
  return event.kind === "line" ? decodeToDump(event.line) : dumpError(event.code);
}

function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const lines = readVectors("lines.tsv");
const streams = readVectors("stream.tsv");

describe("lines.tsv", () => {
  it("has vectors with unique names", () => {
    expect(lines.length).toBeGreaterThan(100);
    expect(new Set(lines.map((v) => v[0])).size).toBe(lines.length);
  });

  it.each(lines)("%s", (_name, input = "", expected = "", flag) => {
    const line = unescapeVectorBytes(input);
    expect(decodeToDump(line)).toBe(expected);
    if (flag === "canonical") {
      const result = decodeLine(line);
      if (!result.ok) throw new Error(`canonical vector does not decode: ${result.error.detail}`);
      expect(encodeFrame(result.frame)).toBe(line);
    }
  });
});

describe("stream.tsv", () => {
  it.each(streams)("%s", (_name, input = "", ...expected) => {
    const events = new LineFramer().push(latin1Bytes(unescapeVectorBytes(input)));
    const got = events.map(eventToDump);
    expect(got.length === 0 ? ["-"] : got).toEqual(expected);
  });
});

describe("FramerStream", () => {
  it("gives the stream.tsv results when the bytes arrive one at a time", async () => {
    for (const [name = "", input = "", ...expected] of streams) {
      const bytes = latin1Bytes(unescapeVectorBytes(input));
      const chunks = Array.from(bytes, (b) => Buffer.from([b]));
      const got: string[] = [];
      for await (const event of Readable.from(chunks).pipe(new FramerStream())) {
        got.push(eventToDump(event as FramerEvent));
      }
      expect(got.length === 0 ? ["-"] : got, name).toEqual(expected);
    }
  });
});
