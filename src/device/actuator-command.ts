/**
 * One actuator command, from a user's value to the device's answer: checked against the
 * declared capability (so a bad value never reaches the wire), sent with a correlation id,
 * and typed back from the device's ACK.
 */
import type { DeviceDescription, SensorValue } from "../core/reading.js";
import type { CommandTracker } from "./command-tracker.js";
import { CommandValidationError, DeviceOfflineError } from "./errors.js";
import { formatValue, validateValue } from "./validate.js";
import type { CmdFrame } from "./wire/frames.js";

export interface CommandResult {
  actuator: string;
  /** The actuator's value after the command, as the device reported it. */
  value: SensorValue;
  id: string;
  latencyMs: number;
}

export interface ActuatorCommand {
  device: DeviceDescription;
  actuator: string;
  value: SensorValue;
  timeoutMs: number;
}

export async function runActuatorCommand(
  command: ActuatorCommand,
  tracker: CommandTracker,
  send: (frame: CmdFrame) => Promise<void>,
): Promise<CommandResult> {
  const { device, actuator, value, timeoutMs } = command;
  const capability = device.actuators.find((a) => a.name === actuator);
  if (!capability) {
    const known = device.actuators.map((a) => a.name).join(", ") || "none";
    throw new CommandValidationError(actuator, `unknown actuator (this device has: ${known})`);
  }
  const formatted = formatValue(capability, value);
  if (!formatted.ok) throw new CommandValidationError(actuator, formatted.detail);
  const { id, answer } = tracker.begin(actuator, timeoutMs);
  send({ type: "CMD", id, act: actuator, val: formatted.token }).catch((error: Error) =>
    tracker.fail(id, new DeviceOfflineError(error.message, actuator)),
  );
  const reply = await answer;
  const typed = validateValue(capability, reply.token ?? formatted.token);
  return {
    actuator,
    value: typed.ok ? typed.value : value,
    id: reply.id,
    latencyMs: reply.latencyMs,
  };
}
