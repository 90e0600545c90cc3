/**
 * `iot-agent check-config FILE`: validate a configuration before deploying it, without
 * connecting to the server or opening the device. Exit 0 valid, 2 invalid or bad usage, the
 * same "fix the input, retrying will not help" status the rest of the CLI uses.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type AgentConfig } from "./load.js";
import { ROLES } from "./schema.js";

export const CHECK_CONFIG_HELP = `Usage: iot-agent check-config FILE

Validate an agent configuration file and summarise it, without connecting anywhere. The XMPP
password is resolved (environment variable or file) to prove it is there, but never printed.
Problems are listed one per line as FILE:LINE:COLUMN KEY: what was expected, what was found.

Exit status: 0 valid (warnings go to stderr), 2 invalid configuration or bad usage.

Options:
  -h, --help   show this help
`;

export interface CheckIo {
  out(text: string): void;
  err(text: string): void;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function serverLine(config: AgentConfig): string {
  const { xmpp } = config;
  const tls = xmpp.service.startsWith("xmpps:") ? "direct TLS" : "STARTTLS";
  const mode = xmpp.tls.allowPlaintext ? `${tls} if offered, PLAINTEXT ALLOWED` : `${tls} required`;
  const secret = "env" in xmpp.password ? `$${xmpp.password.env}` : xmpp.password.file;
  return `${xmpp.service} as ${xmpp.username}@${xmpp.domain}/${xmpp.resource} (${mode}; password from ${secret})`;
}

function accessLine(config: AgentConfig): string {
  const { allow, strangers } = config.access;
  // Most powerful first: admins are what a reviewer looks for.
  const byRole = [...ROLES]
    .reverse()
    .map((role) => [role, allow.filter((a) => a.role === role).length] as const)
    .filter(([, n]) => n > 0)
    .map(([role, n]) => `${n} ${role}`);
  const roles = byRole.length > 0 ? ` (${byRole.join(", ")})` : "";
  const others = strangers === "error" ? "refused with an error" : "ignored";
  return `${plural(allow.length, "allowed JID")}${roles}; others ${others}`;
}

function mqttLine(mqtt: NonNullable<AgentConfig["mqtt"]>): string {
  const { commands } = mqtt;
  const on = commands
    ? `commands on for ${commands.actuators.join(", ")} as ${commands.role}`
    : "commands off";
  return `${mqtt.url} under ${mqtt.baseTopic}; ${on}`;
}

/** A few lines an operator can eyeball to confirm the file says what they meant. */
export function summarize(config: AgentConfig): string[] {
  const { device, telemetry, alerts } = config;
  const emulated = device.emulate ? " (built-in emulator)" : "";
  const subscribers =
    telemetry.subscribers.length > 0 ? `: ${telemetry.subscribers.join(", ")}` : "";
  const overrides = Object.keys(telemetry.sensors).length;
  const names = alerts.length > 0 ? ` (${alerts.map((a) => a.name).join(", ")})` : "";
  return [
    `server:      ${serverLine(config)}`,
    `device:      ${device.port} at ${device.baud} baud${emulated}`,
    `access:      ${accessLine(config)}`,
    `subscribers: ${plural(telemetry.subscribers.length, "JID")}${subscribers}`,
    `telemetry:   ${telemetry.default.mode} by default, ${plural(overrides, "sensor override")}`,
    `alerts:      ${alerts.length}${names}`,
    ...(config.mqtt ? [`mqtt:        ${mqttLine(config.mqtt)}`] : []),
  ];
}

function usageError(io: CheckIo, message: string): number {
  io.err(
    `iot-agent check-config: ${message}\nUsage: iot-agent check-config FILE (--help for more)\n`,
  );
  return 2;
}

/** `argv` is what follows `check-config` on the command line. */
export async function runCheckConfig(
  argv: string[],
  io: CheckIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  if (parsed.values.help) {
    io.out(CHECK_CONFIG_HELP);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) return usageError(io, "missing FILE (the configuration to check)");
  if (extra.length > 0) return usageError(io, `one FILE at a time, found also ${extra.join(" ")}`);
  return check(file, io, env);
}

async function check(file: string, io: CheckIo, env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const { config, warnings } = await loadConfig(file, env);
    io.out(
      `${file}: ok\n${summarize(config)
        .map((line) => `  ${line}\n`)
        .join("")}`,
    );
    for (const warning of warnings) io.err(`warning: ${warning}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`${error.message}\n${file}: ${plural(error.problems.length, "problem")}\n`);
    return 2;
  }
}
