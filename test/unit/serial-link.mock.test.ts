/**
 * Fast checks of the link's command path on serialport's own mock binding. The behaviour on real
 * pseudo-terminals is proven in test/integration/serial-link.test.ts.
 */
import { once } from "node:events";
import { SerialPortMock } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { CommandValidationError, DeviceOfflineError } from "../../src/device/errors.js";
import { SerialLink, type LinkState } from "../../src/device/serial-link.js";
import { encodePayload } from "../../src/device/wire/index.js";

/** The parts of serialport's mock binding used here: its bundled types do not resolve under ESM. */
interface MockBindingApi {
  reset(): void;
  createPort(path: string, options: { echo: boolean; record: boolean }): void;
}
interface MockPortApi {
  emitData(data: Buffer): void;
  recording: Buffer;
}
const MockBinding = SerialPortMock.binding as unknown as MockBindingApi;
const mockOf = (port: SerialPortMock) => port.port as unknown as MockPortApi | undefined;
const PATH = "/dev/ttyMOCK";
const links: SerialLink[] = [];

afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.stop()));
  MockBinding.reset();
});

function startLink(): { link: SerialLink; device: () => SerialPortMock } {
  MockBinding.createPort(PATH, { echo: false, record: true });
  let port: SerialPortMock | undefined;
  const link = new SerialLink({
    path: PATH,
    openPort: ({ path, baudRate }) =>
      (port = new SerialPortMock({ path, baudRate, autoOpen: false })),
    helloRetryMs: 5000,
    presenceCheckMs: 0, // the mock's path is not a file
  });
  links.push(link);
  link.start();
  return {
    link,
    device: () => {
      if (!port) throw new Error("port not created yet");
      return port;
    },
  };
}

function emit(port: SerialPortMock, ...payloads: string[]): void {
  mockOf(port)?.emitData(
    Buffer.from(payloads.map((p) => `${encodePayload(p)}\r\n`).join(""), "latin1"),
  );
}

function written(port: SerialPortMock): string {
  return mockOf(port)?.recording.toString("latin1") ?? "";
}

async function online(): Promise<{ link: SerialLink; port: SerialPortMock }> {
  const { link, device } = startLink();
  await once(link, "state"); // connecting
  while (link.state !== "handshaking") await once(link, "state");
  const port = device();
  emit(
    port,
    "HELLO proto=1 dev=mock-1 fw=0.1 boot=0000abcd sensors=1 actuators=2",
    "SENSOR name=temp kind=num min=-40 max=85",
    "ACTUATOR name=relay kind=bool",
    "ACTUATOR name=led kind=enum values=off|on|blink",
  );
  if ((link.state as LinkState) !== "online") await once(link, "hello");
  return { link, port };
}

describe("SerialLink on a mock port", () => {
  it("sends WHO when the port opens", async () => {
    const { port } = await online();
    expect(written(port)).toMatch(/^\$WHO\*2A8C\n/);
  });

  it("refuses a command while no device has introduced itself", async () => {
    const { link } = startLink();
    await expect(link.setActuator("relay", true)).rejects.toBeInstanceOf(DeviceOfflineError);
  });

  it("sends CMD with a correlation id and resolves on the matching ACK", async () => {
    const { link, port } = await online();
    const result = link.setActuator("led", "blink");
    await new Promise((r) => setImmediate(r));
    const cmd = /\$CMD id=([0-9a-z]+) act=led val=blink\*[0-9A-F]{4}\n/.exec(written(port));
    expect(cmd).not.toBeNull();
    emit(port, `ACK id=${cmd![1]} val=blink`);
    await expect(result).resolves.toMatchObject({ actuator: "led", value: "blink", id: cmd![1] });
    expect(link.stats.commandsOk).toBe(1);
  });

  it("validates against the declared capability before writing anything", async () => {
    const { link, port } = await online();
    const before = written(port);
    await expect(link.setActuator("led", "strobe")).rejects.toThrow(/cannot set led: .*strobe/);
    const unknown = await link.setActuator("fan", true).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(CommandValidationError);
    expect((unknown as Error).message).toBe(
      "cannot set fan: unknown actuator (this device has: relay, led)",
    );
    expect(written(port)).toBe(before);
  });

  it("counts corrupt lines by error and keeps going", async () => {
    const { link, port } = await online();
    const good = encodePayload("RD boot=0000abcd seq=1 temp=20.5");
    const bad = good.replace("20.5", "29.5");
    const readings: number[] = [];
    link.on("reading", (r) => readings.push(r.seq));
    mockOf(port)?.emitData(
      Buffer.from(`${bad}\ngarbage\n${encodePayload("RD boot=0000abcd seq=2 temp=20.5")}\n`),
    );
    await new Promise((r) => setImmediate(r));
    expect(readings).toEqual([2]);
    expect(link.stats.wireErrors.crc).toBe(1);
    expect(link.stats.wireErrors.noise).toBe(1);
    expect(link.stats.gaps).toBe(0);
  });
});
