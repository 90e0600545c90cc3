/** `iot-agent check-config FILE` (src/config/check.ts): output and exit codes. */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECK_CONFIG_HELP, runCheckConfig } from "../../src/config/check.js";

const EXAMPLE = "config/agent.example.yaml";
const SECRET = "Zebra-7f3c-Quokka-Secret!";
const ENV = { IOT_AGENT_XMPP_PASSWORD: SECRET };

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-agent-check-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: NodeJS.ProcessEnv = ENV) {
  let out = "";
  let err = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s) };
  const code = await runCheckConfig(argv, io, env);
  return { code, out, err };
}

describe("check-config", () => {
  it("prints ok and a summary for the example, exit 0", async () => {
    const { code, out, err } = await run([EXAMPLE]);
    expect(code).toBe(0);
    expect(out.split("\n")).toEqual([
      `${EXAMPLE}: ok`,
      "  server:      xmpp://xmpp.example.org:5222 as sensor1@example.org/iot-agent (STARTTLS " +
        "required; password from $IOT_AGENT_XMPP_PASSWORD)",
      "  device:      /dev/ttyACM0 at 115200 baud",
      "  access:      2 allowed JIDs (1 admin, 1 operator); others refused with an error",
      "  subscribers: 1 JID: dashboard@example.org",
      "  telemetry:   every by default, 2 sensor overrides",
      "  alerts:      2 (too-hot, too-dry)",
      "",
    ]);
    expect(err.split("\n").filter((line) => line && !line.includes("chmod 600"))).toEqual([]);
    expect(out + err).not.toContain(SECRET);
  });

  it("prints warnings to stderr and still exits 0", async () => {
    const path = join(dir, "lab.yaml");
    const text = [
      "xmpp: { domain: lab.local, username: pi, password: { env: IOT_AGENT_XMPP_PASSWORD },",
      "        tls: { allowPlaintext: true } }",
      "device: { port: /tmp/ttyV0, emulate: true }",
      "outbox: { dir: /var/lib/iot-agent/outbox }",
      "",
    ].join("\n");
    await writeFile(path, text);
    await chmod(path, 0o600);
    const { code, out, err } = await run([path]);
    expect(code).toBe(0);
    expect(out).toContain("PLAINTEXT ALLOWED");
    expect(out).toContain("0 allowed JIDs; others refused");
    expect(err).toContain(`warning: ${path}:2:32 xmpp.tls.allowPlaintext: true:`);
    expect(err).toContain("warning: ");
    expect(err.trim().split("\n")).toHaveLength(3); // plaintext, emulator, nobody allowed
  });

  it.each([
    ["plaintext and anonymous", "mqtt://127.0.0.1:1883", "", ["url", "commands"]],
    ["plaintext", "mqtt://127.0.0.1:1883", "  username: sensor1\n", ["url"]],
    ["anonymous", "mqtts://broker.example.org:8883", "", ["commands"]],
    ["TLS with an account", "mqtts://broker.example.org:8883", "  username: sensor1\n", []],
  ])(
    "warns about MQTT commands over a %s broker connection",
    async (_name, url, username, warned) => {
      const path = join(dir, `mqtt-${warned.join("-") || "none"}.yaml`);
      const mqtt = (commands: boolean) =>
        `mqtt:\n  url: ${url}\n  tls: { allowPlaintext: true }\n${username}` +
        (commands ? "  commands: { role: operator, actuators: [relay] }\n" : "");
      const example = await readFile(EXAMPLE, "utf8");
      await writeFile(path, `${example}\n${mqtt(true)}`, { mode: 0o600 });
      const on = await run([path]);
      expect(on.code).toBe(0);
      expect(on.out).toContain(
        `mqtt:        ${url} under iot-agent; commands on for relay as operator`,
      );
      const mqttWarnings = on.err.split("\n").filter((line) => line.includes(" mqtt."));
      expect(mqttWarnings.map((line) => /mqtt\.(url|commands):/.exec(line)?.[1])).toEqual(warned);
      if (warned.includes("url"))
        expect(on.err).toContain("plaintext (mqtt://) while mqtt.commands is on");
      if (warned.includes("commands")) expect(on.err).toContain("anonymous broker connection");
      await writeFile(path, `${example}\n${mqtt(false)}`, { mode: 0o600 });
      const off = await run([path]);
      expect(off.out).toContain("commands off");
      expect(off.err).not.toContain(" mqtt.");
    },
  );

  it("warns that a viewer role refuses every MQTT command", async () => {
    const path = join(dir, "mqtt-viewer.yaml");
    const mqtt =
      "mqtt:\n  url: mqtts://broker.example.org:8883\n  username: sensor1\n" +
      "  commands: { role: viewer, actuators: [relay] }\n";
    await writeFile(path, `${await readFile(EXAMPLE, "utf8")}\n${mqtt}`, { mode: 0o600 });
    const { code, err } = await run([path]);
    expect(code).toBe(0);
    expect(err).toMatch(/mqtt\.commands\.role: viewer: set needs the operator role/);
  });

  it("prints every problem to stderr, exit 2", async () => {
    const { code, out, err } = await run([EXAMPLE], {});
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(
      /^config\/agent\.example\.yaml:\d+:20 xmpp\.password\.env: .*IOT_AGENT_XMPP_PASSWORD not set\n/,
    );
    expect(err).toContain(`${EXAMPLE}: 1 problem\n`);
  });

  it("exits 2 for a file that does not exist", async () => {
    const { code, err } = await run([join(dir, "nope.yaml")]);
    expect(code).toBe(2);
    expect(err).toContain("expected a readable configuration file, found no such file");
  });

  it("prints usage for --help, exit 0", async () => {
    expect(await run(["--help"])).toEqual({ code: 0, out: CHECK_CONFIG_HELP, err: "" });
    expect((await run(["-h"])).code).toBe(0);
  });

  it.each([
    [[], "missing FILE"],
    [["a.yaml", "b.yaml"], "one FILE at a time"],
    [["--verbose", EXAMPLE], "Unknown option '--verbose'"],
  ])("rejects %j as a usage error, exit 2", async (argv, message) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(message);
    expect(err).toContain("Usage: iot-agent check-config FILE");
  });
});
