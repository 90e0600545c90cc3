/** classifyInbound: stanzas as they arrive from the stream, and what the agent makes of them. */
import { describe, expect, it } from "vitest";
import { classifyInbound } from "../../src/xmpp/inbound.js";
import { chatReply, receiptFor, stanzaError, withReceiptRequest } from "../../src/xmpp/stanzas.js";
import { parseStanza } from "../support/stanza-fixtures.js";

const parse = parseStanza;

const FROM = "alice@example.org/phone";
const classify = (stanza: string) => classifyInbound(parse(stanza));

describe("chat commands", () => {
  it("reads body, thread and receipt request", () => {
    expect(
      classify(`<message from='${FROM}' id='m1' type='chat'>
        <body>  relay on </body><thread>th-1</thread><request xmlns='urn:xmpp:receipts'/>
      </message>`),
    ).toEqual({
      kind: "chat",
      from: FROM,
      id: "m1",
      body: "relay on",
      thread: "th-1",
      wantsReceipt: true,
    });
  });

  it("treats normal, missing and unknown types alike (RFC 6121 §5.2.2)", () => {
    for (const type of ["normal", undefined, "bogus"]) {
      const t = type ? ` type='${type}'` : "";
      expect(classify(`<message from='${FROM}'${t}><body>status</body></message>`)).toEqual({
        kind: "chat",
        from: FROM,
        body: "status",
        wantsReceipt: false,
      });
    }
  });

  it("wants no receipt without an id to echo", () => {
    const msg = classify(
      `<message from='${FROM}'><body>hi</body><request xmlns='urn:xmpp:receipts'/></message>`,
    );
    expect(msg).toMatchObject({ kind: "chat", wantsReceipt: false });
  });

  it("prefers the body without xml:lang and ignores bodies in other namespaces", () => {
    expect(
      classify(`<message from='${FROM}'><body xml:lang='de'>Relais an</body><body>relay on</body>
        <body xmlns='urn:example'>no</body></message>`),
    ).toMatchObject({ body: "relay on" });
  });

  it("agrees with receiptFor about when a receipt is due", () => {
    const asked = withReceiptRequest(
      chatReply({ to: "agent@example.org", id: "c9", body: "status" }),
    );
    asked.attrs.from = FROM;
    expect(classifyInbound(asked)).toMatchObject({ kind: "chat", wantsReceipt: true });
    expect(receiptFor(asked)).toBeDefined();
    // An empty id cannot be echoed: neither side owes a receipt (found by test/fuzz).
    asked.attrs.id = "";
    expect(classifyInbound(asked)).toMatchObject({ kind: "chat", wantsReceipt: false });
    expect(receiptFor(asked)).toBeUndefined();
  });
});

describe("size guard", () => {
  const sized = (body: string) =>
    classify(
      `<message from='${FROM}' id='big' type='chat'><body>${body}</body><thread>t</thread></message>`,
    );

  it("accepts 4096 characters and flags 4097 as oversized, without the body", () => {
    expect(sized("a".repeat(4096))).toMatchObject({ kind: "chat" });
    expect(sized("a".repeat(4097))).toEqual({
      kind: "oversized",
      from: FROM,
      id: "big",
      thread: "t",
      length: 4097,
      limit: 4096,
    });
  });

  it("counts characters, not UTF-16 units", () => {
    expect(sized("🌡".repeat(4096))).toMatchObject({ kind: "chat" });
    expect(sized("🌡".repeat(4097))).toMatchObject({ kind: "oversized", length: 4097 });
  });

  it("takes another limit", () => {
    const el = parse(`<message from='${FROM}'><body>12345</body></message>`);
    expect(classifyInbound(el, { maxBody: 4 })).toMatchObject({ kind: "oversized", length: 5 });
  });
});

describe("errors and receipts", () => {
  it("parses RFC 6120 stanza errors", () => {
    expect(
      classify(`<message from='${FROM}' id='t1' type='error'><error type='cancel'>
        <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
        <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>offline</text></error></message>`),
    ).toEqual({
      kind: "error",
      from: FROM,
      id: "t1",
      errorType: "cancel",
      condition: "service-unavailable",
      text: "offline",
    });
  });

  it("reads back what stanzaError builds", () => {
    const original = chatReply({ to: "agent@example.org", id: "c1", body: "x" });
    original.attrs.from = FROM;
    const err = stanzaError(original, "modify", "policy-violation", "too long");
    expect(classifyInbound(err)).toEqual({
      kind: "error",
      from: "agent@example.org",
      id: "c1",
      errorType: "modify",
      condition: "policy-violation",
      text: "too long",
    });
  });

  it("maps unknown conditions to undefined-condition and drops malformed errors", () => {
    expect(
      classify(`<message from='${FROM}' type='error'><error type='wait'>
        <payment-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`),
    ).toEqual({ kind: "error", from: FROM, errorType: "wait", condition: "undefined-condition" });
    expect(classify(`<message from='${FROM}' type='error'/>`)).toEqual({
      kind: "ignored",
      reason: "malformed error",
    });
    expect(classify(`<message from='${FROM}' type='error'><error type='oops'/></message>`)).toEqual(
      {
        kind: "ignored",
        reason: "malformed error",
      },
    );
  });

  it("recognises XEP-0184 acks, falling back to the message id of early drafts", () => {
    expect(
      classify(
        `<message from='${FROM}' id='a1'><received xmlns='urn:xmpp:receipts' id='tm-1'/></message>`,
      ),
    ).toEqual({ kind: "receipt", from: FROM, id: "tm-1" });
    expect(
      classify(`<message from='${FROM}' id='tm-2'><received xmlns='urn:xmpp:receipts'/></message>`),
    ).toEqual({ kind: "receipt", from: FROM, id: "tm-2" });
    expect(
      classify(`<message from='${FROM}'><received xmlns='urn:xmpp:receipts'/></message>`),
    ).toEqual({
      kind: "ignored",
      reason: "receipt without id",
    });
  });
});

describe("ignored", () => {
  const forwarded = `<forwarded xmlns='urn:xmpp:forward:0'>
    <message xmlns='jabber:client' from='${FROM}' to='bob@example.org' type='chat'><body>relay on</body></message>
  </forwarded>`;

  it.each([
    ["not a message", `<presence from='${FROM}'/>`],
    ["no from", "<message type='chat'><body>relay on</body></message>"],
    [
      "carbon copy",
      `<message from='agent@example.org'><sent xmlns='urn:xmpp:carbons:2'>${forwarded}</sent></message>`,
    ],
    [
      "carbon copy",
      `<message from='agent@example.org'><received xmlns='urn:xmpp:carbons:2'>${forwarded}</received></message>`,
    ],
    ["forwarded copy", `<message from='${FROM}'><body>fwd</body>${forwarded}</message>`],
    [
      "archived copy",
      `<message from='agent@example.org'><result xmlns='urn:xmpp:mam:2' id='1'>${forwarded}</result></message>`,
    ],
    [
      "groupchat",
      `<message from='room@muc.example.org/bob' type='groupchat'><body>relay on</body></message>`,
    ],
    ["headline", `<message from='news.example.org' type='headline'><body>news</body></message>`],
    ["empty body", `<message from='${FROM}' type='chat'><body>  \n </body></message>`],
    [
      "empty body",
      `<message from='${FROM}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
    ],
  ])("%s", (reason, stanza) => {
    expect(classify(stanza)).toEqual({ kind: "ignored", reason });
  });
});
