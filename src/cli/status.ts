/**
 * `iot-agent status [--url URL]`: asks a running agent's health endpoint how it is doing and
 * prints it for a person. Exit 0 when XMPP and the device are online, 3 when the agent answers
 * but something is down, a failing outbox included (a supervisor or a shell script can tell the
 * two apart), 1 when it does not answer at all.
 */
import { parseArgs } from "node:util";
import type { AgentStatus } from "../agent.js";
import { statusSummary } from "../health/summary.js";
import type { CliIo } from "./io.js";

export const STATUS_HELP = `Usage: iot-agent status [--url URL]

Asks a running agent (its health endpoint, see 'health' in the configuration) how it is doing.

Options:
  --url URL    the health endpoint (default http://127.0.0.1:9464)
  -h, --help   show this help

Exit status: 0 XMPP and device online, 3 the agent runs but something is down (including an
outbox whose disk is failing), 1 no answer.
`;

export const EXIT_DEGRADED = 3;

export async function runStatus(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help) {
    io.out(STATUS_HELP);
    return 0;
  }
  const url = `${(values.url ?? "http://127.0.0.1:9464").replace(/\/$/, "")}/status`;
  let status: AgentStatus;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    status = (await res.json()) as AgentStatus;
  } catch (error) {
    io.err(`iot-agent: no answer from ${url}: ${(error as Error).message}\n`);
    return 1;
  }
  io.out(statusSummary(status, Date.now()) + "\n");
  const healthy =
    status.xmpp.online && status.device.state === "online" && status.outbox.state !== "failing";
  return healthy ? 0 : EXIT_DEGRADED;
}
