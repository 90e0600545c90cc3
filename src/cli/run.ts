/**
 * `iot-agent run --config FILE`: load and check the configuration, start the agent, and stop it
 * cleanly (unavailable presence, port closed) on SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { Agent } from "../agent.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { createLogger, type Logger } from "../core/logger.js";
import { createSystemdNotifier } from "../health/systemd-notify.js";
import { UsageError } from "./args.js";
import type { CliIo } from "./io.js";

export const RUN_HELP = `Usage: iot-agent run --config FILE

Runs the agent: reads the device on the configured serial port, sends telemetry over XMPP and
answers commands from allow-listed JIDs. Stops cleanly on Ctrl-C or SIGTERM. SIGHUP reads the
configuration again: access.allow, telemetry.subscribers and log.level change at once; it logs
what else changed and needs a restart.

The device is read from the start; while the XMPP server is unreachable (no network at boot, a
server restart) readings wait in the outbox and go out once it answers.

Options:
  --config FILE   the agent's YAML configuration (see config/agent.example.yaml)
  -h, --help      show this help

Exit status:
  0   stopped on request (SIGTERM, Ctrl-C)
  1   failed: the server refused the credentials or certificate, a disk or port error;
      a supervisor may restart it
  2   bad command line or configuration: restarting will not help until it is fixed
`;

export async function runAgent(argv: string[], io: CliIo, log?: Logger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help) {
    io.out(RUN_HELP);
    return 0;
  }
  if (!values.config) throw new UsageError("--config FILE is required");
  let loaded;
  try {
    loaded = await loadConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const logger = log ?? createLogger({ level: loaded.config.log.level });
  for (const warning of loaded.warnings) logger.warn(warning);
  // Installed before start: without a handler SIGHUP would end the process while it connects.
  let agent: Agent | undefined;
  let reloadWhenStarted = false;
  const reload = () => {
    if (agent) void reloadConfig(values.config ?? "", agent, logger);
    else reloadWhenStarted = true;
  };
  process.on("SIGHUP", reload);
  let failure: Error | undefined;
  const notifier = createSystemdNotifier({ log: logger });
  try {
    const stopped = new Promise<void>((resolve) => {
      if (io.signal?.aborted) return resolve();
      io.signal?.addEventListener("abort", () => resolve(), { once: true });
    });
    let onFatal: (error: Error) => void = () => undefined;
    const fatal = new Promise<void>((resolve) => {
      onFatal = (error) => {
        failure = error;
        resolve();
      };
    });
    agent = await Agent.start({
      config: loaded.config,
      password: loaded.password,
      ...(loaded.mqttPassword === undefined ? {} : { mqttPassword: loaded.mqttPassword }),
      log: logger,
      onFatal,
    });
    // Outbox open and device read: ready for systemd, with or without the XMPP server.
    await notifier.ready();
    if (reloadWhenStarted) reload();
    await Promise.race([stopped, fatal]);
  } finally {
    process.off("SIGHUP", reload);
  }
  logger.info(failure ? "stopping after a failure retrying cannot cure" : "stopping");
  await notifier.stopping();
  await agent.stop();
  return failure ? 1 : 0;
}

/** SIGHUP: read the file again and apply what can change while running; say what cannot. */
async function reloadConfig(path: string, agent: Agent, log: Logger): Promise<void> {
  try {
    const loaded = await loadConfig(path);
    const plan = agent.reload(loaded.config);
    log.info({ applied: plan.apply, needsRestart: plan.restart }, "configuration reloaded");
    if (plan.restart.length > 0) {
      log.warn(
        { needsRestart: plan.restart },
        `configuration changes that take effect only after a restart: ${plan.restart.join(", ")}`,
      );
    }
  } catch (error) {
    const why = (error as Error).message;
    log.error(`configuration not reloaded, the running one stays in force: ${why}`);
  }
}
