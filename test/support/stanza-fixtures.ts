/** Shared inputs of the stanza tests: a fixed reading and XML parsed as a client would. */
import { Parser, type Element } from "@xmpp/xml";
import type { Reading, ReadingValue } from "../../src/core/reading.js";

/** A reading with a fixed identity and time, so expected XML can be written out in full. */
export function sampleReading(values: ReadingValue[]): Reading {
  return {
    device: "envnode-01",
    boot: "b7f3",
    seq: 1523,
    receivedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 678),
    values,
  };
}

/** Parse XML the way @xmpp/client does: as a child of a jabber:client stream. */
export function parseStanza(stanza: string): Element {
  const parser = new Parser();
  let out: Element | undefined;
  parser.on("element", (el: Element) => (out = el));
  parser.write(`<stream:stream xmlns='jabber:client' xmlns:stream='x'>${stanza}`);
  if (!out) throw new Error(`no element in ${stanza}`);
  return out;
}
