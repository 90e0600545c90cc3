/** Typing RD values and CMD arguments against declared capabilities (src/device/validate.ts). */
import { describe, expect, it } from "vitest";
import { formatValue, validateReading, validateValue } from "../../src/device/validate.js";
import type { Capability, DeviceDescription } from "../../src/core/reading.js";
import type { ReadingFrame } from "../../src/device/wire/frames.js";

const temp: Capability = { name: "temp", kind: "num", unit: "°C", min: -40, max: 85 };
const free: Capability = { name: "free", kind: "num" };
const door: Capability = { name: "door", kind: "bool" };
const led: Capability = { name: "led", kind: "enum", values: ["off", "on", "blink"] };
const undeclared: Capability = { name: "x", kind: "enum" };

const device: DeviceDescription = {
  id: "envnode-01",
  firmware: "1.0.0",
  boot: "3f9a12c0",
  protocol: 1,
  sensors: [temp, { name: "hum", kind: "num", unit: "%", min: 0, max: 100 }, door, led],
  actuators: [],
};

function rd(values: Array<[string, string]>, extra: Partial<ReadingFrame> = {}): ReadingFrame {
  return { type: "RD", boot: "3f9a12c0", seq: 7, values, ...extra };
}

describe("validateValue", () => {
  it.each([
    [temp, "21.50", 21.5],
    [temp, "-40", -40],
    [temp, "85", 85],
    [free, "-1234567.5", -1234567.5],
    [free, "0.000123456789012345", 0.000123456789012345],
    [free, "1.00000000000000", 1],
    [door, "1", true],
    [door, "0", false],
    [led, "blink", "blink"],
  ])("%o accepts %s", (cap, token, value) => {
    expect(validateValue(cap, token)).toEqual({ ok: true, value });
  });

  it.each([
    [temp, "85.01", /above max 85/],
    [temp, "-40.5", /below min -40/],
    [temp, "warm", /expected a number/],
    [temp, "1e3", /expected a number/],
    [free, "0.1234567890123456", /expected a number/],
    [free, "1000000000000000", /expected a number/],
    [door, "2", /expected 0 or 1/],
    [door, "true", /expected 0 or 1/],
    [led, "strobe", /not one of off\|on\|blink/],
    [undeclared, "a", /no values declared/],
  ])("%o rejects %s", (cap, token, why) => {
    const result = validateValue(cap, token);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(why);
  });
});

describe("formatValue", () => {
  it.each([
    [door, true, "1"],
    [door, false, "0"],
    [door, "on", "1"],
    [door, "OFF", "0"],
    [door, " true ", "1"],
    [door, "false", "0"],
    [door, "1", "1"],
    [door, 0, "0"],
    [temp, 21.5, "21.5"],
    [temp, "21.50", "21.5"],
    [temp, " -3 ", "-3"],
    [temp, "1e1", "10"],
    [free, 0.0000001, "0.0000001"],
    [free, "0.000000000000001", "0.000000000000001"],
    [free, "123456789012345", "123456789012345"],
    [free, "1.00000000000000", "1"],
    [free, -0, "-0"],
    [led, "blink", "blink"],
    [led, " on", "on"],
  ])("%o formats %o as %s", (cap, value, token) => {
    expect(formatValue(cap, value)).toEqual({ ok: true, token });
  });

  it.each([
    [door, "maybe", /on\/off/],
    [door, 2, /on\/off/],
    [temp, 90, /above max 85/],
    [temp, "-41", /below min -40/],
    [temp, "abc", /expected a number/],
    [temp, "0x10", /expected a number/],
    [temp, "", /expected a number/],
    [temp, Number.NaN, /expected a number/],
    [free, Number.POSITIVE_INFINITY, /expected a number/],
    [free, 1e21, /at most 15 significant digits, 20 bytes/],
    [free, 0.1 + 0.2, /at most 15 significant digits/],
    [free, "1234567890123456", /at most 15 significant digits/],
    [free, true, /expected a number/],
    [led, "strobe", /not one of/],
    [led, true, /not one of/],
  ])("%o rejects %o", (cap, value, why) => {
    const result = formatValue(cap, value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(why);
  });
});

describe("validateReading", () => {
  it("types every value and carries units, device and times", () => {
    const frame = rd(
      [
        ["temp", "21.50"],
        ["door", "1"],
        ["led", "on"],
      ],
      { t: 1520 },
    );
    expect(validateReading(frame, device, 1700000000000)).toEqual({
      ok: true,
      reading: {
        device: "envnode-01",
        boot: "3f9a12c0",
        seq: 7,
        deviceTime: 1520,
        receivedAt: 1700000000000,
        values: [
          { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
          { sensor: "door", kind: "bool", value: true },
          { sensor: "led", kind: "enum", value: "on" },
        ],
      },
    });
  });

  it("leaves deviceTime out when the device sent no t", () => {
    const result = validateReading(rd([["hum", "40.2"]]), device, 1);
    expect(result.ok && result.reading).toEqual({
      device: "envnode-01",
      boot: "3f9a12c0",
      seq: 7,
      receivedAt: 1,
      values: [{ sensor: "hum", kind: "num", value: 40.2, unit: "%" }],
    });
  });

  it.each([
    [
      "a wrong boot",
      rd([["temp", "1"]], { boot: "00000000" }),
      /boot 00000000 is not the current boot 3f9a12c0/,
    ],
    ["an unknown sensor", rd([["pressure", "1013"]]), /'pressure' is not a declared sensor/],
    [
      "a value out of range",
      rd([
        ["temp", "1"],
        ["hum", "101"],
      ]),
      /'hum': 101 is above max 100/,
    ],
    ["a bad bool", rd([["door", "open"]]), /'door': expected 0 or 1/],
    ["a bad enum", rd([["led", "dim"]]), /'led': "dim" is not one of/],
  ])("rejects %s", (_what, frame, why) => {
    const result = validateReading(frame, device, 0);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(why);
  });
});
