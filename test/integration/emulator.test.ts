/**
 * The emulator on a real pseudo-terminal (socat), read the way the agent reads a board: a plain
 * SerialPort and the codec's LineFramer. Every wait is for an event with a generous deadline, so a
 * loaded machine makes the suite slower, not red.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { SerialPort } from "serialport";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  DeviceEmulator,
  envnodeProfile,
  parseFault,
  runEmulate,
} from "../../firmware-bridge/emulator/index.js";
import type { EmulatorStartOptions } from "../../firmware-bridge/emulator/index.js";
import { validateValue } from "../../src/device/validate.js";
import { decodeLine, encodeFrame, LineFramer } from "../../src/device/wire/index.js";
import type { AgentFrame, Frame, ReadingFrame } from "../../src/device/wire/frames.js";

const WAIT_MS = 10_000;
const PREFIX = join(tmpdir(), `iot-emu-test-${process.pid}-${randomBytes(3).toString("hex")}-`);
let linkCounter = 0;

/** The frame types whose `type` can be K (SENSOR and ACTUATOR share one interface). */
type FrameOf<K extends Frame["type"]> = Frame extends infer F
  ? F extends Frame
    ? K extends F["type"]
      ? F
      : never
    : never
  : never;

type Received = { ok: true; frame: Frame } | { ok: false; code: string; detail: string };

/** The agent's view of the link: decoded frames and framing errors, in arrival order. */
class Reader {
  readonly received: Received[] = [];
  readonly arrivals: Array<{ at: number; bytes: number }> = [];
  readonly #framer = new LineFramer();
  #listeners: Array<() => void> = [];

  /** Settles on the port's close event: whether serialport flagged it as a disconnect. */
  readonly closed: Promise<{ disconnected: boolean }>;

  private constructor(readonly port: SerialPort) {
    port.on("data", (chunk: Buffer) => this.#onData(chunk));
    port.on("error", () => undefined); // a write racing the unplug fails; the close tells us
    this.closed = new Promise((resolve) =>
      port.once("close", (e?: { disconnected?: boolean }) =>
        resolve({ disconnected: e?.disconnected === true }),
      ),
    );
  }

  static async open(path: string): Promise<Reader> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    return new Reader(port);
  }

  send(frame: AgentFrame): void {
    this.port.write(encodeFrame(frame) + "\n");
  }

