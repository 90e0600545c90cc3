/**
 * SASL PLAIN (RFC 4616) with the message in UTF-8 on the wire. @xmpp/sasl base64-encodes each
 * response with btoa, which takes one character per byte: the stock mechanisms hand it
 * JavaScript strings, so a password with `ä` went out as Latin-1 (and failed to authenticate),
 * and a name or password beyond Latin-1 made the SASL step throw. RFC 4616 and RFC 5802 say
 * UTF-8. `utf8Wire` turns a string into the one-character-per-byte form btoa expects.
 * That is @xmpp/base64 0.14.0's `encode`; a release that encodes UTF-8 itself would encode these
 * bytes twice, which is why package.json pins it (and @xmpp/sasl) exactly.
 */
export function utf8Wire(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

interface PlainCredentials {
  authzid?: string;
  username?: string;
  password?: string;
}

export class Utf8Plain {
  readonly name = "PLAIN";
  readonly clientFirst = true;

  response(cred: PlainCredentials): string {
    return utf8Wire(`${cred.authzid ?? ""}\0${cred.username ?? ""}\0${cred.password ?? ""}`);
  }

  challenge(): this {
    return this;
  }
}

/** Registers the mechanism under its standard name, as the @xmpp mechanism plugins do. */
export function utf8Plain(factory: { use(mechanism: unknown): unknown }): void {
  factory.use(Utf8Plain);
}
