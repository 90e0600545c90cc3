/**
 * A loopback TCP relay that can be closed and opened: the agent's only path to its server, so
 * the server (and the subscriber on it) stay up while the agent sees it unreachable.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { freePort } from "../../src/demo/prosody.js";

export interface Gate {
  readonly service: string;
  open(): Promise<void>;
  /** Stops listening and cuts live connections: connects are refused until open(). */
  close(): Promise<void>;
}

export async function tcpGate(targetPort: number): Promise<Gate> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    service: `xmpp://127.0.0.1:${port}`,
    async open() {
      if (server) return;
      server = createServer((client) => {
        const upstream = connect(targetPort, "127.0.0.1");
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("error", () => undefined);
          s.on("close", () => (sockets.delete(s), client.destroy(), upstream.destroy()));
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
    },
    async close() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (s) await new Promise((r) => s.close(r));
    },
  };
}
