/**
 * Home Assistant MQTT discovery, pure: one retained config message per sensor and actuator the
 * device declared, so the device appears in Home Assistant without hand configuration. Sensors
 * become `sensor` (numbers and enums) or `binary_sensor` (booleans); actuators that take MQTT
 * commands become `switch`, `select` or `number`, the others are announced read-only, as sensors
 * of their confirmed state, so that no dashboard offers a control the agent would refuse. A
 * capability that disappeared (or changed component) is removed with an empty retained config.
 */
import type { Capability, DeviceDescription } from "../core/reading.js";
import type { Topics } from "./topics.js";

export interface DiscoveryMessage {
  topic: string;
  /** JSON, or "" to remove the entity. */
  payload: string;
}

export interface DiscoveryOptions {
  agentVersion: string;
  /** Whether an actuator takes commands on its set topic. */
  commandable: (actuator: string) => boolean;
}

interface Context {
  prefix: string;
  topics: Topics;
  device: DeviceDescription;
  agentVersion: string;
}

/** Home Assistant device classes by unit (and sensor name where units are ambiguous). */
function deviceClass(c: Capability): string | undefined {
  const unit = c.unit ?? "";
  const name = c.name.toLowerCase();
  if (["°C", "°F", "K"].includes(unit)) return "temperature";
  if (unit === "%" && name.startsWith("hum")) return "humidity";
  if (["hPa", "Pa", "kPa", "bar", "mbar"].includes(unit)) return "pressure";
  if (unit === "lx") return "illuminance";
  if (unit === "V") return "voltage";
  if (unit === "A") return "current";
  if (unit === "W") return "power";
  if (unit === "ppm" && name.startsWith("co2")) return "carbon_dioxide";
  return undefined;
}

function binaryClass(c: Capability): string | undefined {
  const name = c.name.toLowerCase();
  if (name.startsWith("door")) return "door";
  if (name.startsWith("window")) return "window";
  if (name.startsWith("motion") || name === "pir") return "motion";
  return undefined;
}

function entity(ctx: Context, component: string, c: Capability, fields: object): DiscoveryMessage {
  const { device, topics, prefix } = ctx;
  const config = {
    name: c.name,
    unique_id: `${device.id}_${c.name}`,
    object_id: `${device.id}_${c.name}`,
    availability_topic: topics.availability,
    device: {
      identifiers: [device.id],
      name: device.id,
      sw_version: device.firmware,
      manufacturer: "xmpp-iot-agent",
      via_device: `xmpp-iot-agent ${ctx.agentVersion}`,
    },
    ...fields,
  };
  return {
    topic: `${prefix}/${component}/${device.id}/${c.name}/config`,
    payload: JSON.stringify(config),
  };
}

function sensorEntity(ctx: Context, c: Capability, state_topic: string): DiscoveryMessage {
  if (c.kind === "bool") {
    const cls = binaryClass(c);
    return entity(ctx, "binary_sensor", c, {
      state_topic,
      payload_on: "true",
      payload_off: "false",
      ...(cls ? { device_class: cls } : {}),
    });
  }
  if (c.kind === "enum") {
    return entity(ctx, "sensor", c, { state_topic, device_class: "enum", options: c.values ?? [] });
  }
  const cls = deviceClass(c);
  return entity(ctx, "sensor", c, {
    state_topic,
    state_class: "measurement",
    ...(c.unit ? { unit_of_measurement: c.unit } : {}),
    ...(cls ? { device_class: cls } : {}),
  });
}

function actuatorEntity(ctx: Context, c: Capability): DiscoveryMessage {
  const command_topic = ctx.topics.set(ctx.device.id, c.name);
  const state_topic = ctx.topics.actuatorState(ctx.device.id, c.name);
  if (c.kind === "bool") {
    return entity(ctx, "switch", c, {
      command_topic,
      state_topic,
      payload_on: "on",
      payload_off: "off",
      state_on: "true",
      state_off: "false",
    });
  }
  if (c.kind === "enum")
    return entity(ctx, "select", c, { command_topic, state_topic, options: c.values ?? [] });
  return entity(ctx, "number", c, {
    command_topic,
    state_topic,
    ...(c.min !== undefined ? { min: c.min } : {}),
    ...(c.max !== undefined ? { max: c.max } : {}),
    ...(c.unit ? { unit_of_measurement: c.unit } : {}),
    mode: "box",
  });
}

/** Config messages for everything `device` declared. */
export function discoveryMessages(
  prefix: string,
  topics: Topics,
  device: DeviceDescription,
  options: DiscoveryOptions,
): DiscoveryMessage[] {
  const ctx = { prefix, topics, device, agentVersion: options.agentVersion };
  return [
    ...device.sensors.map((c) => sensorEntity(ctx, c, topics.sensor(device.id, c.name))),
    ...device.actuators.map((c) =>
      options.commandable(c.name)
        ? actuatorEntity(ctx, c)
        : sensorEntity(ctx, c, topics.actuatorState(device.id, c.name)),
    ),
  ];
}

/** Removals for the config topics of `before` that `after` no longer has. */
export function removedDiscovery(
  before: readonly DiscoveryMessage[],
  after: readonly DiscoveryMessage[],
): DiscoveryMessage[] {
  const kept = new Set(after.map((m) => m.topic));
  return before.filter((m) => !kept.has(m.topic)).map((m) => ({ topic: m.topic, payload: "" }));
}
