/** MQTT topic layout, payloads and Home Assistant discovery (src/mqtt/topics.ts, discovery.ts). */
import { describe, expect, it } from "vitest";
import type { DeviceDescription, Reading } from "../../src/core/reading.js";
import { commandable, parseSetRequest } from "../../src/mqtt/commands.js";
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
  const all = { agentVersion: "0.1.0", commandable: () => true };
  const messages = discoveryMessages("homeassistant", topics, device, all);
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
    const fewer = discoveryMessages("homeassistant", topics, { ...device, actuators: [] }, all);
    expect(removedDiscovery(messages, fewer)).toEqual([
      { topic: "homeassistant/switch/envnode-01/relay/config", payload: "" },
      { topic: "homeassistant/select/envnode-01/led/config", payload: "" },
      { topic: "homeassistant/number/envnode-01/fan/config", payload: "" },
    ]);
  });
});

describe("Home Assistant discovery of actuators without MQTT commands", () => {
  const commands = { role: "operator" as const, actuators: ["relay"] };
  const options = (config: typeof commands | undefined) => ({
    agentVersion: "0.1.0",
    commandable: (name: string) => commandable(config, name),
  });
  const payloads = (config: typeof commands | undefined) =>
    discoveryMessages("homeassistant", topics, device, options(config)).map((m) => ({
      topic: m.topic,
      config: JSON.parse(m.payload) as Record<string, unknown>,
    }));

  it("offers a command topic only for the actuators listed in mqtt.commands", () => {
    const found = payloads(commands);
    const withCommands = found.filter((m) => "command_topic" in m.config).map((m) => m.topic);
    expect(withCommands).toEqual(["homeassistant/switch/envnode-01/relay/config"]);
    const led = found.find((m) => m.topic === "homeassistant/sensor/envnode-01/led/config");
    expect(led?.config).toMatchObject({
      state_topic: "site/iot/envnode-01/led/state",
      device_class: "enum",
      options: ["off", "on"],
    });
    const fan = found.find((m) => m.topic === "homeassistant/sensor/envnode-01/fan/config");
    expect(fan?.config).toMatchObject({ state_topic: "site/iot/envnode-01/fan/state" });
  });

  it("announces every actuator read-only when commands are off", () => {
    const found = payloads(undefined);
    expect(found.filter((m) => "command_topic" in m.config)).toEqual([]);
    expect(found.map((m) => m.topic)).toContain(
      "homeassistant/binary_sensor/envnode-01/relay/config",
    );
  });

  it("removes the control when an actuator stops taking commands", () => {
    const before = discoveryMessages("homeassistant", topics, device, options(commands));
    const after = discoveryMessages("homeassistant", topics, device, options(undefined));
    expect(removedDiscovery(before, after)).toEqual([
      { topic: "homeassistant/switch/envnode-01/relay/config", payload: "" },
    ]);
  });
});

describe("MQTT commands", () => {
  const config = { role: "operator" as const, actuators: ["relay", "led"] };
  const request = (actuator: string, value: string, device = "envnode-01") => ({
    device,
    deviceId: "envnode-01",
    actuator,
    value,
  });

  it("reads a set for this device as the set command", () => {
    expect(parseSetRequest(config, request("relay", "on"))).toEqual({
      ok: true,
      command: { verb: "set", actuator: "relay", value: "on" },
    });
  });

  it.each([
    [undefined, request("relay", "on"), "commands over MQTT are off (no mqtt.commands)"],
    [config, request("fan", "10"), "fan does not take commands over MQTT"],
    [config, request("relay", "on", "other-device"), "no device other-device"],
    [config, request("relay", ""), "printable characters"],
    [config, request("relay", "x".repeat(65)), "printable characters"],
    [config, request("relay", "on\u0000off"), "printable characters"],
  ])("refuses %j / %j (%s)", (cfg, req, why) => {
    const parsed = parseSetRequest(cfg, req);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.error).toContain(why);
  });
});
