/**
 * Secrets hygiene of `iot-agent run` as a process at log level debug: through a login, readings,
 * commands (chat and MQTT), a server restart (a second login), a clean stop and a run with wrong
 * passwords, neither password, nor its base64, nor a SASL payload may appear in anything the agent
 * printed or served (stdout, stderr with its audit records, /status, /metrics). The loader warns
 * when the configuration or the password file can be read by others.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { agentCommand } from "../support/agent-command.js";
import { startMosquitto, type MosquittoBroker } from "../support/mosquitto.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { isChatFrom, startPeer, type Peer } from "../support/xmpp-peer.js";
import { until } from "../support/wait.js";

const secret = (tag: string) => `${tag}-${randomBytes(12).toString("base64url")}`;
const XMPP_PW = secret("xmpp");
const MQTT_PW = secret("mqtt");
const WRONG_XMPP_PW = secret("wrongx");
const WRONG_MQTT_PW = secret("wrongm");

/** A secret as it would show inside any longer base64 text: all three alignments. */
function base64Forms(value: string): string[] {
  return [0, 1, 2].map((shift) => {
    const encoded = Buffer.from("\0".repeat(shift) + value).toString("base64");
    // Characters touching a neighbour (the padding shift, the last partial group) are dropped.
    const start = Math.ceil((shift * 4) / 3);
    const end = Math.floor(((shift + value.length) * 4) / 3);
    return encoded.slice(start, end);
  });
}

const FORBIDDEN: Array<[string, string]> = [
  ...[XMPP_PW, MQTT_PW, WRONG_XMPP_PW, WRONG_MQTT_PW].flatMap((pw): Array<[string, string]> => [
    [`password ${pw.slice(0, 6)}…`, pw],
    ...base64Forms(pw).map((b, i): [string, string] => [
      `base64 (shift ${i}) of ${pw.slice(0, 6)}…`,
      b,
    ]),
  ]),
  ["SASL PLAIN payload", Buffer.from(`\0agent\0${XMPP_PW}`).toString("base64")],
  ["SCRAM client-first (base64 of 'n,,n=agent,r')", Buffer.from("n,,n=agent,r").toString("base64")],
  [
    "SCRAM client-final (base64 of 'c=biws,r=')",
    Buffer.from("c=biws,r=").toString("base64").slice(0, 12),
  ],
  ["SCRAM client-final, decoded", "c=biws,r="],
  ["a SASL element", "urn:ietf:params:xml:ns:xmpp-sasl"],
];

let server: ProsodyServer;
let broker: MosquittoBroker;
let dir: string;
let owner: Peer;
const captured: Array<{ what: string; text: string }> = [];

beforeAll(async () => {
  server = await startProsody();
  await server.register("agent", XMPP_PW);
  await server.register("owner", "owner-pass");
  await server.start();
  broker = await startMosquitto({ tls: true, auth: { username: "agent", password: MQTT_PW } });
  await broker.start();
  dir = await mkdtemp(join(tmpdir(), "iot-secrets-"));
  owner = await startPeer(server, "owner", "owner-pass", await readFile(server.caFile, "utf8"));
}, 30_000);

