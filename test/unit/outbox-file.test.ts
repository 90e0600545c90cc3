/**
 * What only the file-backed outbox can show: the bytes on disk, and recovery from torn writes,
 * flipped bits, a damaged cursor file and missing segments (src/core/outbox).
 */
import { readdir, readFile, rm, truncate, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox, OutboxIoError, segmentFileName } from "../../src/core/outbox/index.js";
import type { DropEvent, OutboxOptions } from "../../src/core/outbox/index.js";
import type { Reading } from "../../src/core/reading.js";

function reading(seq: number): Reading {
  const values = [{ sensor: "temp", kind: "num" as const, value: seq / 10, unit: "°C" }];
  return { device: "envnode-01", boot: "3f9a12c0", seq, receivedAt: 1_700_000_000_000, values };
}

async function appendMany(outbox: Outbox, from: number, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => outbox.append(reading(from + i))));
}

let dir: string;
const opened: Outbox[] = [];
const drops: DropEvent[] = [];

async function openBox(options: Partial<OutboxOptions> = {}): Promise<Outbox> {
  const outbox = await Outbox.open(dir, {
    sinks: ["xmpp", "mqtt"],
    commitWindowMs: 2,
    onDrop: (e) => drops.push(e),
    ...options,
  });
  opened.push(outbox);
  return outbox;
}

/** Writes `count` readings into a fresh directory and closes it. */
async function prepared(count: number, options: Partial<OutboxOptions> = {}): Promise<void> {
  const outbox = await openBox(options);
  await appendMany(outbox, 1, count);
  await outbox.close();
}

const firstSegment = (): string => join(dir, segmentFileName(1));

/** Offsets of the records in a segment file, read with the documented header. */
async function recordOffsets(file: string): Promise<number[]> {
  const data = await readFile(file);
  const offsets: number[] = [];
  for (let pos = 0; pos < data.length; pos += 8 + data.readUInt32LE(pos)) offsets.push(pos);
  return offsets;
}

async function flipBit(file: string, offset: number): Promise<void> {
  const data = await readFile(file);
  data[offset] = (data[offset] ?? 0) ^ 0x10;
  await writeFile(file, data);
}

const allSeqs = (outbox: Outbox, sink = "mqtt"): number[] =>
  outbox
    .sink(sink)
    .next(10_000)
    .map((e) => e.seq);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "outbox-file-"));
  drops.length = 0;
});
afterEach(async () => {
  for (const outbox of opened.splice(0)) await outbox.close();
  await rm(dir, { recursive: true, force: true });
});

describe("file outbox: format", () => {
  it("writes length, CRC-32 of length+payload, and the JSON payload", async () => {
    const outbox = await openBox({ now: () => 1234 });
    await outbox.append(reading(7));
    outbox.sink("xmpp").next(1);
    outbox.sink("xmpp").ack(1);
    await outbox.close();
    expect((await readdir(dir)).sort()).toEqual(["cursors.json", "seg-0000000000000001.log"]);
    const data = await readFile(firstSegment());
    const length = data.readUInt32LE(0);
    expect(data.length).toBe(8 + length);
    expect(data.readUInt32LE(4)).toBe(crc32(data.subarray(8), crc32(data.subarray(0, 4))));
    expect(JSON.parse(data.toString("utf8", 8))).toEqual({ seq: 1, at: 1234, reading: reading(7) });
    const cursors: unknown = JSON.parse(await readFile(join(dir, "cursors.json"), "utf8"));
    expect(cursors).toEqual({ version: 1, sinks: { xmpp: 1, mqtt: 0 } });
  });

  it("fsyncs the directory when an append starts a new segment", async () => {
    const outbox = await openBox({ segmentBytes: 250 });
    const fsyncs = [outbox.stats.fsyncs];
    for (let i = 1; i <= 2; i++) {
      await outbox.append(reading(i));
      fsyncs.push(outbox.stats.fsyncs);
    }
    expect(outbox.stats.segments).toBe(2);
    expect([fsyncs[1]! - fsyncs[0]!, fsyncs[2]! - fsyncs[1]!]).toEqual([1, 2]);
  });

  it("rolls segments at segmentBytes and deletes the ones every sink acked", async () => {
    const outbox = await openBox({ segmentBytes: 500 });
    await appendMany(outbox, 1, 12);
    const segments = (await readdir(dir)).filter((n) => n.startsWith("seg-"));
    expect(segments.length).toBeGreaterThan(2);
    for (const name of ["xmpp", "mqtt"]) {
      const sink = outbox.sink(name);
      for (const e of sink.next(100)) sink.ack(e.seq);
    }
    await outbox.flush();
    expect((await readdir(dir)).filter((n) => n.startsWith("seg-"))).toEqual([segments.at(-1)]);
  });
});

