/** Access list matching on normalized bare JIDs (src/core/access.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccessList, type Role } from "../../src/core/access.js";
import { bareJid } from "../../src/core/jid.js";

const list = new AccessList([
  { jid: "Romeo@Montague.lit", role: "admin" },
  { jid: "juliet@capulet.lit", role: "operator" },
  { jid: "nurse@capulet.lit.", role: "viewer" },
]);

describe("AccessList.roleOf", () => {
  it.each([
    ["romeo@montague.lit", "admin"],
    ["ROMEO@MONTAGUE.LIT/orchard", "admin"],
    ["juliet@capulet.lit/balcony", "operator"],
    ["ｊｕｌｉｅｔ@capulet.lit", "operator"],
    ["nurse@capulet.lit", "viewer"],
    ["nurse@capulet.lit./kitchen", "viewer"],
  ])("%s is %s", (jid, role) => {
    expect(list.roleOf(jid)).toBe(role);
  });

  it.each([
    ["tybalt@capulet.lit", "not listed"],
    ["juli\u0435t@capulet.lit", "Cyrillic е"],
    ["juliet@c\u0430pulet.lit", "Cyrillic а in the domain"],
    ["jul\u200biet@capulet.lit", "zero-width space"],
    ["capulet.lit", "the domain alone"],
    ["juliet@capulet.lit.evil", "a longer domain"],
    ["juliet", "a domain that happens to be the localpart"],
    ["", "empty"],
    ["not a jid", "invalid"],
  ])("%j has no role (%s)", (jid) => {
    expect(list.roleOf(jid)).toBeUndefined();
  });

  it("gives a role only to JIDs whose normalized bare form is listed", () => {
    const listed = new Set(["romeo@montague.lit", "juliet@capulet.lit", "nurse@capulet.lit"]);
    const unit = fc.constantFrom(..."romeujlitcpa@./ROMEUJ\u0430\u0435\u043eｊ\u200b ");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (s) => {
        const role = list.roleOf(s);
        if (role !== undefined) expect(listed.has(bareJid(s) ?? "")).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("AccessList.withRole", () => {
  it("lists normalized bare JIDs holding at least the role", () => {
    expect(list.withRole("operator")).toEqual(["romeo@montague.lit", "juliet@capulet.lit"]);
    expect(list.withRole("viewer")).toHaveLength(3);
    expect(list.withRole("admin")).toEqual(["romeo@montague.lit"]);
  });
});

describe("AccessList construction", () => {
  it("counts spelling variants of one account once", () => {
    const acl = new AccessList([
      { jid: "a@b", role: "viewer" },
      { jid: "A@B.", role: "viewer" },
    ]);
    expect(acl.size).toBe(1);
  });

  it.each([
    [[{ jid: "a@b/res", role: "viewer" }], /has a resource/],
    [[{ jid: "example.com", role: "admin" }], /domain-wide grants are not supported/],
    [[{ jid: "a b@c", role: "viewer" }], /"a b@c" is not a valid JID/],
    [
      [
        { jid: "a@b", role: "viewer" },
        { jid: "A@b", role: "admin" },
      ],
      /"A@b" \(admin\) is the same account as "a@b" \(viewer\)/,
    ],
  ] satisfies Array<[Array<{ jid: string; role: Role }>, RegExp]>)(
    "rejects %j",
    (entries, message) => {
      expect(() => new AccessList(entries)).toThrow(message);
    },
  );
});

describe("AccessList.allows", () => {
  const roles: Role[] = ["viewer", "operator", "admin"];
  it.each(roles.flatMap((have) => roles.map((need) => [have, need] as const)))(
    "%s for %s",
    (have, need) => {
      expect(AccessList.allows(have, need)).toBe(roles.indexOf(have) >= roles.indexOf(need));
    },
  );

  it("allows nothing without a role", () => {
    for (const need of roles) expect(AccessList.allows(undefined, need)).toBe(false);
  });
});
