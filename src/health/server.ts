/**
 * The local health endpoint: GET /metrics (Prometheus text) and GET /status (JSON), on loopback
 * unless configured otherwise. Read-only; it never takes commands, so exposing it shows figures,
 * never control.
 */
import { createServer, type Server } from "node:http";
import type { AgentStatus } from "../agent.js";
import { prometheusText } from "./metrics.js";

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startHealthServer(
  host: string,
  port: number,
  status: () => AgentStatus,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end("only GET\n");
    } else if (path === "/metrics") {
      res
        .writeHead(200, { "content-type": "text/plain; version=0.0.4" })
        .end(prometheusText(status()));
    } else if (path === "/status") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(status()));
    } else {
      res.writeHead(404).end("try /metrics or /status\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${actual}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