describe("file outbox: recovery", () => {
  it("cuts a torn last record and keeps everything before it", async () => {
    await prepared(20);
    const offsets = await recordOffsets(firstSegment());
    const lastStart = offsets.at(-1) ?? 0;
    await truncate(firstSegment(), lastStart + 11); // header and three payload bytes survived
    let outbox = await openBox();
    expect(outbox.recovery).toMatchObject({ entries: 19, truncatedBytes: 11, lostSeqs: 0 });
    const entries = outbox.sink("xmpp").next(100);
    expect(entries.map((e) => e.reading)).toEqual(range(1, 19).map(reading));
    expect((await outbox.append(reading(99))).seq).toBe(20);
    await outbox.close();
    outbox = await openBox();
    expect(outbox.recovery).toMatchObject({ entries: 20, truncatedBytes: 0 });
    expect(drops).toEqual([]);
  });

  it("cuts a tail of zeros, as a file system may leave after a crash", async () => {
    await prepared(5);
    const data = await readFile(firstSegment());
    await writeFile(firstSegment(), Buffer.concat([data, Buffer.alloc(4096)]));
    const outbox = await openBox();
    expect(outbox.recovery).toMatchObject({ entries: 5, truncatedBytes: 4096 });
    expect(allSeqs(outbox)).toEqual(range(1, 5));
  });

  it("detects a flipped bit in a payload, skips that record only and reports it lost", async () => {
    await prepared(20);
    const offsets = await recordOffsets(firstSegment());
    const [tenth, eleventh] = [offsets[9] ?? 0, offsets[10] ?? 0];
    await flipBit(firstSegment(), tenth + 30);
    const outbox = await openBox();
    expect(outbox.recovery.corrupt).toEqual([
      { file: segmentFileName(1), offset: tenth, bytes: eleventh - tenth },
    ]);
    expect(outbox.recovery).toMatchObject({ entries: 19, lostSeqs: 1, truncatedBytes: 0 });
    expect(drops).toEqual([
      { sink: "xmpp", count: 1, fromSeq: 10, toSeq: 10, reason: "lost" },
      { sink: "mqtt", count: 1, fromSeq: 10, toSeq: 10, reason: "lost" },
    ]);
    const entries = outbox.sink("mqtt").next(100);
    expect(entries.map((e) => e.seq)).toEqual([...range(1, 9), ...range(11, 20)]);
    expect(entries.map((e) => e.reading.seq)).toEqual([...range(1, 9), ...range(11, 20)]);
    expect(outbox.sink("mqtt").dropped).toBe(1);
  });

  it("reports a lost record again at each open until the sink's cursor passes it", async () => {
    await prepared(20);
    const offsets = await recordOffsets(firstSegment());
    await flipBit(firstSegment(), (offsets[9] ?? 0) + 30);
    let outbox = await openBox();
    const xmpp = outbox.sink("xmpp");
    for (const e of xmpp.next(9)) xmpp.ack(e.seq);
    expect(xmpp.cursor).toBe(10); // past the hole, up to the first entry still owed
    await outbox.close();
    drops.length = 0;
    outbox = await openBox();
    expect(drops.map((d) => [d.sink, d.fromSeq, d.toSeq])).toEqual([["mqtt", 10, 10]]);
    expect(outbox.sink("xmpp").next(100)[0]?.seq).toBe(11);
  });

  it("finds the following records when the length field itself is damaged", async () => {
    await prepared(6);
    const offsets = await recordOffsets(firstSegment());
    await flipBit(firstSegment(), (offsets[2] ?? 0) + 3); // high byte of record 3's length
    const outbox = await openBox();
    expect(outbox.recovery).toMatchObject({ entries: 5, lostSeqs: 1 });
    expect(allSeqs(outbox)).toEqual([1, 2, 4, 5, 6]);
  });

  it("treats damage to the very last record like a torn write", async () => {
    await prepared(4);
    const offsets = await recordOffsets(firstSegment());
    await flipBit(firstSegment(), (offsets[3] ?? 0) + 20);
    const outbox = await openBox();
    expect(outbox.recovery).toMatchObject({ entries: 3, lostSeqs: 0 });
    expect(outbox.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(allSeqs(outbox)).toEqual([1, 2, 3]);
  });

  it("reports a segment that vanished as lost for the sinks that had not acked it", async () => {
    const outbox = await openBox({ segmentBytes: 400 });
    await appendMany(outbox, 1, 12);
    const xmpp = outbox.sink("xmpp");
    for (const e of xmpp.next(100)) xmpp.ack(e.seq);
    await outbox.close();
    const segments = (await readdir(dir)).filter((n) => n.startsWith("seg-")).sort();
    expect(segments.length).toBeGreaterThan(2);
    await rm(join(dir, segments[1] ?? ""));
    const reopened = await openBox({ segmentBytes: 400 });
    expect(drops.map((d) => [d.sink, d.reason])).toEqual([["mqtt", "lost"]]);
    const lost = drops[0]?.count ?? 0;
    expect(reopened.recovery.lostSeqs).toBe(lost);
    expect(allSeqs(reopened)).toHaveLength(12 - lost);
    expect(reopened.sink("xmpp").pending).toBe(0);
  });

  it("redelivers everything, losing nothing, when the cursor file is unreadable", async () => {
    let outbox = await openBox();
    await appendMany(outbox, 1, 5);
    const xmpp = outbox.sink("xmpp");
    for (const e of xmpp.next(100)) xmpp.ack(e.seq);
    await outbox.close();
    await writeFile(join(dir, "cursors.json"), '{"version":1,"sinks":{"xm');
    await writeFile(join(dir, "cursors.json.tmp"), "half a file");
    outbox = await openBox();
    expect(outbox.recovery.cursorsReset).toBe(true);
    expect(allSeqs(outbox, "xmpp")).toEqual(range(1, 5));
    expect((await readdir(dir)).includes("cursors.json.tmp")).toBe(false);
  });

  it("names the file in I/O errors", async () => {
    const file = join(dir, "not-a-dir");
    await writeFile(file, "");
    const error: unknown = await Outbox.open(join(file, "outbox"), { sinks: ["xmpp"] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutboxIoError);
    expect(error).toMatchObject({ op: "mkdir", file: join(file, "outbox") });
  });
});
