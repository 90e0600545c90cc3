/** JID parsing and normalization (src/core/jid.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bareJid, formatJid, parseJid } from "../../src/core/jid.js";

const RUNS = { numRuns: 500 };

/** Code points chosen to hit every branch: separators, case, composition, width, look-alikes. */
const tricky = fc.constantFrom(
  ...["a", "Z", "0", "@", "/", ".", "-", "_", " ", "\t", "\u0000", "é", "e\u0301", "İ", "Σ", "ς"],
  ...["\u212a", "\uff21", "\uff4f", "\uff0e", "\uff20", "\u0430", "\u043e", "\u200b", "\u00ad"],
  ...["\ufb00", "\u{1d41b}", "\u24b6", "\u3000", "\uff76", "\uff9e", "\u1100", "\u0640", '"', "&"],
  ...["\ud800", "\u{1f600}", "\u0338", "<", "\u0130"],
);
const anyText = fc.oneof(
  fc.string({ unit: tricky, maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 40 }),
);
const asciiWord = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/);
const letters = fc.stringMatching(/^[a-z]{0,8}$/);
const domain = fc
  .array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join("."));
const resource = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
  .filter((r) => parseJid(`a@b/${r}`) !== undefined);

describe("parseJid", () => {
  it.each([
    [
      "Juliet@Example.COM./Balcony",
      { local: "juliet", domain: "example.com", resource: "Balcony" },
    ],
    ["example.com", { domain: "example.com" }],
    ["example.com/res", { domain: "example.com", resource: "res" }],
    // RFC 7622 §3.2: the resource begins at the first "/", even if an "@" follows.
    ["a/b@c", { domain: "a", resource: "b@c" }],
    ["juliet@example.com/a/b@c", { local: "juliet", domain: "example.com", resource: "a/b@c" }],
    ["\u212aate@x", { local: "kate", domain: "x" }],
    ["CAF\u0045\u0301@x", { local: "café", domain: "x" }],
    ["ｊｕｌｉｅｔ@ｅｘａｍｐｌｅ．ｃｏｍ", { local: "juliet", domain: "example.com" }],
    ["ｶﾞ@x", { local: "ガ", domain: "x" }],
    ["δοκιμή@παράδειγμα.δοκιμή", { local: "δοκιμή", domain: "παράδειγμα.δοκιμή" }],
    ["a@[::1]", { local: "a", domain: "[::1]" }],
    ["juliet@example.com.", { local: "juliet", domain: "example.com" }],
  ])("%j → %j", (input, expected) => {
    expect(parseJid(input)).toEqual(expected);
  });

  it.each([
    ["", "empty"],
    ["@example.com", "empty localpart"],
    ["juliet@", "empty domain"],
    ["juliet@example.com/", "empty resource"],
    ["a@b..c", "empty label"],
    ["a@.", "domain that is only a dot"],
    ["a@b@c", "second @ in the domain"],
    ["ju liet@x", "space in localpart"],
    ['ju"liet@x', "quote in localpart"],
    ["ju:liet@x", "colon in localpart"],
    ["ju<liet@x", "angle bracket in localpart"],
    ["ju\u0000liet@x", "control character"],
    ["jul\u200biet@x", "zero-width space"],
    ["jul\u00adiet@x", "soft hyphen"],
    ["\u{1d41b}ob@x", "mathematical bold letter (compatibility character)"],
    ["\ufb00@x", "ligature"],
    ["\u24b6@x", "circled letter"],
    ["user\u3000x@x", "ideographic space (maps to a space)"],
    ["\uff20x@y", "fullwidth @ in the localpart"],
    ["a@exa mple.com", "space in domain"],
    ["a@x/re\u0000s", "control character in resource"],
    ["\ud800@x", "lone surrogate"],
    ["\u0640@x", "RFC 5892 disallowed exception"],
    ["\u1100@x", "conjoining jamo"],
    [`${"a".repeat(1024)}@x`, "localpart over 1023 bytes"],
    [`a@${"é".repeat(512)}`, "domain over 1023 bytes (UTF-8, not characters)"],
    ["x".repeat(20_000), "input far too long"],
  ])("rejects %j (%s)", (input) => {
    expect(parseJid(input)).toBeUndefined();
  });

  it("accepts parts of exactly 1023 bytes", () => {
    const local = "é".repeat(511) + "a";
    expect(parseJid(`${local}@x`)?.local).toBe(local);
  });

  it("keeps the resource's case", () => {
    expect(parseJid("A@B/MixedCase")).toEqual({ local: "a", domain: "b", resource: "MixedCase" });
  });
});

