/**
 * What the single-agent benchmarks run against: a private Prosody with the agent's and a
 * subscriber's accounts, the subscriber online, and a temporary folder; all removed afterwards.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProsody, type ProsodyServer } from "../../src/demo/prosody.js";
import { xmppSubscriber, type XmppSubscriber } from "./collectors.js";

export interface BenchStage {
  server: ProsodyServer;
  /** Logged in as dash@localhost, the agent's telemetry subscriber. */
  dash: XmppSubscriber;
  dir: string;
}

export async function withStage<T>(name: string, run: (stage: BenchStage) => Promise<T>) {
  const server = await startProsody();
  const dir = await mkdtemp(join(tmpdir(), `iot-bench-${name}-`));
  let dash: XmppSubscriber | undefined;
  try {
    await server.register("agent", "agent-secret");
    await server.register("dash", "dash-secret");
    await server.start();
    dash = await xmppSubscriber(server, "dash", "dash-secret");
    return await run({ server, dash, dir });
  } finally {
    await dash?.stop();
    await server.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
