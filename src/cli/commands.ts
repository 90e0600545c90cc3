/**
 * Command dispatch for `iot-agent`. Exit codes a supervisor can act on: 0 done, 1 failed at run
 * time, 2 bad usage (fix the command line or configuration; retrying will not help).
 */
import { runEmulate } from "../../firmware-bridge/emulator/cli.js";
import { runCheckConfig } from "../config/check.js";
import { createLogger, type Logger } from "../core/logger.js";
import { UsageError } from "./args.js";
import { runDemo } from "./demo.js";
import type { CliIo } from "./io.js";
import { runMonitor } from "./monitor.js";
import { runAgent } from "./run.js";
import { runStatus } from "./status.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const HELP = `Usage: iot-agent <command> [options]

Commands:
  run --config FILE   run the agent
  demo       a private XMPP server, the emulated device, the agent and a console: no hardware needed
  emulate    run a device emulator on a pseudo-terminal (stands in for a board)
  monitor    print the readings of a device on a serial port
  check-config FILE   validate a configuration file without connecting anywhere
  status     ask a running agent how it is doing (its health endpoint)
  help       show this help

Run 'iot-agent <command> --help' for a command's options.
`;

export async function runCli(
  argv: string[],
  io: CliIo,
  /** Injected by tests; otherwise each command makes its own (`run` takes the configured level). */
  injectedLog?: Logger,
): Promise<number> {
  const [command, ...rest] = argv;
  const log =
    injectedLog ?? createLogger({ level: process.env.LOG_LEVEL === "debug" ? "debug" : "info" });
  try {
    switch (command) {
      case "demo":
        return await runDemo(rest, io, log);
      case "emulate":
        return await runEmulate(rest, {
          stdout: process.stdout,
          stderr: process.stderr,
          ...(io.signal ? { signal: io.signal } : {}),
        });
      case "monitor":
        return await runMonitor(rest, io, log);
      case "run":
        return await runAgent(rest, io, injectedLog);
      case "check-config":
        return await runCheckConfig(rest, io);
      case "status":
        return await runStatus(rest, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(HELP);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(
          `unknown command '${command}'; commands: run, demo, emulate, monitor, check-config, status, help`,
        );
    }
  } catch (error) {
    const usage = error instanceof UsageError || isParseArgsError(error);
    io.err(`iot-agent: ${(error as Error).message}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** node:util parseArgs reports unknown or malformed options with these codes. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
