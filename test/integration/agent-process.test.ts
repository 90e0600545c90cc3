/**
 * `iot-agent run` as a real process, the way a supervisor starts it: configuration from a file,
 * the password from the environment, telemetry out, and a clean exit on SIGTERM that leaves the
 * agent shown as unavailable.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SENSORDATA_NS } from "../../src/xmpp/sensordata.js";
import { freePort, startProsody, type ProsodyServer } from "../support/prosody.js";
import { startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";
import { spawnAgentRun } from "../support/agent-command.js";
import { runCli as cli } from "../../src/cli/commands.js";

/** Runs the CLI in-process, capturing its output. */
async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await cli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const SECRET = "agent-process-secret-7f3";
let server: ProsodyServer;
let dir: string;
let owner: Peer;

/** An agent configuration for `on`, named `name` in the test folder, with a health port of its own. */
async function writeConfig(on: ProsodyServer, name: string, xmppExtra = "") {
  const file = join(dir, `${name}.yaml`);
  const healthPort = await freePort();
  await writeFile(
    file,
    `xmpp:
  service: ${on.service}
  domain: localhost
  username: agent
  password: { env: IOT_AGENT_XMPP_PASSWORD }
  tls: { caFile: ${on.caFile} }
${xmppExtra}device: { port: ${join(dir, `tty-${name}`)}, emulate: true }
outbox: { dir: ${join(dir, `outbox-${name}`)} }
access:
  allow: [ { jid: owner@localhost, role: admin } ]
telemetry:
  subscribers: [ owner@localhost ]
health: { port: ${healthPort} }
`,
    { mode: 0o600 },
  );
  return { file, healthPort };
}

const spawnAgent = (file: string) => spawnAgentRun(file, { IOT_AGENT_XMPP_PASSWORD: SECRET });

beforeAll(async () => {
  server = await startProsody();
  await server.register("agent", SECRET);
  await server.register("owner", "owner-pass");
  await server.start();
  dir = await mkdtemp(join(tmpdir(), "iot-agent-proc-"));
  owner = await startPeer(server, "owner", "owner-pass", await readFile(server.caFile, "utf8"));
}, 30_000);

afterAll(async () => {
  await owner?.stop();
  await server?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe("iot-agent run", () => {
  it("runs from a config file, sends telemetry, reports its health, reloads on SIGHUP, exits 0 on SIGTERM", async () => {
    const { file: config, healthPort } = await writeConfig(server, "run");
    const { child, exited, logs } = spawnAgent(config);
    try {
      const telemetry = await owner.next(
        (s) => s.is("message") && s.getChild("fields", SENSORDATA_NS) !== undefined,
        30_000,
      );
      expect(String(telemetry.attrs.from)).toMatch(/^agent@localhost\//);
      const reply = owner.next((s) => s.is("message") && /pong/.test(s.getChildText("body") ?? ""));
      await owner.send("agent@localhost", "ping");
      await reply;
      // The same figures over XMPP, for an admin.
      const stats = owner.next(
        (s) => s.is("message") && /^xmpp: /.test(s.getChildText("body") ?? ""),
      );
      await owner.send("agent@localhost", "stats");
      const figures = (await stats).getChildText("body") ?? "";
      expect(figures).toMatch(/^readings: [1-9]\d* in, 0 rejected, \d+ bad lines, \d+ missing$/m);
      expect(figures).toMatch(/^commands: 1 done, 0 failed, 0 refused$/m);
      expect(figures).toMatch(/^ {2}xmpp: \d+ pending, 0 dropped, [1-9]\d* delivered/m);

      // The health endpoint, as Prometheus and as `iot-agent status` see it.
      const url = `http://127.0.0.1:${healthPort}`;
      await until(() => logs().includes("health endpoint listening"), "health endpoint");
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^iot_agent_xmpp_online 1$/m);
      expect(metrics).toMatch(/^iot_agent_readings_delivered_total\{sink="xmpp"\} [1-9]\d*$/m);
      expect(metrics).toMatch(/^iot_agent_outbox_pending\{sink="xmpp"\} \d+$/m);
      expect(metrics).toMatch(/^iot_agent_xmpp_sessions_total 1$/m);
      expect(metrics).toMatch(/^iot_agent_commands_total\{transport="chat",result="done"\} 2$/m);
      const status = await runCli(["status", "--url", url]);
      expect(status.code).toBe(0);
      expect(status.out).toMatch(/^xmpp: +online as agent@localhost\//m);
      expect(status.out).toMatch(/^device: +online \(envnode-emu/m);
      const nobody = await runCli(["status", "--url", "http://127.0.0.1:1"]);
      expect(nobody.code).toBe(1);
      expect(nobody.err).toMatch(/no answer from http:\/\/127.0.0.1:1\/status/);

      // SIGHUP: the owner becomes a viewer at once; the reconnect delays need a restart.
      const text = await readFile(config, "utf8");
      await writeFile(
        config,
        text
          .replace("role: admin", "role: viewer")
          .replace("tls: { caFile", "reconnect: { initialSeconds: 2 }\n  tls: { caFile"),
        { mode: 0o600 },
      );
      child.kill("SIGHUP");
      await until(() => logs().includes("configuration reloaded"), "the reload");
      expect(logs()).toMatch(/"applied":\["access.allow"\],"needsRestart":\["xmpp.reconnect"\]/);
      const refused = owner.next((s) =>
        /needs the operator role/.test(s.getChildText("body") ?? ""),
      );
      await owner.send("agent@localhost", "set relay on");
      expect((await refused).getChildText("body")).toMatch(/yours is viewer/);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(logs()).toMatch(/agent online/);
    expect(logs()).not.toContain(SECRET);
  });

  it("starts with the server unreachable: keeps the device's readings, lives through SIGHUP, delivers when the server comes", async () => {
    const late = await startProsody();
    try {
      await late.register("agent", SECRET);
      await late.register("owner", "owner-pass");
      const reconnect = "  reconnect: { initialSeconds: 1, maxSeconds: 2 }\n";
      const { file: config, healthPort } = await writeConfig(late, "late", reconnect);
      const { child, exited, logs } = spawnAgent(config);
      try {
        // No server yet: readings are accepted into the outbox all the same.
        const pending = async () => {
          const metrics = await fetch(`http://127.0.0.1:${healthPort}/metrics`).then(
            (r) => r.text(),
            () => "",
          );
          return Number(/^iot_agent_outbox_pending\{sink="xmpp"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
        };
        const deadline = Date.now() + 20_000;
        while ((await pending()) < 3) {
          if (Date.now() > deadline) throw new Error(`no readings in the outbox; logs:\n${logs()}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(logs()).not.toMatch(/agent online/);
        child.kill("SIGHUP");
        await new Promise((r) => setTimeout(r, 300));
        expect(child.exitCode).toBeNull();

        await late.start();
        const peer = await startPeer(
          late,
          "owner",
          "owner-pass",
          await readFile(late.caFile, "utf8"),
        );
        try {
          const delayed = await peer.next(
            (s) => s.is("message") && s.getChild("delay", "urn:xmpp:delay") !== undefined,
            30_000,
          );
          expect(delayed.getChild("fields", SENSORDATA_NS)).toBeDefined();
          await until(() => logs().includes("agent online"), "agent online");
          // The SIGHUP that came while connecting is carried out once the agent runs.
          await until(() => logs().includes("configuration reloaded"), "the deferred reload");
        } finally {
          await peer.stop();
        }
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
    } finally {
      await late.destroy();
    }
  }, 60_000);
});
