/**
 * Errors of the device side. Each says what failed and for which device or actuator, so that a
 * chat reply or a log line can be built from it without extra context.
 */

export type CommandFailure =
  "offline" | "invalid" | "rejected" | "timeout" | "busy" | "interrupted";

export class DeviceCommandError extends Error {
  override readonly name: string = "DeviceCommandError";
  constructor(
    readonly failure: CommandFailure,
    message: string,
    readonly actuator?: string,
  ) {
    super(message);
  }
}

/** No serial port open, or the device has not completed its handshake. */
export class DeviceOfflineError extends DeviceCommandError {
  override readonly name = "DeviceOfflineError";
  constructor(detail: string, actuator?: string) {
    super("offline", `device offline: ${detail}`, actuator);
  }
}

/** Refused by the agent before anything was sent: unknown actuator or value out of its range. */
export class CommandValidationError extends DeviceCommandError {
  override readonly name = "CommandValidationError";
  constructor(actuator: string, detail: string) {
    super("invalid", `cannot set ${actuator}: ${detail}`, actuator);
  }
}

/** The device answered NACK. */
export class CommandRejectedError extends DeviceCommandError {
  override readonly name = "CommandRejectedError";
  constructor(
    actuator: string,
    readonly reason: string,
    deviceMessage?: string,
  ) {
    super(
      "rejected",
      `device refused to set ${actuator}: ${reason}${deviceMessage ? ` (${deviceMessage})` : ""}`,
      actuator,
    );
  }
}

export class CommandTimeoutError extends DeviceCommandError {
  override readonly name = "CommandTimeoutError";
  constructor(actuator: string, timeoutMs: number) {
    super("timeout", `no answer from the device for ${actuator} within ${timeoutMs} ms`, actuator);
  }
}

export class DeviceBusyError extends DeviceCommandError {
  override readonly name = "DeviceBusyError";
  constructor(actuator: string, inFlight: number) {
    super(
      "busy",
      `device busy: ${inFlight} commands already waiting, ${actuator} not sent`,
      actuator,
    );
  }
}

/** The port closed or the device rebooted while the command waited for its answer. */
export class CommandInterruptedError extends DeviceCommandError {
  override readonly name = "CommandInterruptedError";
  constructor(actuator: string, cause: string) {
    super("interrupted", `command for ${actuator} interrupted: ${cause}`, actuator);
  }
}