afterAll(async () => {
  await owner?.stop();
  await broker?.destroy();
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes the config (mode `mode`) and the XMPP password file (mode `pwMode`). */
async function writeConfig(name: string, xmppPw: string, mode: number, pwMode: number) {
  const pwFile = join(dir, `${name}.pw`);
  await writeFile(pwFile, `${xmppPw}\n`);
  await chmod(pwFile, pwMode);
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    `xmpp:
  service: ${server.service}
  domain: localhost
  username: agent
  password: { file: ${pwFile} }
  tls: { caFile: ${server.caFile} }
  reconnect: { initialSeconds: 0.2, maxSeconds: 1 }
device: { port: ${join(dir, `tty-${name}`)}, emulate: true }
outbox: { dir: ${join(dir, `outbox-${name}`)} }
access: { allow: [ { jid: owner@localhost, role: admin } ] }
mqtt:
  url: ${broker.url}
  username: agent
  password: { env: SECRETS_TEST_MQTT_PW }
  clientId: secrets-test
  tls: { caFile: ${broker.caFile} }
  commands: { role: operator, actuators: [relay] }
health: { port: 0 }
log: { level: debug }
`,
  );
  await chmod(file, mode);
  return { file, pwFile };
}

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function runAgent(file: string, mqttPw: string): Run {
  const { command, args } = agentCommand(["run", "--config", file]);
  const child = spawn(command, args, {
    env: { ...process.env, SECRETS_TEST_MQTT_PW: mqttPw },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

type LogLine = { level: number; msg?: string; url?: string };
const lines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
const count = (run: Run, msg: string) => lines(run.err()).filter((l) => l.msg === msg).length;

async function ask(text: string): Promise<string> {
  const reply = owner.next(isChatFrom("agent@localhost"));
  await owner.send("agent@localhost", text);
  return (await reply).getChildText("body") ?? "";
}

describe("secrets hygiene", () => {
  it("would recognise a password inside base64 at any offset (control)", () => {
    for (const prefix of ["", "u:", "us:"]) {
      const leaked = Buffer.from(`${prefix}${XMPP_PW}@host`).toString("base64");
      expect(FORBIDDEN.some(([, needle]) => leaked.includes(needle))).toBe(true);
    }
  });

  it("never prints or serves a password, its base64, or a SASL payload", async () => {
    const { file, pwFile } = await writeConfig("good", XMPP_PW, 0o644, 0o640);
    const run = runAgent(file, MQTT_PW);
    try {
      await until(() => count(run, "xmpp online") >= 1, "the agent online", 30_000);
      await until(() => count(run, "mqtt online") >= 1, "the agent on MQTT", 15_000);
      // The loader's warnings, as the running agent logs them.
      const warnings = lines(run.err())
        .filter((l) => l.level === 40)
        .map((l) => l.msg ?? "");
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`${file}.*\\(mode 0644\\).*chmod 600`)),
          expect.stringMatching(new RegExp(`${pwFile}.*\\(mode 0640\\).*chmod 600`)),
        ]),
      );
      await until(() => count(run, "reading accepted") >= 1, "a reading", 15_000);
      expect(await ask("set relay on")).toMatch(/relay set to on/);
      expect(await ask("get temp")).toMatch(/^temp: /);
      expect(await ask("status")).toMatch(/^device envnode-emu/);
      const ca = await readFile(broker.caFile!);
      const pub = await mqtt.connectAsync(broker.url, {
        ca,
        username: "agent",
        password: MQTT_PW,
        reconnectPeriod: 0,
      });
      await pub.publishAsync("iot-agent/envnode-emu/relay/set", "off", { qos: 1 });
      await pub.endAsync();
      await until(() => /"audit":"command".*"transport":"mqtt"/.test(run.err()), "an MQTT command");

      await server.stop();
      await server.start();
      await until(() => count(run, "xmpp online") >= 2, "a second login after the restart", 30_000);
      const url = lines(run.err()).find((l) => l.msg === "health endpoint listening")?.url;
      expect(url).toBeDefined();
      for (const path of ["/status", "/metrics"]) {
        const response = await fetch(`${url}${path}`);
        expect(response.status).toBe(200);
        captured.push({ what: `GET ${path}`, text: await response.text() });
      }
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
    } finally {
      run.child.kill("SIGKILL");
      captured.push(
        { what: "stdout (good run)", text: run.out() },
        { what: "stderr (good run)", text: run.err() },
      );
    }

    const wrong = await writeConfig("wrong", WRONG_XMPP_PW, 0o600, 0o600);
    const failing = runAgent(wrong.file, WRONG_MQTT_PW);
    const code = await failing.exited;
    captured.push(
      { what: "stdout (wrong passwords)", text: failing.out() },
      { what: "stderr (wrong passwords)", text: failing.err() },
    );
    expect(code).not.toBe(0);
    expect(failing.err()).toMatch(/not-authorized|credentials|authenticat/i);

    const everything = captured.map((c) => c.text).join("\n");
    expect(everything).toMatch(/"audit":"command"/); // the audit log is part of what was read
    const found = captured.flatMap((c) =>
      FORBIDDEN.filter(([, needle]) => c.text.includes(needle)).map(
        ([name]) => `${name} in ${c.what}`,
      ),
    );
    console.log(
      `secrets: ${FORBIDDEN.length} patterns × ${captured.length} outputs ` +
        `(${everything.length} characters) searched, ${found.length} found`,
    );
    expect(found).toEqual([]);
  }, 120_000);

  it("the loader warns about a configuration and a password file others can read", async () => {
    const { file, pwFile } = await writeConfig("loose", XMPP_PW, 0o644, 0o604);
    const loaded = await loadConfig(file, { SECRETS_TEST_MQTT_PW: MQTT_PW });
    expect(loaded.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file} .*\\(mode 0644\\).*chmod 600 ${file}$`)),
        expect.stringMatching(new RegExp(`^${pwFile} .*\\(mode 0604\\).*chmod 600 ${pwFile}$`)),
      ]),
    );
    await chmod(file, 0o600);
    await chmod(pwFile, 0o600);
    const tight = await loadConfig(file, { SECRETS_TEST_MQTT_PW: MQTT_PW });
    expect(tight.warnings.filter((w) => /chmod/.test(w))).toEqual([]);
  });
});
