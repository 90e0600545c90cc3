/**
 * The `iot-agent` command: usage errors, `monitor` against an emulated device, and `emulate` as a
 * separate process that the agent's link reads over a real pty.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeviceEmulator } from "../../firmware-bridge/emulator/index.js";
import { runCli as runCliWithLog } from "../../src/cli/commands.js";
import { createLogger } from "../../src/core/logger.js";
import type { CliIo } from "../../src/cli/io.js";
import type { Reading } from "../../src/core/reading.js";
import { SerialLink } from "../../src/device/serial-link.js";
import { agentCommand } from "../support/agent-command.js";

let dir: string;
const quiet = createLogger({ level: "silent" });
const runCli = (argv: string[], io: CliIo) => runCliWithLog(argv, io, quiet);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-cli-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function captureIo(signal?: AbortSignal): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    out: (text: string) => void (io.stdout += text),
    err: (text: string) => void (io.stderr += text),
    ...(signal ? { signal } : {}),
  };
  return io;
}

describe("iot-agent usage", () => {
  it.each([
    [["monitor"], /--port is required/],
    [["monitor", "--port", "/dev/null", "--baud", "12"], /--baud 12: expected one of .*115200/],
    [["monitor", "--port", "/dev/null", "--set", "relay"], /--set relay: expected NAME=VALUE/],
    [["monitor", "--port", "/dev/null", "--count", "0"], /--count 0: expected a whole number/],
    [["monitor", "--bogus"], /bogus/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ])("%j exits 2 and says what is wrong", async (argv, message) => {
    const io = captureIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.stderr).toMatch(message);
  });

  it("prints help with exit 0", async () => {
    const io = captureIo();
    expect(await runCli(["monitor", "--help"], io)).toBe(0);
    expect(io.stdout).toMatch(/Usage: iot-agent monitor --port PATH/);
  });
});

describe("iot-agent monitor", () => {
  it("prints readings as JSON lines and sets an actuator", async () => {
    const link = join(dir, "ttyIOT");
    const emulator = await DeviceEmulator.start({ link, rateHz: 20 });
    try {
      const io = captureIo();
      const code = await runCli(
        ["monitor", "--port", link, "--count", "5", "--set", "relay=on"],
        io,
      );
      expect(code).toBe(0);
      const lines = io.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(5);
      expect(lines[0]).toMatchObject({ device: "envnode-emu", boot: emulator.status().boot });
      expect(Object.keys(lines[0]!.values as object)).toEqual(["temp", "hum", "door"]);
      expect(emulator.status().actuators.relay).toBe("1");
    } finally {
      await emulator.stop();
    }
  });
});

describe("iot-agent emulate", () => {
  it("runs as its own process, serves a link on a pty and exits 0 when its time is up", async () => {
    const path = join(dir, "ttyEMU");
    const emulate = agentCommand(["emulate", "--link", path, "--rate", "10", "--duration", "4"]);
    const child = spawn(emulate.command, emulate.args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 15_000;
    while (!existsSync(path)) {
      if (Date.now() > deadline) throw new Error(`emulator did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const serial = new SerialLink({ path, reconnect: { initialMs: 100, maxMs: 300 } });
    const readings: Reading[] = [];
    serial.on("reading", (r) => readings.push(r));
    serial.start();
    expect(await exited).toBe(0);
    await serial.stop();
    expect(output).toMatch(/device ready on/);
    expect(readings.length).toBeGreaterThanOrEqual(5);
    expect(existsSync(path)).toBe(false);
  });
});
