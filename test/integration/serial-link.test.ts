/**
 * The agent's serial link against the device emulator over a real pseudo-terminal (socat):
 * readings, commands, corrupt lines, unplug/replug, reboot and stall, end to end.
 */
import { randomFillSync } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeviceEmulator } from "../../firmware-bridge/emulator/index.js";
import type { SentLine } from "../../firmware-bridge/emulator/events.js";
import type { Reading } from "../../src/core/reading.js";
import { CommandTimeoutError } from "../../src/device/errors.js";
import { totalWireErrors } from "../../src/device/link-stats.js";
import {
  SerialLink,
  type LinkState,
  type ProtocolProblem,
  type SerialLinkOptions,
} from "../../src/device/serial-link.js";
import { encodeFrame } from "../../src/device/wire/index.js";
import { until } from "../support/wait.js";

let dir: string;
let emulator: DeviceEmulator;
let link: SerialLink;
let readings: Reading[];
let sent: Map<string, SentLine>;
let states: LinkState[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-link-"));
});

afterEach(async () => {
  await link?.stop();
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function setUp(options: Partial<SerialLinkOptions> = {}, rateHz = 25): Promise<void> {
  const path = join(dir, "ttyIOT");
  emulator = await DeviceEmulator.start({ link: path, rateHz, seed: 7 });
  sent = new Map();
  emulator.on("line-sent", (s) => {
    if (s.frame.type === "RD" && !s.corrupted) sent.set(`${s.frame.boot}/${s.frame.seq}`, s);
  });
  link = new SerialLink({
    path,
    reconnect: { initialMs: 100, maxMs: 400 },
    helloRetryMs: 300,
    ...options,
  });
  readings = [];
  states = [];
  link.on("reading", (r) => readings.push(r));
  link.on("state", (s) => states.push(s));
  link.start();
  await until(() => link.state === "online", "link online");
}

async function moreReadings(n: number, boot?: string): Promise<Reading[]> {
  const start = readings.length;
  await until(
    () => readings.slice(start).filter((r) => !boot || r.boot === boot).length >= n,
    `${n} more readings`,
  );
  return readings.slice(start);
}

/** Every reading the link accepted carries exactly the values the device sent for that seq. */
function expectFaithful(received: Reading[]): void {
  for (const r of received) {
    const line = sent.get(`${r.boot}/${r.seq}`);
    expect(line, `seq ${r.seq} was sent`).toBeDefined();
    if (line?.frame.type !== "RD") continue;
    const wire = r.values.map((v) => (v.kind === "bool" ? (v.value ? "1" : "0") : String(v.value)));
    expect(wire).toEqual(line.frame.values.map(([, token]) => String(Number(token) || token)));
  }
}

describe("serial link over a real pty", () => {
  it("receives readings in order, with the values the device sent", async () => {
    await setUp();
    const got = await moreReadings(20);
    const seqs = got.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expectFaithful(got);
    const temp = got[0]!.values.find((v) => v.sensor === "temp");
    expect(temp).toMatchObject({ kind: "num", unit: "°C" });
    expect(link.device?.id).toBe("envnode-emu");
    expect(totalWireErrors(link.stats)).toBe(0);
  });

  it("sets an actuator: the device acknowledges and its state changes", async () => {
    await setUp();
    const result = await link.setActuator("relay", "on");
    expect(result).toMatchObject({ actuator: "relay", value: true });
    expect(emulator.status().actuators.relay).toBe("1");
    await link.setActuator("led", "blink");
    expect(emulator.status().actuators.led).toBe("blink");
  });

  it("times out a command the device never answers", async () => {
    await setUp({ commandTimeoutMs: 400 });
    emulator.setCommandBehaviour({ ignoreCommands: true });
    await expect(link.setActuator("relay", true)).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(link.stats.commandsFailed).toBe(1);
  });

  it("counts and skips corrupt lines and garbage, never decoding a wrong value", async () => {
    await setUp();
    await moreReadings(3);
    emulator.corruptNext(5);
    emulator.sendGarbage(40);
    await until(() => emulator.status().faults.corrupted === 5, "5 corrupted lines");
    const got = await moreReadings(10);
    expectFaithful(got);
    expect(totalWireErrors(link.stats)).toBeGreaterThanOrEqual(6);
    expect(link.stats.missingReadings).toBeGreaterThanOrEqual(1);
    expect(link.stats.missingReadings).toBeLessThanOrEqual(5);
    expect(link.state).toBe("online");
  });

  it("one valid frame far ahead (seq 583 while the device is at 83) silences nothing", async () => {
    await setUp();
    const problems: ProtocolProblem[] = [];
    link.on("protocol-error", (p) => problems.push(p));
    const { boot } = emulator.status();
    // A line corrupted into another valid one: right after seq 83, between two real lines.
    emulator.on("line-sent", (s) => {
      if (s.frame.type !== "RD" || s.frame.seq !== 83) return;
      const bogus = encodeFrame({ type: "RD", boot, seq: 583, values: [["temp", "21.5"]] });
      emulator.writeRaw(`${bogus}\n`);
    });
    await until(() => readings.some((r) => r.seq === 83), "seq 83", 30_000);
    await until(() => emulator.status().seq >= 124, "41 more readings sent", 30_000);
    await until(
      () => readings.some((r) => r.seq >= 124) || link.stats.duplicates >= 41,
      "seq 124 received or dropped",
    );
    const after = readings.filter((r) => r.seq > 83 && r.seq <= 124).map((r) => r.seq);
    expect(after).toEqual(Array.from({ length: 41 }, (_, i) => 84 + i));
    expect(link.stats.readingsDropped).toBe(1);
    expect(link.stats.duplicates).toBe(0);
    const dropped = problems.filter((p) => p.kind === "reading-dropped");
    expect(dropped.map((p) => p.detail)).toEqual([
      expect.stringMatching(/^RD seq=583: 500 ahead of seq 83, and the next reading \(seq 84\)/),
    ]);
  });

  it("survives a flood of junk on the line: bounded memory, readings resume, every drop counted", async () => {
    await setUp();
    await moreReadings(3);
    const before = totalWireErrors(link.stats);
    const heapBefore = process.memoryUsage().heapUsed;
    // A second writer on the device's end of the pty, as a babbling board or a wrong baud rate
    // would be: 4 MiB without a newline, then 4 MiB of short junk lines, as fast as the pty takes.
    const junk = await open(`${join(dir, "ttyIOT")}.dev`, "w");
    try {
      const chunk = Buffer.alloc(64 * 1024);
      for (let i = 0; i < 64; i += 1) await junk.write(randomFill(chunk, 0x24));
      for (let i = 0; i < 64; i += 1) await junk.write(randomFill(chunk, 0x0a));
    } finally {
      await junk.close();
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await until(() => totalWireErrors(link.stats) > before + 1000, "the junk counted as dropped");
    const after = await moreReadings(5);
    expectFaithful(after);
    expect(link.state).toBe("online");
    // Each 64 KiB chunk without a newline is cut at the frame limit and counted once at least.
    expect(link.stats.wireErrors.length).toBeGreaterThanOrEqual(64);
    // 8 MiB went through; a framer that kept unterminated input would hold at least 4 MiB of it.
    expect(heapGrowth).toBeLessThan(4 * 1024 * 1024 + 16 * 1024 * 1024);
  });

  it("recovers by itself after the device is unplugged and plugged back", async () => {
    await setUp();
    const boot = emulator.status().boot;
    await moreReadings(3);
    await emulator.unplug(800);
    await until(() => states.includes("connecting") && link.state === "online", "reconnect");
    const after = await moreReadings(5, boot);
    expect(after.every((r) => r.boot === boot)).toBe(true);
    expect(link.stats.disconnects).toBe(1);
    expect(link.stats.reboots).toBe(0);
    expectFaithful(after);
  });

  it("detects a reboot: new boot id, sequence restarting at 1", async () => {
    await setUp();
    const oldBoot = emulator.status().boot;
    await moreReadings(3);
    const rebooted = new Promise<string>((resolve) =>
      link.once("hello", (d, info) => info.rebooted && resolve(d.boot)),
    );
    await emulator.reboot({ midLine: true });
    const newBoot = await rebooted;
    expect(newBoot).not.toBe(oldBoot);
    expect(newBoot).toBe(emulator.status().boot);
    const after = await moreReadings(3, newBoot);
    expect(after.find((r) => r.boot === newBoot)?.seq).toBe(1);
    expect(link.stats.reboots).toBe(1);
    expect(link.stats.wireErrors.truncated).toBe(1);
  });

  it("notices a stalled device and comes back when it answers again", async () => {
    await setUp({ idleTimeoutMs: 300, pingTimeoutMs: 300 }, 5);
    await emulator.stall(1500);
    expect(states).toContain("stalled");
    await until(() => link.state === "online", "online after stall");
    await moreReadings(2);
  });
});

/** Random bytes with `byte` put in (`$` starts frames; newline ends lines). */
function randomFill(buffer: Buffer, byte: number): Buffer {
  randomFillSync(buffer);
  if (byte !== 0x0a)
    for (let i = 0; i < buffer.length; i += 1) if (buffer[i] === 0x0a) buffer[i] = 0x20;
  // `$` once per chunk makes each chunk one endless frame; newlines often make many short lines.
  const every = byte === 0x0a ? 97 : buffer.length;
  for (let i = 0; i < buffer.length; i += every) buffer[i] = byte;
  return buffer;
}
