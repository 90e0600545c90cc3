/**
 * The agent's serial link against the reference firmware itself: the C device logic and codec
 * that run on the board, built for the host and attached to a real pty.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createVirtualCable, type VirtualCable } from "../../firmware-bridge/emulator/index.js";
import type { DeviceDescription, Reading } from "../../src/core/reading.js";
import { totalWireErrors } from "../../src/device/link-stats.js";
import { SerialLink } from "../../src/device/serial-link.js";
import { until } from "../support/wait.js";

const FIRMWARE = join("firmware-bridge", "build", "envnode-host");

let dir: string;
let cable: VirtualCable;
let firmware: ChildProcess | undefined;
let link: SerialLink;
let readings: Reading[];

beforeAll(() => {
  execFileSync("make", ["-s", "-C", "firmware-bridge", "build/envnode-host"], { stdio: "inherit" });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-fw-"));
  cable = await createVirtualCable({ agentPath: join(dir, "ttyIOT") });
  readings = [];
});

afterEach(async () => {
  await link?.stop();
  await powerOff();
  await cable.close();
  await rm(dir, { recursive: true, force: true });
});

function powerOn(): void {
  firmware = spawn(FIRMWARE, ["-p", "40", cable.devicePath], { stdio: "ignore" });
}

async function powerOff(): Promise<void> {
  const child = firmware;
  firmware = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

function startLink(): Promise<DeviceDescription> {
  link = new SerialLink({ path: cable.agentPath, helloRetryMs: 200 });
  link.on("reading", (r) => readings.push(r));
  const hello = new Promise<DeviceDescription>((resolve) => link.once("hello", resolve));
  link.start();
  return hello;
}

describe("serial link with the reference firmware (host build)", () => {
  it("handshakes, reads typed values in range, and drives the relay and the LED", async () => {
    powerOn();
    const device = await startLink();
    expect(device.sensors.map((s) => `${s.name}:${s.kind}`)).toEqual([
      "temp:num",
      "hum:num",
      "door:bool",
    ]);
    expect(device.actuators.find((a) => a.name === "led")?.values).toEqual(["off", "on", "blink"]);
    await until(() => readings.length >= 10, "10 readings");
    for (const r of readings) {
      for (const v of r.values) {
        const cap = device.sensors.find((s) => s.name === v.sensor)!;
        if (cap.kind === "num") {
          expect(v.value).toBeGreaterThanOrEqual(cap.min!);
          expect(v.value).toBeLessThanOrEqual(cap.max!);
        } else {
          expect(typeof v.value).toBe("boolean");
        }
      }
    }
    await expect(link.setActuator("relay", true)).resolves.toMatchObject({ value: true });
    await expect(link.setActuator("led", "blink")).resolves.toMatchObject({ value: "blink" });
    expect(totalWireErrors(link.stats)).toBe(0);
  });

  it("notices the board being reset: a new boot id and the sequence from 1", async () => {
    powerOn();
    const first = await startLink();
    await until(() => readings.length >= 3, "3 readings");
    const rebooted = new Promise<DeviceDescription>((resolve) =>
      link.on("hello", (d, info) => info.rebooted && resolve(d)),
    );
    await powerOff();
    powerOn();
    const second = await rebooted;
    expect(second.boot).not.toBe(first.boot);
    await until(() => readings.some((r) => r.boot === second.boot), "a reading of the new boot");
    expect(readings.find((r) => r.boot === second.boot)?.seq).toBe(1);
  });
});
