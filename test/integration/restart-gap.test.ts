/**
 * A gap across a restart: the agent is killed (SIGKILL) while the board keeps sampling, and the
 * readings sent while no agent read the port are gone. The next agent on the same outbox must
 * report them as missing, the same way as a gap within one run.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeviceEmulator } from "../../firmware-bridge/emulator/index.js";
import type { AgentStatus } from "../../src/agent-types.js";
import { runCli as cli } from "../../src/cli/commands.js";
import { Outbox } from "../../src/core/outbox/index.js";
import { freePort } from "../support/prosody.js";
import { spawnAgentRun } from "../support/agent-command.js";

let dir: string;
let emulator: DeviceEmulator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-restart-gap-"));
  emulator = await DeviceEmulator.start({ link: join(dir, "ttyIOT"), rateHz: 25, seed: 11 });
});

afterAll(async () => {
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** No XMPP server listens: readings stay in the outbox, which is what this test reads back. */
async function writeConfig(healthPort: number): Promise<string> {
  const file = join(dir, "agent.yaml");
  await writeFile(
    file,
    `xmpp:
  service: xmpp://127.0.0.1:${await freePort()}
  domain: localhost
  username: agent
  password: { env: IOT_AGENT_XMPP_PASSWORD }
device: { port: ${join(dir, "ttyIOT")} }
outbox: { dir: ${join(dir, "outbox")} }
telemetry:
  subscribers: [ owner@localhost ]
health: { port: ${healthPort} }
`,
    { mode: 0o600 },
  );
  return file;
}

const spawnAgent = (file: string) =>
  spawnAgentRun(file, { IOT_AGENT_XMPP_PASSWORD: "unused-secret" });

async function statusOf(url: string): Promise<AgentStatus | undefined> {
  return fetch(`${url}/status`).then(
    (r) => r.json() as Promise<AgentStatus>,
    () => undefined,
  );
}

/** Polls the agent's /status until `ready` holds; the agent's logs go into the error. */
async function waitForStatus(
  url: string,
  ready: (s: AgentStatus) => boolean,
  what: string,
  logs: () => string,
): Promise<AgentStatus> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const status = await statusOf(url);
    if (status && ready(status)) return status;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every reading seq in the outbox, in the order the agents accepted them. */
async function outboxSeqs(): Promise<number[]> {
  const outbox = await Outbox.open(join(dir, "outbox"), { sinks: ["xmpp"] });
  try {
    return outbox
      .sink("xmpp")
      .next(100_000)
      .map((e) => e.reading.seq);
  } finally {
    await outbox.close();
  }
}

describe("a restart between readings", () => {
  it("reports the readings sent while no agent read the port as missing", async () => {
    const healthPort = await freePort();
    const url = `http://127.0.0.1:${healthPort}`;
    const config = await writeConfig(healthPort);

    const first = spawnAgent(config);
    const before = await waitForStatus(
      url,
      (s) => s.outbox.records >= 20,
      "20 readings stored",
      first.logs,
    );
    const boot = before.device.boot;
    first.child.kill("SIGKILL");
    await first.exited;
    // The board goes on sampling while no agent has the port open.
    const killedAt = emulator.status().seq;
    while (emulator.status().seq < killedAt + 100) await new Promise((r) => setTimeout(r, 50));

    const second = spawnAgent(config);
    let after: AgentStatus;
    try {
      after = await waitForStatus(
        url,
        (s) => s.link.readings >= 5,
        "readings after the restart",
        second.logs,
      );
      expect(after.device.boot).toBe(boot);
      const status = await runCli(["status", "--url", url]);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);

      // What the outbox holds tells how many readings of this boot never arrived.
      const seqs = await outboxSeqs();
      const jumps = seqs.flatMap((s, i) => (i > 0 && s !== seqs[i - 1]! + 1 ? [i] : []));
      expect(jumps).toHaveLength(1);
      const last = seqs[jumps[0]! - 1]!;
      const missing = seqs[jumps[0]!]! - last - 1;
      expect(missing).toBeGreaterThanOrEqual(100);
      expect(after.link).toMatchObject({ gaps: 1, missingReadings: missing });
      expect(second.logs()).toContain(`${missing} readings missing after seq ${last}`);
      expect(metrics).toMatch(new RegExp(`^iot_agent_readings_missing_total ${missing}$`, "m"));
      expect(status.out).toMatch(new RegExp(`^readings: .*, ${missing} missing$`, "m"));
    } finally {
      second.child.kill("SIGKILL");
    }
  }, 120_000);
});

async function runCli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await cli(argv, { out: (s) => void (out += s), err: () => undefined });
  return { code, out };
}
