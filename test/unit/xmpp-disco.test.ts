/** Service discovery, entity capabilities and version payloads (src/xmpp/disco.ts). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGENT_VERSION } from "../../src/version.js";
import {
  AGENT_CAPABILITIES,
  CAPS_NS,
  capsElement,
  capsHash,
  capsVerificationString,
  discoInfo,
  DISCO_INFO_NS,
  versionResult,
} from "../../src/xmpp/disco.js";
import { presenceStanza } from "../../src/xmpp/roster.js";

describe("XEP-0115 capabilities", () => {
  // XEP-0115 §5.2, the simple example.
  const exodus = {
    identities: [{ category: "client", type: "pc", name: "Exodus 0.9.1" }],
    features: [
      "http://jabber.org/protocol/disco#info",
      "http://jabber.org/protocol/disco#items",
      "http://jabber.org/protocol/muc",
      "http://jabber.org/protocol/caps",
    ],
  };

  it("builds the verification string and hash of the XEP's example", () => {
    expect(capsVerificationString(exodus)).toBe(
      "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<" +
        "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<" +
        "http://jabber.org/protocol/muc<",
    );
    expect(capsHash(exodus)).toBe("QgayPKawpkPSDYmwT/WM94uAlu0=");
  });

  it("does not depend on the order features are listed in", () => {
    const shuffled = { ...exodus, features: [...exodus.features].reverse() };
    expect(capsHash(shuffled)).toBe(capsHash(exodus));
  });

  it("puts the agent's hash in every presence", () => {
    const c = presenceStanza({ status: "online" }).getChild("c", CAPS_NS);
    expect(c?.attrs).toMatchObject({ hash: "sha-1", ver: capsHash(AGENT_CAPABILITIES) });
    expect(capsElement().attrs.node).toMatch(/^https:\/\//);
  });
});

describe("disco#info", () => {
  it("lists the identity and each feature once, including disco#info itself", () => {
    const query = discoInfo(AGENT_CAPABILITIES);
    expect(query.attrs.xmlns).toBe(DISCO_INFO_NS);
    expect(query.getChildren("identity").map((i) => i.attrs)).toEqual([
      { category: "client", type: "bot", name: "xmpp-iot-agent" },
    ]);
    const features = query.getChildren("feature").map((f) => f.attrs.var as string);
    expect(features).toContain(DISCO_INFO_NS);
    expect(new Set(features).size).toBe(features.length);
    expect(discoInfo(AGENT_CAPABILITIES, "n#v").attrs.node).toBe("n#v");
  });
});

describe("software version", () => {
  it("reports the package version and no operating system", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
    const query = versionResult("xmpp-iot-agent", AGENT_VERSION);
    expect(query.getChildText("version")).toBe(pkg.version);
    expect(query.getChild("os")).toBeUndefined();
  });
});