describe("normalization properties", () => {
  it("never throws, and is idempotent", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const jid = parseJid(s);
        if (jid === undefined) return;
        expect(parseJid(formatJid(jid))).toEqual(jid);
        const bare = bareJid(s);
        expect(bare).toBeDefined();
        expect(bareJid(bare ?? "")).toBe(bare);
      }),
      { numRuns: 3000 },
    );
  });

  it("gives every resource of one account the same bare JID", () => {
    fc.assert(
      fc.property(asciiWord, domain, resource, resource, (local, dom, r1, r2) => {
        const a = bareJid(`${local}@${dom}/${r1}`);
        expect(a).toBe(`${local}@${dom}`);
        expect(bareJid(`${local}@${dom}/${r2}`)).toBe(a);
      }),
      RUNS,
    );
  });

  it("matches case variants of localpart and domain", () => {
    const flips = fc.array(fc.boolean(), { minLength: 64, maxLength: 64 });
    fc.assert(
      fc.property(asciiWord, domain, flips, (local, dom, upper) => {
        const jid = `${local}@${dom}`;
        const variant = [...jid].map((c, i) => (upper[i % 64] ? c.toUpperCase() : c)).join("");
        expect(bareJid(variant)).toBe(bareJid(jid));
      }),
      RUNS,
    );
  });

  it("matches fullwidth spellings, which PRECIS width-maps to the same account", () => {
    const toFullwidth = (s: string): string =>
      [...s].map((c) => String.fromCodePoint((c.codePointAt(0) ?? 0) + 0xfee0)).join("");
    fc.assert(
      fc.property(asciiWord, domain, (local, dom) => {
        expect(bareJid(`${toFullwidth(local)}@${dom}`)).toBe(`${local}@${dom}`);
      }),
      RUNS,
    );
  });
});

describe("look-alikes never match a different account", () => {
  /** Latin letters and the Cyrillic/Greek letters that render the same in most fonts. */
  const confusables: ReadonlyArray<[string, string]> = [
    ["a", "\u0430"],
    ["c", "\u0441"],
    ["e", "\u0435"],
    ["o", "\u043e"],
    ["p", "\u0440"],
    ["x", "\u0445"],
    ["y", "\u0443"],
    ["o", "\u03bf"],
    ["i", "\u0456"],
  ];
  const withConfusable = fc
    .tuple(letters, fc.constantFrom(...confusables), letters)
    .map(([before, pair, after]) => ({
      latin: before + pair[0] + after,
      swapped: before + pair[1] + after,
    }));

  it("keeps Cyrillic and Greek look-alikes distinct in the localpart", () => {
    fc.assert(
      fc.property(withConfusable, domain, ({ latin, swapped }, dom) => {
        const listed = bareJid(`${latin}@${dom}`);
        expect(listed).toBeDefined();
        expect(bareJid(`${swapped}@${dom}`)).not.toBe(listed);
      }),
      RUNS,
    );
  });

  it("keeps them distinct in the domain", () => {
    fc.assert(
      fc.property(asciiWord, withConfusable, (local, { latin, swapped }) => {
        const listed = bareJid(`${local}@${latin}.com`);
        expect(listed).toBeDefined();
        expect(bareJid(`${local}@${swapped}.com`)).not.toBe(listed);
      }),
      RUNS,
    );
  });

  it("rejects invisible and compatibility characters instead of folding them away", () => {
    const hidden = fc.constantFrom("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad");
    fc.assert(
      fc.property(asciiWord, hidden, fc.nat(20), (local, h, at) => {
        const i = at % (local.length + 1);
        expect(bareJid(`${local.slice(0, i)}${h}${local.slice(i)}@example.com`)).toBeUndefined();
      }),
      RUNS,
    );
  });
});
