/**
 * SCRAM-SHA-1 with the salted password derived by Node's native PBKDF2. The stock mechanism
 * computes it as thousands of sequential WebCrypto HMAC calls: about 1 s per login at Prosody's
 * minimum of 4096 iterations on a PC, several seconds on a Pi. Native PBKDF2 takes milliseconds.
 * Everything else (nonces, proofs, server signature check) stays the stock mechanism's: it takes
 * a precomputed salted password for the salt the server sent.
 */
import { pbkdf2 } from "node:crypto";
import { promisify } from "node:util";
// @ts-expect-error -- no types published; the shape used is declared below.
import StockScramSha1 from "sasl-scram-sha-1";

import { utf8Wire } from "./sasl-plain.js";

const derive = promisify(pbkdf2);

interface ScramCredentials {
  username?: string;
  password?: string;
  authzid?: string;
  salt?: Uint8Array;
  saltedPassword?: Uint8Array;
}

/**
 * The parts of sasl-scram-sha-1's Mechanism (index.js) this subclass relies on, private fields
 * included: package.json pins the version they were read from.
 */
interface StockMechanism {
  name: string;
  clientFirst: boolean;
  _stage: "initial" | "challenge" | "final";
  _salt?: Uint8Array;
  _iterationCount?: number;
  response(cred: ScramCredentials): string | Promise<string>;
  challenge(chal: string): unknown;
}

const Stock = StockScramSha1 as new (options?: object) => StockMechanism;

export class NativeScramSha1 extends Stock {
  override async response(cred: ScramCredentials): Promise<string> {
    const salt = this._salt;
    const iterations = this._iterationCount;
    if (this._stage !== "challenge" || !salt || !iterations) {
      // The client-first message carries the user name: UTF-8 on the wire, while the stock
      // mechanism keeps the JavaScript string for its AuthMessage, which it encodes as UTF-8
      // too, so both sides sign the same bytes.
      return utf8Wire(await super.response(cred));
    }
    const key = await derive(cred.password ?? "", salt, iterations, 20, "sha1");
    return super.response({ ...cred, salt, saltedPassword: new Uint8Array(key) });
  }
}

/** Registers the mechanism under its standard name, as the @xmpp mechanism plugins do. */
export function nativeScramSha1(factory: { use(mechanism: unknown): unknown }): void {
  factory.use(NativeScramSha1);
}
