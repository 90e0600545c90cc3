import { describe, expect, it } from "vitest";
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
    // @xmpp/sasl encodes each response with btoa: one character per byte.
    expect(Buffer.from(btoa(wire), "base64").toString("utf8")).toBe("\0датчик\0päss-✓");
  });

  it("SCRAM's client-first message carries the name in UTF-8 (RFC 5802 §5.1)", async () => {
    const mech = new NativeScramSha1({ genNonce: () => "nonce" });
    const first = await mech.response({ username: "датчик", password: "x" });
    expect(Buffer.from(btoa(first), "base64").toString("utf8")).toBe("n,,n=датчик,r=nonce");
  });
});
