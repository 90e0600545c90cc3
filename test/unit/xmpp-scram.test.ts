import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- no types published; the encoder @xmpp/sasl applies to every response.
import { encode } from "@xmpp/base64";
// @ts-expect-error -- no types published; used only to compare against.
import StockScramSha1 from "sasl-scram-sha-1";
import { Utf8Plain } from "../../src/xmpp/sasl-plain.js";
import { NativeScramSha1 } from "../../src/xmpp/scram.js";

interface Mech {
  response(cred: object): string | Promise<string>;
  challenge(chal: string): unknown;
}
const Stock = StockScramSha1 as new (options: object) => Mech;

/** Runs a client through client-first and client-final against a fixed server-first message. */
async function clientFinal(mech: Mech): Promise<string> {
  const cred = { username: "user", password: "pencil" };
  await mech.response(cred);
  mech.challenge("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  return mech.response(cred);
}

describe("native SCRAM-SHA-1", () => {
  it("produces the RFC 5802 proof, exactly as the stock mechanism does", async () => {
    const genNonce = () => "fyko+d2lbbFgONRv9qkxdawL";
    const native = await clientFinal(new NativeScramSha1({ genNonce }));
    const stock = await clientFinal(new Stock({ genNonce }));
    // RFC 5802 §5: the client-final-message for user/pencil with this nonce and salt.
    expect(native).toBe(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    expect(native).toBe(stock);
  });
});

describe("UTF-8 on the SASL wire", () => {
  it("PLAIN sends the UTF-8 bytes of authzid, name and password (RFC 4616)", () => {
    const wire = new Utf8Plain().response({ username: "датчик", password: "päss-✓" });
    // Through @xmpp/sasl's own encoder: a release that encodes UTF-8 itself would double it.
    expect(onTheWire(wire)).toBe("\0датчик\0päss-✓");
  });

  it("SCRAM's client-first message carries the name in UTF-8 (RFC 5802 §5.1)", async () => {
    const mech = new NativeScramSha1({ genNonce: () => "nonce" });
    const first = await mech.response({ username: "датчик", password: "x" });
    expect(onTheWire(first)).toBe("n,,n=датчик,r=nonce");
  });
});

describe("dependencies whose internals the XMPP code relies on", () => {
  const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Manifest;
  const manifest = read("package.json");
  const lock = read("package-lock.json") as Manifest & { packages: Record<string, Manifest> };
  const installed = (name: string) =>
    read(createRequire(import.meta.url).resolve(`${name}/package.json`)).version;

  it("are pinned to the exact version installed, the whole tree over", () => {
    const pinned = ["@xmpp/base64", "@xmpp/sasl", "@xmpp/stream-management", "sasl-scram-sha-1"];
    for (const name of pinned) {
      const exact = manifest.dependencies?.[name];
      expect(exact, name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(installed(name), name).toBe(exact);
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(exact);
      // No nested copy of another version under a package that asks for a range.
      const nested = Object.keys(lock.packages).filter((p) => p.endsWith(`/node_modules/${name}`));
      expect(nested, name).toEqual([]);
    }
    const xmpp = Object.entries(manifest.dependencies ?? {}).filter(([n]) =>
      n.startsWith("@xmpp/"),
    );
    for (const [name, version] of xmpp) expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

interface Manifest {
  version?: string;
  dependencies?: Record<string, string>;
}

/** What the server decodes from a response @xmpp/sasl sent. */
function onTheWire(response: string): string {
  return Buffer.from((encode as (s: string) => string)(response), "base64").toString("utf8");
}
