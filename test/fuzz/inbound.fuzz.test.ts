/**
 * Fuzz of inbound messages (src/xmpp/inbound.ts, chat-commands.ts, parseCommand in
 * src/core/commands.ts): random bodies (huge, control characters, bidi and zero-width marks,
 * look-alike command words), random JIDs and missing attributes, stanzas built with xml() and
 * parsed from random XML-ish text, and element trees 10,000 deep.
 */
import fc from "fast-check";
import { Parser, type Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { isVerb, parseCommand } from "../../src/core/commands.js";
import { ChatCommands, type StrangerPolicy } from "../../src/xmpp/chat-commands.js";
import { xml } from "../../src/xmpp/client.js";
import { classifyInbound, MAX_BODY_CHARS } from "../../src/xmpp/inbound.js";
import { ALLOWED, commandWorld } from "./fixtures.js";
import { FUZZ_TIMEOUT_MS, fuzz, fuzzAsync, runs } from "./runs.js";

const SURFACE = "inbound stanzas + chat commands";
const KINDS = new Set(["chat", "oversized", "error", "receipt", "ignored"]);

/** Command words, their look-alikes (Cyrillic, fullwidth, Kelvin sign) and invisible marks. */
const word = fc.oneof(
  fc.constantFrom("help", "status", "get", "set", "SET", "Set", "ping", "stats", "whoami"),
  fc.constantFrom(
    "ѕet",
    "sеt",
    "ｓｅｔ",
    "ＳＥＴ",
    "ре",
    "ⅰ",
    "\u212Aelvin",
    "staтus",
    "pıng",
    "PİNG",
  ),
  fc.constantFrom("\u200Bset", "set\u200B", "\u202Eset", "\u2066help", "\uFEFFping", "s\u00ADet"),
  fc.constantFrom("relay", "led", "fan", "temp", "on", "off", "blink", "42", "-1", "1e400"),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
const space = fc.constantFrom(
  " ",
  "  ",
  "\t",
  "\n",
  "\u00A0",
  "\u3000",
  "\u2028",
  "\u0085",
  "\uFEFF",
);
const control = fc.constantFrom("\u0000", "\u0007", "\u001B[31m", "\u007F", "\u009B", "\r");
const words = fc
  .array(fc.oneof({ weight: 6, arbitrary: word }, { weight: 1, arbitrary: control }), {
    maxLength: 5,
  })
  .chain((ws) =>
    fc.tuple(fc.constant(ws), fc.array(space, { minLength: ws.length, maxLength: ws.length })),
  )
  .map(([ws, gaps]) => ws.map((w, i) => `${gaps[i] ?? " "}${w}`).join(""));
const hugeBody = fc
  .tuple(
    fc.constantFrom("a", "é", "😀", "set relay on ", "\u202E"),
    fc.integer({ min: 1, max: 30_000 }),
  )
  .map(([unit, n]) => unit.repeat(n));
const body = fc.oneof({ weight: 8, arbitrary: words }, { weight: 1, arbitrary: hugeBody });

const jidish = fc.oneof(
  fc.constantFrom(...Object.values(ALLOWED)).map((j) => `${j}/res`),
  fc.constantFrom("ADMIN@Example.ORG/x", "operator@example.org.", "stranger@example.org/r"),
  fc.constantFrom(
    "",
    "@",
    "a@",
    "@b",
    "a@b@c",
    "/r",
    "admin@example.org/",
    "ad\u0000min@example.org",
  ),
  fc.string({ maxLength: 40 }),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

interface MessageSpec {
  from: string | undefined;
  type: string | undefined;
  id: string | undefined;
  body: string | undefined;
  thread: string | undefined;
  receipt: boolean;
  extra: string | undefined;
}

const messageSpec: fc.Arbitrary<MessageSpec> = fc.record({
  from: maybe(jidish),
  type: maybe(fc.constantFrom("chat", "normal", "groupchat", "headline", "error", "bogus", "")),
  id: maybe(fc.string({ maxLength: 12 })),
  body: maybe(body),
  thread: maybe(fc.string({ maxLength: 12 })),
  receipt: fc.boolean(),
  extra: maybe(
    fc.constantFrom("urn:xmpp:carbons:2", "urn:xmpp:forward:0", "urn:xmpp:mam:2", "urn:example"),
  ),
});

function build(spec: MessageSpec): Element {
  const attrs: Record<string, string> = {};
  for (const key of ["from", "type", "id"] as const) {
    const v = spec[key];
    if (v !== undefined) attrs[key] = v;
  }
  const kids: Element[] = [];
  if (spec.body !== undefined) kids.push(xml("body", {}, spec.body));
  if (spec.thread !== undefined) kids.push(xml("thread", {}, spec.thread));
  if (spec.receipt) kids.push(xml("request", { xmlns: "urn:xmpp:receipts" }));
  if (spec.extra !== undefined) kids.push(xml("received", { xmlns: spec.extra }));
  return xml("message", attrs, ...kids);
}

/** A `<message>` with a body and a chain of `depth` nested elements, built without recursion. */
function deep(depth: number, text: string): Element {
  const root = xml("x");
  let cursor = root;
  for (let i = 1; i < depth; i++) cursor = cursor.c("x");
  return xml("message", { from: `${ALLOWED.admin}/r`, type: "chat" }, xml("body", {}, text), root);
}

/** A send that keeps what it is given and completes at once. */
function record(into: Element[], stanza: Element): Promise<void> {
  into.push(stanza);
  return Promise.resolve();
}

const codePoints = (s: string) => [...s].length;

/** Classifies and, for commands, handles `stanza`; checks what was sent back. */
async function handleOne(stanza: Element, strangers: StrangerPolicy): Promise<void> {
  const message = classifyInbound(stanza);
  expect(KINDS.has(message.kind)).toBe(true);
  if (message.kind === "chat") {
    expect(message.body).toBe(message.body.trim());
    expect(message.body).not.toBe("");
    expect(codePoints(message.body)).toBeLessThanOrEqual(MAX_BODY_CHARS);
  }
  if (message.kind === "oversized") {
    expect(message.length).toBeGreaterThan(MAX_BODY_CHARS);
    expect(message).not.toHaveProperty("body");
  }
  if (message.kind !== "chat" && message.kind !== "oversized") return;
  const world = commandWorld();
  const sent: Element[] = [];
  const chat = new ChatCommands({ ...world, strangers, send: (s) => record(sent, s) });
  await chat.handle(message, stanza);
  const role = world.access.roleOf(message.from);
  const receipts = sent.filter((s) => s.getChild("received", "urn:xmpp:receipts"));
  const replies = sent.filter((s) => !receipts.includes(s));
  if (role === undefined) {
    expect(replies.map((s) => String(s.attrs.type))).toEqual(
      strangers === "error" ? ["error"] : [],
    );
    expect(world.device.applied).toEqual([]);
  } else {
    expect(replies).toHaveLength(1);
    // An empty id has nothing to echo: classify still sets wantsReceipt, receiptFor sends none.
    const echoable = message.kind === "chat" && message.wantsReceipt && message.id !== undefined;
    expect(receipts.length).toBe(echoable ? 1 : 0);
    expect(replies[0]?.attrs.to).toBe(message.from);
    expect(replies[0]?.getChildText("body")?.length ?? 0).toBeGreaterThan(0);
  }
  // Whatever came in, what goes out serializes and never reflects a huge body.
  for (const s of sent) expect(s.toString().length).toBeLessThan(4 * MAX_BODY_CHARS);
  const accepted = world.log.lines.filter((l) => l.msg === "command accepted");
  if (message.kind === "chat" && accepted.length > 0) {
    const first = message.body.split(/\s+/u)[0] ?? "";
    expect(first).toMatch(/^[a-z-]+$/i);
  }
}

describe("inbound stanza fuzz", () => {
  it(
    "built stanzas: classified without throwing, commands answered exactly once",
    async () => {
      await fuzzAsync(
        SURFACE,
        "xml()-built messages through classify + ChatCommands",
        fc.asyncProperty(
          messageSpec,
          fc.constantFrom<StrangerPolicy>("error", "silence"),
          (spec, p) => handleOne(build(spec), p),
        ),
        { numRuns: runs(0.5) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "parseCommand: never throws; accepts only ASCII verbs and no control characters",
    () => {
      fuzz(
        SURFACE,
        "parseCommand on random text",
        fc.property(fc.oneof(words, fc.string({ unit: "binary", maxLength: 300 })), (text) => {
          const parsed = parseCommand(text);
          if (!parsed.ok) {
            expect(parsed.error.length).toBeGreaterThan(0);
            expect(parsed.error.length).toBeLessThan(300);
            return;
          }
          const first = text.trim().split(/\s+/u)[0] ?? "";
          expect(first).toMatch(/^[a-z-]+$/i);
          expect(isVerb(first.toLowerCase())).toBe(true);
          expect(text.replace(/\s/gu, " ")).not.toMatch(/\p{Cc}/u);
        }),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "random XML-ish text through @xmpp/xml's parser: every element it yields is classified",
    async () => {
      const piece = fc.oneof(
        fc.constantFrom("<message", "<body>", "</body>", "</message>", "<thread>", "</thread>"),
        fc.constantFrom(" from='admin@example.org/r'", " type='chat'", " id='1'", " to='x'"),
        fc.constantFrom(">", "/>", "<", "=", "'", '"', "&amp;", "&lt;", "&#x202E;", "&bogus;"),
        fc.constantFrom(
          "<request xmlns='urn:xmpp:receipts'/>",
          "<error type='cancel'>",
          "</error>",
        ),
        fc.constantFrom(" xmlns='jabber:client'", "<![CDATA[", "]]>", "<!--", "-->", "<x:y>"),
        word,
      );
      const text = fc.array(piece, { maxLength: 60 }).map((p) => p.join("").slice(0, 4000));
      await fuzzAsync(
        SURFACE,
        "parsed XML-ish messages",
        fc.asyncProperty(text, async (s) => {
          const parser = new Parser();
          const elements: Element[] = [];
          parser.on("element", (el: Element) => elements.push(el));
          parser.on("error", () => undefined);
          parser.write("<stream:stream xmlns='jabber:client' xmlns:stream='s'>");
          try {
            parser.write(s);
          } catch (error) {
            // ltx throws on characters XML forbids (&#0;) and on undefined entities; Prosody's
            // expat refuses both as not well-formed, so they never reach the agent.
            expect((error as Error).message).toMatch(/^Illegal XML (character|entity)/);
          }
          for (const el of elements) await handleOne(el, "error");
        }),
        { numRuns: runs(0.5) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "an element tree 10,000 deep is classified and answered without recursion in our code",
    async () => {
      for (const depth of [10_000, 50_000]) {
        await handleOne(deep(depth, "status"), "error");
        const parsed: Element[] = [];
        const parser = new Parser();
        parser.on("element", (el: Element) => parsed.push(el));
        parser.write("<stream:stream xmlns='jabber:client' xmlns:stream='s'>");
        parser.write(
          `<message from='${ALLOWED.viewer}/r'><body>ping</body>${"<x>".repeat(depth)}` +
            `${"</x>".repeat(depth)}</message>`,
        );
        expect(parsed).toHaveLength(1);
        await handleOne(parsed[0] as Element, "error");
        // ltx's toString() recurses: serializing the inbound tree itself would overflow.
        expect(() => parsed[0]?.toString()).toThrow(RangeError);
      }
    },
    FUZZ_TIMEOUT_MS,
  );
});
