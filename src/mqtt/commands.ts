/**
 * What a set topic's message means as a command, pure. MQTT carries no sender identity, so the
 * `mqtt.commands` section (present or not, which actuators, which role) stands in for the
 * allow-list; the role itself is checked by the command gate every transport goes through.
 */
import type { AgentConfig } from "../config/schema.js";
import type { ParseResult } from "../core/commands.js";

/** Commands longer than this are not commands. */
export const MAX_COMMAND_PAYLOAD = 64;

/** Undefined when the configuration has no `mqtt.commands` section: commands are off. */
export type CommandsConfig = NonNullable<AgentConfig["mqtt"]>["commands"];

export interface SetRequest {
  /** The device named in the topic, and the one this agent serves (if known yet). */
  device: string;
  deviceId: string | undefined;
  actuator: string;
  value: string;
}

/** Whether `actuator` takes commands over MQTT (and so is announced with a command topic). */
export function commandable(config: CommandsConfig, actuator: string): boolean {
  return config?.actuators.includes(actuator) ?? false;
}

/** The `set` command a set topic's message asks for, or why it is not one this agent takes. */
export function parseSetRequest(config: CommandsConfig, request: SetRequest): ParseResult {
  const { actuator, value } = request;
  if (!config) return { ok: false, error: "commands over MQTT are off (no mqtt.commands)" };
  if (!commandable(config, actuator)) {
    const error = `${actuator} does not take commands over MQTT (mqtt.commands.actuators)`;
    return { ok: false, error };
  }
  if (request.device !== request.deviceId) {
    return { ok: false, error: `no device ${request.device} on this agent` };
  }
  if (value === "" || value.length > MAX_COMMAND_PAYLOAD || /\p{Cc}/u.test(value)) {
    const error = `expected a value of 1 to ${MAX_COMMAND_PAYLOAD} printable characters`;
    return { ok: false, error };
  }
  return { ok: true, command: { verb: "set", actuator, value } };
}
