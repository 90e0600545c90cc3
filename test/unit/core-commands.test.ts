/** The shared command language: parsing, authorization and replies (src/core/commands.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Role } from "../../src/core/access.js";
import {
  authorize,
  executeCommand,
  formatAge,
  parseCommand,
  REQUIRED_ROLE,
  type ActuatorResult,
  type Command,
  type CommandContext,
  type DeviceControl,
  type SubscriptionStore,
} from "../../src/core/commands.js";
import type { DeviceDescription, Reading } from "../../src/core/reading.js";
import {
  CommandInterruptedError,
  CommandRejectedError,
  CommandTimeoutError,
  CommandValidationError,
  DeviceBusyError,
  DeviceOfflineError,
} from "../../src/device/errors.js";

const NOW = 1_700_000_000_000;

const description: DeviceDescription = {
  id: "envnode-01",
  firmware: "1.2.0",
  boot: "3f9a12c0",
  protocol: 1,
  sensors: [
    { name: "temp", kind: "num", unit: "°C", min: -40, max: 85 },
    { name: "hum", kind: "num", unit: "%" },
    { name: "door", kind: "bool" },
  ],
  actuators: [
    { name: "relay", kind: "bool" },
    { name: "fan", kind: "num", unit: "%", min: 0, max: 100 },
    { name: "led", kind: "enum", values: ["off", "on", "blink"] },
  ],
};

const reading: Reading = {
  device: "envnode-01",
  boot: "3f9a12c0",
  seq: 42,
  receivedAt: NOW - 3000,
  values: [
    { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
    { sensor: "hum", kind: "num", value: 40, unit: "%" },
    { sensor: "door", kind: "bool", value: false },
  ],
};

function setSubscriptions(): SubscriptionStore {
  const set = new Set<string>();
  return {
    add: (jid) => Promise.resolve(!set.has(jid) && Boolean(set.add(jid))),
    remove: (jid) => Promise.resolve(set.delete(jid)),
    has: (jid) => set.has(jid),
  };
}

function context(role: Role, device: Partial<DeviceControl> = {}): CommandContext {
  return {
    sender: "juliet@capulet.lit",
    role,
    now: () => NOW,
    subscriptions: setSubscriptions(),
    figures: () => "xmpp: online",
    device: {
      state: "online",
      description,
      latest: () => reading,
      setActuator: (actuator) => Promise.resolve({ actuator, value: true, latencyMs: 12 }),
      requestHello: () => Promise.resolve(),
      ...device,
    },
  };
}

function parsed(text: string): Command {
  const result = parseCommand(text);
  if (!result.ok) throw new Error(`expected ${text} to parse: ${result.error}`);
  return result.command;
}

async function run(text: string, ctx: CommandContext): Promise<string> {
  return (await executeCommand(parsed(text), ctx)).text;
}

describe("parseCommand", () => {
  it.each([
    ["help", { verb: "help" }],
    ["  STATUS  ", { verb: "status" }],
    ["get", { verb: "get" }],
    ["Get temp", { verb: "get", sensor: "temp" }],
    ["set relay on", { verb: "set", actuator: "relay", value: "on" }],
    ["set\trelay   ON", { verb: "set", actuator: "relay", value: "ON" }],
    ["subscribe", { verb: "subscribe" }],
    ["unsubscribe", { verb: "unsubscribe" }],
    ["whoami", { verb: "whoami" }],
    ["ping", { verb: "ping" }],
    ["reconnect-device", { verb: "reconnect-device" }],
    ["stats", { verb: "stats" }],
  ])("%j → %j", (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ["", "empty command; try help"],
    ["   ", "empty command; try help"],
    ["foo bar", 'unknown command "foo"; try help'],
    ["constructor", 'unknown command "constructor"; try help'],
    ["__proto__", 'unknown command "__proto__"; try help'],
    ["set", "set needs an actuator and a value: set <actuator> <value>"],
    ["set relay", "set needs an actuator and a value: set <actuator> <value>"],
    ["set relay on now", "too many arguments for set: set <actuator> <value>"],
    ["get temp hum", "too many arguments for get: get [sensor]"],
    ["status now", "status takes no arguments: status"],
    ["set relay o\u0000n", "set cannot contain control characters: set <actuator> <value>"],
    ["x".repeat(201), "message too long for a command (201 characters, at most 200); try help"],
    [`${"y".repeat(40)}`, `unknown command "${"y".repeat(32)}…"; try help`],
  ])("%j → %j", (text, error) => {
    expect(parseCommand(text)).toEqual({ ok: false, error });
  });

  it("never throws, and either parses to a known verb or explains", () => {
    const words = fc.constantFrom("set", "GET", "help", "relay", "on", "\u0000", "\u00a0", "é");
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 250 }),
      fc.array(words, { maxLength: 6 }).map((w) => w.join(" ")),
    );
    fc.assert(
      fc.property(text, (t) => {
        const result = parseCommand(t);
        if (result.ok) expect(Object.keys(REQUIRED_ROLE)).toContain(result.command.verb);
        else expect(result.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("authorize", () => {
  it("maps each verb to its least role", () => {
    expect(REQUIRED_ROLE).toEqual({
      help: "viewer",
      status: "viewer",
      get: "viewer",
      set: "operator",
      subscribe: "viewer",
      unsubscribe: "viewer",
      whoami: "viewer",
      ping: "viewer",
      "reconnect-device": "admin",
      stats: "admin",
    });
  });

  it("refuses strangers silently, even for ping", () => {
    expect(authorize(parsed("ping"), undefined)).toEqual({
      ok: false,
      error: "sender is not on the access list",
      silent: true,
    });
  });

  it("tells a known user which role is needed", () => {
    expect(authorize(parsed("set relay on"), "viewer")).toEqual({
      ok: false,
      error: "set needs the operator role (yours is viewer)",
      silent: false,
    });
    expect(authorize(parsed("set relay on"), "admin")).toEqual({ ok: true });
  });
});

describe("executeCommand", () => {
  it("answers ping and whoami", async () => {
    const ctx = context("viewer");
    expect(await run("ping", ctx)).toBe("pong");
    expect(await run("whoami", ctx)).toBe("you are juliet@capulet.lit (viewer, not subscribed)");
  });

  it("lists only the commands the role may use", async () => {
    const viewer = await run("help", context("viewer"));
    expect(viewer).toContain("get [sensor] — ");
    expect(viewer).not.toContain("set <actuator>");
    const admin = await run("help", context("admin"));
    expect(admin).toContain("set <actuator> <value> — ");
    expect(admin).toContain("reconnect-device — ");
  });

  it("describes the device in status", async () => {
    expect(await run("status", context("viewer"))).toBe(
      [
        "device envnode-01, firmware 1.2.0, boot 3f9a12c0",
        "link: online",
        "last reading: 3 s ago (seq 42)",
        "sensors: temp, hum, door",
        "actuators: relay (on/off), fan (0..100 %), led (off|on|blink)",
      ].join("\n"),
    );
  });

  it("says so when the device has not introduced itself", async () => {
    const ctx = context("viewer", {
      state: "connecting",
      description: undefined,
      latest: () => undefined,
    });
    expect(await run("status", ctx)).toBe(
      "device: not identified yet (no HELLO received)\nlink: connecting\nlast reading: none yet",
    );
    expect(await executeCommand(parsed("get"), ctx)).toEqual({
      ok: false,
      text: "no reading received yet (link connecting)",
    });
  });

  it("gets one sensor or all", async () => {
    const ctx = context("viewer");
    expect(await run("get temp", ctx)).toBe("temp: 21.5 °C (3 s ago)");
    expect(await run("get", ctx)).toBe("temp: 21.5 °C, hum: 40 %, door: off (3 s ago)");
  });

  it("marks stale values when the link is down", async () => {
    const ctx = context("viewer", { state: "stalled" });
    expect(await run("get hum", ctx)).toBe("hum: 40 % (3 s ago; link stalled)");
  });

  it("lists the known sensors for an unknown one", async () => {
    expect(await executeCommand(parsed("get pressure"), context("viewer"))).toEqual({
      ok: false,
      text: 'unknown sensor "pressure"; this device has: temp, hum, door',
    });
  });

  it("sets an actuator and reports the device's answer", async () => {
    const ctx = context("operator", {
      setActuator: (actuator, value): Promise<ActuatorResult> =>
        Promise.resolve({ actuator, value: Number(value), latencyMs: 7.4 }),
    });
    expect(await run("set fan 50", ctx)).toBe("fan set to 50 % (device answered in 7 ms)");
    expect(await run("set relay on", context("operator"))).toBe(
      "relay set to on (device answered in 12 ms)",
    );
  });

  it.each([
    [
      new DeviceOfflineError("serial link is connecting", "relay"),
      "the device is offline (serial link is connecting)",
    ],
    [
      new CommandValidationError("relay", "'relay': expected on/off, true/false or 1/0, got 'x'"),
      "cannot set relay: 'relay': expected on/off, true/false or 1/0, got 'x'",
    ],
    [
      new CommandRejectedError("relay", "locked", "door open"),
      "the device refused: locked (door open)",
    ],
    [
      new CommandTimeoutError("relay", 2000),
      "no answer from the device for relay within 2000 ms; it may or may not have taken effect",
    ],
    [
      new DeviceBusyError("relay", 4),
      "the device is busy (4 commands already waiting, relay not sent); try again in a moment",
    ],
    [
      new CommandInterruptedError("relay", "device rebooted (boot 00000001)"),
      "the command was interrupted (device rebooted (boot 00000001)); it may or may not have taken effect",
    ],
    [new Error("adapter bug"), "set relay failed: adapter bug"],
  ])("turns %s into a reply", async (error, text) => {
    const ctx = context("operator", { setActuator: () => Promise.reject(error) });
    expect(await executeCommand(parsed("set relay on"), ctx)).toEqual({ ok: false, text });
  });

  it("refuses set to a viewer even if the transport forgot to authorize", async () => {
    let called = false;
    const ctx = context("viewer", {
      setActuator: () => {
        called = true;
        return Promise.resolve({ actuator: "relay", value: true, latencyMs: 1 });
      },
    });
    expect(await executeCommand(parsed("set relay on"), ctx)).toEqual({
      ok: false,
      text: "set needs the operator role (yours is viewer)",
    });
    expect(called).toBe(false);
  });

  it("subscribes and unsubscribes the sender once", async () => {
    const ctx = context("viewer");
    expect(await run("subscribe", ctx)).toMatch(/^subscribed: /);
    expect(await run("subscribe", ctx)).toBe("you are already subscribed");
    expect(await run("whoami", ctx)).toContain("(viewer, subscribed)");
    expect(await run("unsubscribe", ctx)).toMatch(/^unsubscribed: /);
    expect(await run("unsubscribe", ctx)).toBe("you were not subscribed");
  });

  it("gives admins the agent's figures on stats, and no one else", async () => {
    const figures = { ...context("admin"), figures: () => "readings: 42 in" };
    expect(await run("stats", figures)).toBe("readings: 42 in");
    const operator = await executeCommand(parsed("stats"), context("operator"));
    expect(operator).toEqual({ ok: false, text: "stats needs the admin role (yours is operator)" });
  });

  it("asks the device for HELLO on reconnect-device (admin only)", async () => {
    let asked = 0;
    const ctx = context("admin", { requestHello: () => Promise.resolve(void (asked += 1)) });
    expect((await executeCommand(parsed("reconnect-device"), ctx)).ok).toBe(true);
    expect(asked).toBe(1);
    const offline = context("admin", {
      requestHello: () => Promise.reject(new DeviceOfflineError("/dev/ttyUSB0 is not open")),
    });
    expect(await run("reconnect-device", offline)).toBe(
      "the device is offline (/dev/ttyUSB0 is not open)",
    );
    expect((await executeCommand(parsed("reconnect-device"), context("operator"))).ok).toBe(false);
  });
});

describe("formatAge", () => {
  it.each([
    [-5000, "0 s ago"],
    [999, "0 s ago"],
    [59_999, "59 s ago"],
    [60_000, "1 min ago"],
    [3_600_000, "1 h ago"],
    [86_400_000 * 3, "3 d ago"],
  ])("%d ms → %s", (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