  /** Resolves with the first item from index `from` on that `pick` maps to a value. */
  waitFor<T>(pick: (r: Received) => T | undefined, from = 0, what = "a match"): Promise<T> {
    return new Promise((resolve, reject) => {
      let index = from;
      const check = (): boolean => {
        for (; index < this.received.length; index++) {
          const item = this.received[index];
          const value = item && pick(item);
          if (value !== undefined) {
            resolve(value);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const listener = (): void => {
        if (check()) done();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(this.received)}`));
      }, WAIT_MS);
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== listener);
      };
      this.#listeners.push(listener);
    });
  }

  /** Waits for `count` frames of `type` at or after index `from`. */
  async frames<K extends Frame["type"]>(
    type: K,
    count: number,
    from = 0,
  ): Promise<Array<FrameOf<K>>> {
    const matching = (): Array<FrameOf<K>> =>
      this.received
        .slice(from)
        .flatMap((r) => (r.ok && r.frame.type === type ? [r.frame as FrameOf<K>] : []));
    await this.waitFor(
      () => (matching().length >= count ? true : undefined),
      from,
      `${count} ${type}`,
    );
    return matching().slice(0, count);
  }

  readings(count: number, from = 0): Promise<ReadingFrame[]> {
    return this.frames("RD", count, from);
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  #onData(chunk: Buffer): void {
    this.arrivals.push({ at: performance.now(), bytes: chunk.length });
    for (const event of this.#framer.push(chunk)) {
      if (event.kind === "error") this.received.push({ ok: false, ...event });
      else {
        const result = decodeLine(event.line);
        this.received.push(result.ok ? result : { ok: false, ...result.error });
      }
    }
    for (const listener of [...this.#listeners]) listener();
  }
}

const running: Array<{ emulator: DeviceEmulator; readers: Reader[] }> = [];

async function setup(options: Partial<EmulatorStartOptions> = {}): Promise<{
  emulator: DeviceEmulator;
  reader: Reader;
  link: string;
  track: (reader: Reader) => Reader;
}> {
  const link = `${PREFIX}${++linkCounter}`;
  const emulator = await DeviceEmulator.start({ link, rateHz: 10, ...options });
  const entry = { emulator, readers: [] as Reader[] };
  running.push(entry);
  const track = (reader: Reader): Reader => {
    entry.readers.push(reader);
    return reader;
  };
  return { emulator, reader: track(await Reader.open(link)), link, track };
}

/** Opens the reader and asks for a HELLO; resolves with its boot id. */
async function handshake(reader: Reader): Promise<string> {
  const from = reader.received.length;
  reader.send({ type: "WHO" });
  return reader.waitFor((r) => (r.ok && r.frame.type === "HELLO" ? r.frame.boot : undefined), from);
}

/**
 * How the reader learnt that the cable is gone. serialport reports a hung-up pty as a close with
 * `disconnected`, except when its read lands just after the hangup: it then retries a 0-byte read
 * forever (serialport/bindings-cpp#162) and only the next write fails. An agent's PING is that
 * write, so the reader probes the same way rather than making this test a coin toss.
 */
async function disconnection(reader: Reader): Promise<string> {
  const early = await Promise.race([reader.closed, sleep(1000)]);
  if (early) return early.disconnected ? "disconnected" : "closed without the flag";
  reader.port.write("\n");
  await Promise.race([reader.closed, sleep(WAIT_MS)]);
  return reader.port.isOpen ? "still open" : "closed on write";
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

afterEach(async () => {
  for (const { emulator, readers } of running.splice(0)) {
    for (const reader of readers) await reader.close();
    await emulator.stop();
    expect(emulator.cable?.plugged).toBe(false);
  }
});

afterAll(() => {
  expect(socatsLeft()).toEqual([]);
});

function socatsLeft(): string[] {
  try {
    return execFileSync("pgrep", ["-af", PREFIX], { encoding: "utf8" }).trim().split("\n");
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe("device emulator on a pseudo-terminal", () => {
  it("answers WHO with HELLO and every capability", async () => {
    const { emulator, reader } = await setup();
    const from = reader.received.length;
    const boot = await handshake(reader);
    expect(boot).toBe(emulator.status().boot);
    const sensors = await reader.frames("SENSOR", 3, from);
    const actuators = await reader.frames("ACTUATOR", 2, from);
    expect(sensors.map((c) => c.name)).toEqual(["temp", "hum", "door"]);
    expect(actuators.map((c) => c.name)).toEqual(["relay", "led"]);
    expect(sensors[0]).toMatchObject({ kind: "num", unit: "°C", min: -40, max: 85 });
    expect(actuators[1]).toMatchObject({ kind: "enum", values: ["off", "on", "blink"] });
  });

  it("sends readings with consecutive seq and values inside the declared ranges", async () => {
    const { emulator, reader } = await setup({ rateHz: 20 });
    const readings = await reader.readings(10);
    const sensors = envnodeProfile().sensors;
    readings.forEach((rd, i) => {
      expect(rd.boot).toBe(emulator.status().boot);
      if (i > 0) expect(rd.seq).toBe((readings[i - 1]?.seq ?? 0) + 1);
      expect(rd.values.map(([name]) => name)).toEqual(["temp", "hum", "door"]);
      for (const [name, token] of rd.values) {
        const cap = sensors.find((s) => s.name === name);
        expect(cap && validateValue(cap, token)).toMatchObject({ ok: true });
      }
    });
  });

  it("ACKs a valid command and NACKs a bad value or an unknown actuator", async () => {
    const { emulator, reader } = await setup({ rateHz: 1 });
    const reply = (id: string): Promise<Frame> =>
      reader.waitFor((r) => (r.ok && "id" in r.frame && r.frame.id === id ? r.frame : undefined));
    const commands: string[] = [];
    emulator.on("command", (e) => commands.push(`${e.frame.act}:${e.result}`));

    reader.send({ type: "CMD", id: "7", act: "relay", val: "1" });
    expect(await reply("7")).toEqual({ type: "ACK", id: "7", val: "1" });
    expect(emulator.status().actuators.relay).toBe("1");

    reader.send({ type: "CMD", id: "8", act: "led", val: "strobe" });
    expect(await reply("8")).toMatchObject({ type: "NACK", reason: "bad_value" });
    expect(emulator.status().actuators.led).toBe("off");

    reader.send({ type: "CMD", id: "9", act: "fan", val: "1" });
    expect(await reply("9")).toMatchObject({ type: "NACK", reason: "unknown_actuator" });
    expect(commands).toEqual(["relay:ack", "led:nack", "fan:nack"]);
    expect(emulator.status().commandsReceived).toBe(3);
  });

  it("corrupted lines fail to decode and their seqs are lost", async () => {
    const { emulator, reader } = await setup({ rateHz: 20 });
    const [before] = await reader.readings(1);
    const from = reader.received.length;
    emulator.corruptNext(3);
    const after = await reader.readings(1, from);
    const errors = reader.received.slice(from).filter((r) => !r.ok);
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e.ok ? "" : e.code).toMatch(/^(crc|syntax|frame)$/);
    expect(after[0]?.seq).toBeGreaterThan((before?.seq ?? 0) + 3);
    expect(emulator.status().faults.corrupted).toBe(3);
  });

  it("reboot mid-line: truncated line, new boot id, seq back to 1", async () => {
    const { emulator, reader } = await setup({ rateHz: 20 });
    const oldBoot = await handshake(reader);
    await reader.readings(2);
    const from = reader.received.length;
    await emulator.reboot({ midLine: true });
    const newBoot = emulator.status().boot;
    expect(newBoot).not.toBe(oldBoot);
    const [hello] = await reader.frames("HELLO", 1, from);
    expect(hello?.boot).toBe(newBoot);
    const [first] = await reader.readings(1, from);
    expect(first).toMatchObject({ boot: newBoot, seq: 1 });
    expect(reader.received.slice(from).some((r) => !r.ok && r.code === "truncated")).toBe(true);
    expect(emulator.status().faults.reboots).toBe(1);
  });

  it("unplug closes the agent's port as disconnected; plugging back restores the path", async () => {
    const { emulator, reader, link, track } = await setup({ rateHz: 20 });
    const boot = await handshake(reader);
    const cableOut = new Promise<void>((resolve) => emulator.cable?.once("unplugged", resolve));
    const unplugged = emulator.unplug(1500);
    await cableOut;
    expect(existsSync(link)).toBe(false);
    expect(await disconnection(reader)).toMatch(/^(disconnected|closed on write)$/);
    await unplugged;
    expect(existsSync(link)).toBe(true);
    expect(emulator.status().plugged).toBe(true);
    const again = track(await Reader.open(link));
    expect(await handshake(again)).toBe(boot); // self-powered: the board kept running
    const [next] = await again.readings(1);
    expect(next?.boot).toBe(boot);
  });

  it("unplug with reboot comes back with a new boot id", async () => {
    const { emulator, reader, link, track } = await setup();
    const boot = await handshake(reader);
    await emulator.unplug(300, { reboot: true });
    const again = track(await Reader.open(link));
    const newBoot = await handshake(again);
    expect(newBoot).not.toBe(boot);
    expect(emulator.status().faults.unplugs).toBe(1);
  });

  it("stall: nothing sent or answered, then readings resume", async () => {
    const { emulator, reader } = await setup({ rateHz: 20 });
    await reader.readings(1);
    const stalled = emulator.stall(1500);
    const from = reader.received.length;
    reader.send({ type: "PING", id: "p1" });
    await stalled;
    const during = reader.received.slice(from).filter((r) => r.ok && r.frame.type === "PONG");
    expect(during).toEqual([]);
    await reader.readings(2, reader.received.length);
  });

  it("paces output to the baud rate: at 9600 no more than ~960 bytes/s", async () => {
    const { emulator, reader } = await setup({ baud: 9600, rateHz: 1000 });
    expect(emulator.rateWarning).toMatch(/9600 baud carries 960/);
    expect(emulator.rateHz).toBeLessThan(20);
    await reader.readings(2);
    emulator.sendGarbage(2000); // saturate the line: pacing, not the rate cap, must hold it back
    const start = reader.arrivals.length;
    const t0 = performance.now();
    await sleep(3000);
    const window = reader.arrivals.slice(start);
    const bytes = window.reduce((sum, a) => sum + a.bytes, 0);
    const seconds = (performance.now() - t0) / 1000;
    // The bucket may release one burst plus one line early; allow that over the window.
    expect(bytes).toBeLessThanOrEqual(960 * seconds * 1.05 + 200);
    expect(bytes).toBeGreaterThan(960 * seconds * 0.5);
  });
});

describe("emulator extras", () => {
  it("ignoreCommands: the command is seen but never answered", async () => {
    const { emulator, reader } = await setup({ rateHz: 20, ignoreCommands: true });
    const seen = new Promise((resolve) => emulator.once("command", resolve));
    reader.send({ type: "CMD", id: "5", act: "relay", val: "1" });
    expect(await seen).toMatchObject({ result: "ignored" });
    const from = reader.received.length;
    await reader.readings(10, from); // 0.5 s of traffic, far past the ack delay
    expect(reader.received.some((r) => r.ok && "id" in r.frame && r.frame.id === "5")).toBe(false);
    expect(emulator.status().actuators.relay).toBe("0");
  });
});

/** Collects what a command writes to stdout/stderr and calls back on each chunk. */
function capture(onText?: (all: string) => void): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    onText?.(text);
  });
  return { stream, text: () => text };
}

describe("iot-agent emulate", () => {
  it.each([
    [["--rate", "2"], /--link PATH is required/],
    [["--link", "/tmp/x", "--rate", "fast"], /--rate 'fast': expected a number/],
    [["--link", "/tmp/x", "--baud", "96.5"], /--baud '96.5': expected a whole number/],
    [["--link", "/tmp/x", "--fault", "boom:every=3"], /unknown fault 'boom'/],
    [["--link", "/tmp/x", "--fault", "stall:ms=10"], /'every=' is required/],
    [["--link", "/tmp/x", "--colour"], /--colour/],
  ])("rejects %j with exit code 2", async (argv, message) => {
    const out = capture();
    const err = capture();
    expect(await runEmulate(argv, { stdout: out.stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(message);
  });

  it("parses fault specs with defaults", () => {
    expect(parseFault("corrupt:every=50")).toEqual({ kind: "corrupt", everyLines: 50, lines: 1 });
    expect(parseFault("unplug:every=300,ms=3000,reboot=1")).toMatchObject({
      reboot: true,
      ms: 3000,
    });
    expect(parseFault("reboot:after=60")).toMatchObject({ afterS: 60, everyS: undefined });
  });

  it("runs until aborted, then exits 0 and leaves no socat behind", async () => {
    const link = `${PREFIX}${++linkCounter}`;
    const controller = new AbortController();
    const out = capture((all) => {
      if (all.includes("device ready")) controller.abort();
    });
    const argv = ["--link", link, "--rate", "5", "--fault", "corrupt:every=2"];
    const code = await runEmulate(argv, {
      stdout: out.stream,
      stderr: capture().stream,
      signal: controller.signal,
    });
    expect(code).toBe(0);
    expect(out.text()).toContain(`device ready on ${link}`);
    expect(out.text()).toMatch(/stopped: \d+ lines sent/);
    expect(existsSync(link)).toBe(false);
    expect(socatsLeft()).toEqual([]);
  });
});
