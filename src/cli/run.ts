/**
 * `iot-agent run --config FILE`: load and check the configuration, start the agent, and stop it
 * cleanly (unavailable presence, port closed) on SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { Agent } from "../agent.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { createLogger, type Logger } from "../core/logger.js";
import { UsageError } from "./args.js";
import type { CliIo } from "./io.js";

export const RUN_HELP = `Usage: iot-agent run --config FILE

Runs the agent: reads the device on the configured serial port, sends telemetry over XMPP and
answers commands from allow-listed JIDs. Stops cleanly on Ctrl-C or SIGTERM. SIGHUP reads the
configuration again: access.allow, telemetry.subscribers and log.level change at once; it logs
what else changed and needs a restart.

Options:
  --config FILE   the agent's YAML configuration (see config/agent.example.yaml)
  -h, --help      show this help
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
  const agent = await Agent.start({
    config: loaded.config,
    password: loaded.password,
    ...(loaded.mqttPassword === undefined ? {} : { mqttPassword: loaded.mqttPassword }),
    log: logger,
  });
  logger.info({ jid: agent.xmpp.jid }, "agent online");
  const reload = () => void reloadConfig(values.config ?? "", agent, logger);
  process.on("SIGHUP", reload);
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) return resolve();
    io.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  process.off("SIGHUP", reload);
  logger.info("stopping");
  await agent.stop();
  return 0;
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
    const why = error instanceof ConfigError ? error.message : (error as Error).message;
    log.error(`configuration not reloaded, the running one stays in force: ${why}`);
  }
}
