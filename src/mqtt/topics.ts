/**
 * The MQTT topic layout and payloads, pure. Under `baseTopic` (default `iot-agent`):
 *
 *   <base>/<agent>/availability          online | offline (retained; offline is the last will)
 *   <base>/<device>/state                JSON of a whole reading (retained when live); its
 *                                        `timeSynced: false` says the time was taken before
 *                                        the agent's clock was synchronised
 *   <base>/<device>/<sensor>             one value: 21.5, true, open (retained when live)
 *   <base>/<device>/<actuator>/set       commands in: on, off, 42, blink
 *   <base>/<device>/<actuator>/state     the value the device confirmed (retained)
 *   <base>/<device>/error                what a refused command was, and why
 *
 * `<agent>` is the MQTT client id, so several agents can share one broker and base.
 */
import type { Reading, SensorValue } from "../core/reading.js";

export interface Topics {
  availability: string;
  state(device: string): string;
  sensor(device: string, sensor: string): string;
  set(device: string, actuator: string): string;
  actuatorState(device: string, actuator: string): string;
  error(device: string): string;
  /** Subscription filter for every set topic under the base. */
  setFilter: string;
}

export function topicsFor(base: string, agentId: string): Topics {
  return {
    availability: `${base}/${agentId}/availability`,
    state: (device) => `${base}/${device}/state`,
    sensor: (device, sensor) => `${base}/${device}/${sensor}`,
    set: (device, actuator) => `${base}/${device}/${actuator}/set`,
    actuatorState: (device, actuator) => `${base}/${device}/${actuator}/state`,
    error: (device) => `${base}/${device}/error`,
    setFilter: `${base}/+/+/set`,
  };
}

/** `<base>/<device>/<actuator>/set` → its device and actuator, or undefined for anything else. */
export function parseSetTopic(
  base: string,
  topic: string,
): { device: string; actuator: string } | undefined {
  if (!topic.startsWith(`${base}/`)) return undefined;
  const parts = topic.slice(base.length + 1).split("/");
  const [device, actuator, set] = parts;
  if (parts.length !== 3 || set !== "set" || !device || !actuator) return undefined;
  return { device, actuator };
}

/** One reading as JSON: identity, time (and whether it was synchronised), values by sensor. */
export function statePayload(reading: Reading): string {
  return JSON.stringify({
    device: reading.device,
    boot: reading.boot,
    seq: reading.seq,
    time: new Date(reading.receivedAt).toISOString(),
    ...(reading.timeSynced === false ? { timeSynced: false } : {}),
    values: Object.fromEntries(reading.values.map((v) => [v.sensor, v.value])),
  });
}

/** A single value as text: numbers in full, booleans as true/false, enums as their name. */
export function valuePayload(value: SensorValue): string {
  return String(value);
}
