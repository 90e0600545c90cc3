/** MQTT topic layout, payloads and Home Assistant discovery (src/mqtt/topics.ts, discovery.ts). */
import { describe, expect, it } from "vitest";
import type { DeviceDescription, Reading } from "../../src/core/reading.js";
import { commandRefusal } from "../../src/mqtt/commands.js";
import { discoveryMessages, removedDiscovery } from "../../src/mqtt/discovery.js";
import { parseSetTopic, statePayload, topicsFor } from "../../src/mqtt/topics.js";

const topics = topicsFor("site/iot", "agent-1");
const device: DeviceDescription = {
  id: "envnode-01",
  firmware: "1.2.0",
  boot: "b1",
  protocol: 1,
  sensors: [
    { name: "temp", kind: "num", unit: "°C" },
    { name: "hum", kind: "num", unit: "%" },
    { name: "door", kind: "bool" },
    { name: "mode", kind: "enum", values: ["idle", "run"] },
  ],
  actuators: [
    { name: "relay", kind: "bool" },
    { name: "led", kind: "enum", values: ["off", "on"] },
    { name: "fan", kind: "num", min: 0, max: 100, unit: "%" },
  ],
};

describe("MQTT topics", () => {
  it("lays topics out under the base, per device", () => {
    expect(topics.availability).toBe("site/iot/agent-1/availability");
    expect(topics.sensor("envnode-01", "temp")).toBe("site/iot/envnode-01/temp");
    expect(topics.set("envnode-01", "relay")).toBe("site/iot/envnode-01/relay/set");
    expect(topics.setFilter).toBe("site/iot/+/+/set");
  });

  it.each([
    ["site/iot/envnode-01/relay/set", { device: "envnode-01", actuator: "relay" }],
    ["site/iot/envnode-01/relay", undefined],
    ["site/iot/envnode-01/relay/set/x", undefined],
    ["other/envnode-01/relay/set", undefined],
    ["site/iot//relay/set", undefined],
  ])("reads %s as a set topic or not", (topic, expected) => {
    expect(parseSetTopic("site/iot", topic)).toEqual(expected);
  });

  const reading: Reading = {
    device: "envnode-01",
    boot: "b1",
    seq: 7,
    receivedAt: Date.parse("2026-11-29T10:00:00Z"),
    values: [
      { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
      { sensor: "door", kind: "bool", value: false },
    ],
  };

  it("puts a whole reading into one JSON state", () => {
    expect(JSON.parse(statePayload(reading))).toEqual({
      device: "envnode-01",
      boot: "b1",
      seq: 7,
      time: "2026-11-29T10:00:00.000Z",
      values: { temp: 21.5, door: false },
    });
  });

  it("says in the state when its time was taken before the clock was synchronised", () => {
    const stale = { ...reading, receivedAt: Date.parse("2023-01-01T00:00:30Z") };
    expect(JSON.parse(statePayload({ ...stale, timeSynced: false }))).toEqual({
      device: "envnode-01",
      boot: "b1",
      seq: 7,
      time: "2023-01-01T00:00:30.000Z",
      timeSynced: false,
      values: { temp: 21.5, door: false },
    });
    expect(JSON.parse(statePayload(stale))).not.toHaveProperty("timeSynced");
  });
});

describe("Home Assistant discovery", () => {
  const messages = discoveryMessages("homeassistant", topics, device, "0.1.0");
  const config = (topic: string) =>
    JSON.parse(messages.find((m) => m.topic === topic)?.payload ?? "null") as Record<
      string,
      unknown
    >;

  it("makes one entity per capability, of the right component and class", () => {
    expect(messages.map((m) => m.topic)).toEqual([
      "homeassistant/sensor/envnode-01/temp/config",
      "homeassistant/sensor/envnode-01/hum/config",
      "homeassistant/binary_sensor/envnode-01/door/config",
      "homeassistant/sensor/envnode-01/mode/config",
      "homeassistant/switch/envnode-01/relay/config",
      "homeassistant/select/envnode-01/led/config",
      "homeassistant/number/envnode-01/fan/config",
    ]);
    expect(config("homeassistant/sensor/envnode-01/hum/config")).toMatchObject({
      device_class: "humidity",
      unit_of_measurement: "%",
    });
    expect(config("homeassistant/binary_sensor/envnode-01/door/config")).toMatchObject({
      device_class: "door",
      payload_on: "true",
    });
    expect(config("homeassistant/sensor/envnode-01/mode/config")).toMatchObject({
      device_class: "enum",
      options: ["idle", "run"],
    });
    expect(config("homeassistant/number/envnode-01/fan/config")).toMatchObject({
      min: 0,
      max: 100,
      command_topic: "site/iot/envnode-01/fan/set",
    });
    expect(config("homeassistant/switch/envnode-01/relay/config")).toMatchObject({
      device: { identifiers: ["envnode-01"], sw_version: "1.2.0" },
      availability_topic: "site/iot/agent-1/availability",
    });
  });

  it("removes, with an empty retained config, what the device no longer declares", () => {
    const fewer = discoveryMessages("homeassistant", topics, { ...device, actuators: [] }, "0.1.0");
    expect(removedDiscovery(messages, fewer)).toEqual([
      { topic: "homeassistant/switch/envnode-01/relay/config", payload: "" },
      { topic: "homeassistant/select/envnode-01/led/config", payload: "" },
      { topic: "homeassistant/number/envnode-01/fan/config", payload: "" },
    ]);
  });
});

describe("MQTT commands", () => {
  const config = { enabled: true, role: "operator" as const };
  const request = (actuator: string, value: string, device = "envnode-01") => ({
    device,
    deviceId: "envnode-01",
    command: { verb: "set" as const, actuator, value },
  });

  it("lets a command for this device run with the configured role", () => {
    expect(commandRefusal(config, request("relay", "on"))).toBeUndefined();
  });

  it.each([
    [{ ...config, enabled: false }, request("relay", "on"), "disabled"],
    [{ ...config, actuators: ["led"] }, request("relay", "on"), "does not take commands over MQTT"],
    [config, request("relay", "on", "other-device"), "no device other-device"],
    [config, request("relay", ""), "printable characters"],
    [config, request("relay", "x".repeat(65)), "printable characters"],
    [config, request("relay", "on\u0000off"), "printable characters"],
  ])("refuses %j / %j (%s)", (cfg, req, why) => {
    expect(commandRefusal(cfg, req)).toContain(why);
  });
});
