/**
 * Whether a command from a set topic may run, pure: MQTT has no sender identity, so what the
 * configuration allows (enabled, which actuators, which role) stands in for the allow-list, and
 * the role is checked by the same rule as every other transport's.
 */
import type { AgentConfig } from "../config/schema.js";
import { authorize } from "../core/commands.js";

/** Commands longer than this are not commands. */
export const MAX_COMMAND_PAYLOAD = 64;

type CommandsConfig = NonNullable<AgentConfig["mqtt"]>["commands"];

export interface SetRequest {
  /** The device named in the topic, and the one this agent serves (if known yet). */
  device: string;
  deviceId: string | undefined;
  command: { verb: "set"; actuator: string; value: string };
}

/** Why the command is refused, or undefined when it may run. */
export function commandRefusal(config: CommandsConfig, request: SetRequest): string | undefined {
  const { command } = request;
  if (!config.enabled) return "commands over MQTT are disabled";
  if (config.actuators && !config.actuators.includes(command.actuator)) {
    return `${command.actuator} does not take commands over MQTT (mqtt.commands.actuators)`;
  }
  if (request.device !== request.deviceId) return `no device ${request.device} on this agent`;
  const value = command.value;
  if (value === "" || value.length > MAX_COMMAND_PAYLOAD || /\p{Cc}/u.test(value)) {
    return `expected a value of 1 to ${MAX_COMMAND_PAYLOAD} printable characters`;
  }
  const allowed = authorize(command, config.role);
  return allowed.ok ? undefined : allowed.error;
}
