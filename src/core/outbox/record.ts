/**
 * The on-disk record: a fixed header, then the payload.
 *
 *   offset 0  u32 LE  payload length in bytes (1..MAX_PAYLOAD_BYTES)
 *   offset 4  u32 LE  CRC-32 (zlib's, IEEE) of bytes 0..3 followed by the payload
 *   offset 8          payload: UTF-8 JSON {"seq":N,"at":ms,"reading":{…}}, or
 *                     {"seq":N,"at":ms,"synced":false,"reading":{…}} when `at` was taken before
 *                     the clock was synchronised (records without the field count as synced)
 *
 * The CRC covers the length too, so a damaged length cannot frame a shorter "valid" record, and
 * a zero-filled tail (what a file system may leave after a crash) fails the check because the
 * CRC of four zero bytes is not zero. The seq inside every payload lets recovery tell exactly
 * which entries a damaged stretch held.
 */
import { crc32 } from "node:zlib";
import type { Reading } from "../reading.js";

export const HEADER_BYTES = 8;
/** Far above any reading a serial line can carry; bounds what a damaged length can claim. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * An entry as held in memory: where its record is in the segment file and, while its segment is
 * the active one, the serialized payload. Older payloads are read back from the file when a sink
 * asks for them, so a full outbox costs memory per entry, not per byte.
 */
export interface StoredEntry {
  readonly seq: number;
  readonly at: number;
  /** The record's offset in its segment file, and its size (header included). */
  readonly offset: number;
  readonly size: number;
  payload: string | undefined;
}

export interface DecodedPayload {
  seq: number;
  at: number;
  /** `at` was taken with a synchronised clock, so the wall clock can age the entry. */
  synced: boolean;
  reading: Reading;
}

/** `readingJson` is JSON.stringify(reading), made once by the caller. */
export function encodePayload(seq: number, at: number, readingJson: string, synced = true): string {
  const unsynced = synced ? "" : `"synced":false,`;
  return `{"seq":${seq},"at":${at},${unsynced}"reading":${readingJson}}`;
}

/** The payload's fields, or undefined when it is not one this module wrote. */
export function decodePayload(payload: string): DecodedPayload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { seq, at, synced, reading } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return undefined;
  if (typeof at !== "number" || !isReading(reading)) return undefined;
  if (synced !== undefined && synced !== false) return undefined;
  return { seq: seq as number, at, synced: synced === undefined, reading };
}

function isReading(value: unknown): value is Reading {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r["device"] === "string" &&
    typeof r["boot"] === "string" &&
    typeof r["seq"] === "number" &&
    typeof r["receivedAt"] === "number" &&
    Array.isArray(r["values"])
  );
}

export function encodeRecord(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const record = Buffer.allocUnsafe(HEADER_BYTES + length);
  record.writeUInt32LE(length, 0);
  record.write(payload, HEADER_BYTES, "utf8");
  record.writeUInt32LE(checksum(record, 0, length), 4);
  return record;
}

function checksum(buf: Buffer, offset: number, length: number): number {
  const start = offset + HEADER_BYTES;
  return crc32(buf.subarray(start, start + length), crc32(buf.subarray(offset, offset + 4)));
}

export interface ScannedRecord {
  offset: number;
  size: number;
  entry: StoredEntry;
  synced: boolean;
}

export interface SegmentScan {
  records: ScannedRecord[];
  /** Damaged stretches followed by valid records. */
  corrupt: Array<{ offset: number; bytes: number }>;
  /** End of the last valid record: everything after it is a torn or damaged tail. */
  validEnd: number;
}

/**
 * Reads every valid record of a segment image. On a bad record it searches forward, byte by byte,
 * for the next offset where a record passes the CRC and continues the seq order: a bit flip costs
 * the records it hit, not the rest of the segment. If nothing valid follows, the damage is
 * treated as a tail, which is also what a torn final write looks like.
 */
export function scanRecords(buf: Buffer, afterSeq: number): SegmentScan {
  const records: ScannedRecord[] = [];
  const corrupt: SegmentScan["corrupt"] = [];
  let pos = 0;
  let validEnd = 0;
  let lastSeq = afterSeq;
  while (pos < buf.length) {
    const found = readRecordAt(buf, pos, lastSeq);
    if (found) {
      records.push(found);
      pos += found.size;
      validEnd = pos;
      lastSeq = found.entry.seq;
      continue;
    }
    const resume = resync(buf, pos + 1, lastSeq);
    if (resume === undefined) break;
    corrupt.push({ offset: pos, bytes: resume - pos });
    pos = resume;
  }
  return { records, corrupt, validEnd };
}

function resync(buf: Buffer, from: number, lastSeq: number): number | undefined {
  for (let pos = from; pos + HEADER_BYTES < buf.length; pos++) {
    if (readRecordAt(buf, pos, lastSeq)) return pos;
  }
  return undefined;
}

function readRecordAt(buf: Buffer, offset: number, lastSeq: number): ScannedRecord | undefined {
  if (offset + HEADER_BYTES > buf.length) return undefined;
  const length = buf.readUInt32LE(offset);
  if (length < 1 || length > MAX_PAYLOAD_BYTES) return undefined;
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length || buf.readUInt32LE(offset + 4) !== checksum(buf, offset, length)) {
    return undefined;
  }
  const payload = buf.toString("utf8", offset + HEADER_BYTES, end);
  const decoded = decodePayload(payload);
  if (!decoded || decoded.seq <= lastSeq) return undefined;
  const size = end - offset;
  const entry = { seq: decoded.seq, at: decoded.at, offset, size, payload };
  return { offset, size, entry, synced: decoded.synced };
}

/** The payload of the `size`-byte record at `offset` of `buf`, if it passes its CRC. */
export function payloadAt(buf: Buffer, offset: number, size: number): string | undefined {
  if (offset < 0 || offset + size > buf.length || size <= HEADER_BYTES) return undefined;
  const length = buf.readUInt32LE(offset);
  if (length !== size - HEADER_BYTES) return undefined;
  if (buf.readUInt32LE(offset + 4) !== checksum(buf, offset, length)) return undefined;
  return buf.toString("utf8", offset + HEADER_BYTES, offset + size);
}
