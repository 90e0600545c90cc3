/**
 * What a TLS client sent, as TLS records: a TCP relay keeps the client's bytes, and the record
 * headers say what kind of data they carried without decrypting anything. A client that gives up
 * in the handshake sends only handshake (22) and alert (21) records; any application data (23)
 * means it finished the handshake and may have sent its credentials.
 */
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

export const TLS_HANDSHAKE = 22;
export const TLS_ALERT = 21;
export const TLS_APPLICATION_DATA = 23;

export interface ByteProxy {
  port: number;
  /** Everything clients sent, per connection. */
  connections(): Buffer[];
  close(): void;
}

export async function byteProxy(targetPort: number): Promise<ByteProxy> {
  const sockets = new Set<Socket>();
  const sent: Buffer[][] = [];
  const proxy = createServer((client) => {
    const chunks: Buffer[] = [];
    sent.push(chunks);
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => (client.destroy(), upstream.destroy()));
    }
    client.on("data", (d: Buffer) => chunks.push(d));
    client.pipe(upstream).pipe(client);
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  const address = proxy.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    connections: () => sent.map((chunks) => Buffer.concat(chunks)),
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

/** Content types of the TLS records in `bytes` (type, version, 16-bit length, payload). */
export function tlsRecordTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  let at = 0;
  while (at + 5 <= bytes.length) {
    types.push(bytes[at] ?? -1);
    at += 5 + bytes.readUInt16BE(at + 3);
  }
  return types;
}
