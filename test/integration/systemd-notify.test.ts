/**
 * `iot-agent run` under a stand-in for systemd: NOTIFY_SOCKET names a unix datagram socket read
 * by python3 (which, like systemd, drops the fd that systemd-notify's barrier passes, so the
 * helper returns at once). The XMPP server is unreachable on purpose: systemd must hear READY=1
 * and the watchdog all the same, or an outage would get a healthy agent killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentCommand } from "../support/agent-command.js";
import { freePort } from "../support/prosody.js";
import { until } from "../support/wait.js";

/** Prints each datagram as a JSON string on its own line; recv() discards passed fds. */
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("listening"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

let dir: string;
let receiver: ChildProcess | undefined;
let datagrams: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-notify-"));
  receiver = spawn("/usr/bin/python3", ["-c", RECEIVER, join(dir, "notify.sock")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let buffered = "";
  receiver.stdout?.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    datagrams.push(...lines.map((l) => JSON.parse(l) as string));
  });
  await until(() => datagrams.includes("listening"), "the notify socket");
  datagrams = [];
});

afterAll(async () => {
  receiver?.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
});

/** Assignments received so far, in order, e.g. ["MAINPID=12", "READY=1", "BARRIER=1", ...]. */
const assignments = () => datagrams.flatMap((d) => d.split("\n"));

describe("iot-agent run under systemd (Type=notify, WatchdogSec)", () => {
  it("sends READY=1 with the device read and no XMPP server, then WATCHDOG=1, and STOPPING=1 on SIGTERM", async () => {
    const config = join(dir, "agent.yaml");
    const outbox = join(dir, "outbox");
    await writeFile(
      config,
      `xmpp:
  service: xmpp://127.0.0.1:${await freePort()}
  domain: localhost
  username: agent
  password: { env: IOT_AGENT_XMPP_PASSWORD }
device: { port: ${join(dir, "ttyNOTIFY")}, emulate: true }
outbox: { dir: ${outbox} }
`,
      { mode: 0o600 },
    );
    const run = agentCommand(["run", "--config", config]);
    const env = {
      ...process.env,
      IOT_AGENT_XMPP_PASSWORD: "unused",
      NOTIFY_SOCKET: join(dir, "notify.sock"),
      WATCHDOG_USEC: "1000000",
    };
    const child = spawn(run.command, run.args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let logs = "";
    child.stderr.on("data", (d: Buffer) => (logs += d.toString()));
    child.stdout.on("data", (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await until(() => assignments().includes("READY=1"), `READY=1; logs:\n${logs}`, 30_000);
      expect(existsSync(outbox), "the outbox is open before READY=1").toBe(true);
      expect(logs).toMatch(/XMPP server not reachable yet/);
      expect(logs).not.toMatch(/agent online/);
      const watchdogs = () => assignments().filter((a) => a === "WATCHDOG=1").length;
      await until(() => watchdogs() >= 2, "two WATCHDOG=1", 10_000);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, logs).toBe(0);
    await until(() => assignments().includes("STOPPING=1"), "STOPPING=1");
    const sent = assignments().filter((a) => a !== "BARRIER=1");
    // systemd-notify --pid=<agent> names the agent as the main process in every message.
    expect(new Set(sent.filter((a) => a.startsWith("MAINPID=")))).toEqual(
      new Set([`MAINPID=${child.pid}`]),
    );
    const states = sent.filter((a) => !a.startsWith("MAINPID="));
    expect(states[0]).toBe("READY=1");
    expect(states.at(-1)).toBe("STOPPING=1");
    expect(states.slice(1, -1).every((a) => a === "WATCHDOG=1")).toBe(true);
  }, 60_000);
});
