/** `iot-agent check-config FILE` (src/config/check.ts): output and exit codes. */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
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
