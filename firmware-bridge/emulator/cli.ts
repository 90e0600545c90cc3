/**
 * `iot-agent emulate`: runs a device emulator on a pseudo-terminal until interrupted, logging the
 * commands it receives and the faults it injects. Exit codes: 0 done, 1 could not run, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { isDevid } from "../../src/device/wire/index.js";
import { DeviceEmulator } from "./emulator.js";
import type { CommandEvent } from "./events.js";
import {
  FAULT_HELP,
  FaultSpecError,
  parseFault,
  scheduleFaults,
  type FaultPlan,
} from "./fault-plan.js";

export interface EmulateIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Ends the run; without one, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
}

const USAGE = `Usage: iot-agent emulate --link PATH [options]

Runs an emulated device (the reference envnode firmware) behind a pseudo-terminal at PATH; point
the agent's serial port at PATH.

Options:
  --link PATH          path the agent opens, e.g. /tmp/ttyIOT (required)
  --rate HZ            readings per second (default 2; capped to what the baud rate carries)
  --baud N             serial speed the output is paced to (default 115200)
  --device-id ID       device id in HELLO (default envnode-emu)
  --seed N             seed for signals and noise, for reproducible runs (default 1)
  --fault SPEC         inject faults, see below (repeatable)
  --duration S         stop after S seconds (default: run until Ctrl-C)
  -h, --help           show this help

${FAULT_HELP}
`;

class UsageError extends Error {}

interface EmulateOptions {
  link: string;
  rateHz: number;
  baud: number;
  deviceId: string;
  seed: number;
  faults: FaultPlan[];
  durationS?: number;
}

export async function runEmulate(argv: string[], io: EmulateIo): Promise<number> {
  let options: EmulateOptions | "help";
  try {
    options = parseEmulateArgs(argv);
  } catch (error) {
    if (!(
      error instanceof UsageError ||
      error instanceof FaultSpecError ||
      isParseArgsError(error)
    )) {
      throw error;
    }
    io.stderr.write(
      `iot-agent emulate: ${error.message}\nRun 'iot-agent emulate --help' for usage.\n`,
    );
    return 2;
  }
  if (options === "help") {
    io.stdout.write(USAGE);
    return 0;
  }
  return run(options, io);
}

async function run(options: EmulateOptions, io: EmulateIo): Promise<number> {
  const { link, faults, durationS, ...config } = options;
  const log = (message: string): void => {
    io.stdout.write(`${new Date().toISOString().slice(11, 23)} ${message}\n`);
  };
  let emulator: DeviceEmulator;
  try {
    emulator = await DeviceEmulator.start({ link, ...config });
  } catch (error) {
    io.stderr.write(`iot-agent emulate: cannot start the device on ${link}: ${messageOf(error)}\n`);
    return 1;
  }
  if (emulator.rateWarning) log(`warning: ${emulator.rateWarning}`);
  attachLog(emulator, log);
  // Nobody can reach the device once socat is gone, so a dead cable ends the run as a failure.
  const cableDied = new AbortController();
  emulator.cable?.once("died", (exit) => {
    io.stderr.write(`iot-agent emulate: socat exited unexpectedly: ${exit.stderr.trim()}\n`);
    cableDied.abort();
  });
  const cancelFaults = scheduleFaults(emulator, faults, (error) =>
    log(`fault failed: ${error.message}`),
  );
  io.stdout.write(
    `device ready on ${link} (${config.deviceId}, ${emulator.rateHz.toFixed(2)} Hz, ` +
      `${config.baud} baud, seed ${config.seed}, boot ${emulator.status().boot})\n`,
  );
  await untilDone([cableDied.signal, ...(io.signal ? [io.signal] : [])], !io.signal, durationS);
  cancelFaults();
  await emulator.stop();
  const { sentLines, commandsReceived, faults: stats } = emulator.status();
  const injected = Object.entries(stats).map(([key, value]) => `${key}=${value}`);
  log(`stopped: ${sentLines} lines sent, ${commandsReceived} commands, ${injected.join(" ")}`);
  return cableDied.signal.aborted ? 1 : 0;
}

function attachLog(emulator: DeviceEmulator, log: (message: string) => void): void {
  emulator.on("command", (event) => log(describeCommand(event)));
  emulator.on("fault", ({ kind, detail }) => log(`fault ${kind}: ${detail}`));
  emulator.on("boot", ({ boot, reason }) => log(`boot ${boot} (${reason})`));
  emulator.on("warning", (message) => log(`warning: ${message}`));
  emulator.on("unplugged", () => log("cable unplugged"));
  emulator.on("plugged", () => log("cable plugged in"));
}

function describeCommand({ frame, result, reply }: CommandEvent): string {
  const what = `cmd id=${frame.id} ${frame.act}=${frame.val}`;
  if (!reply) return `${what} -> ${result} (no answer)`;
  if (reply.type === "ACK") return `${what} -> ack ${reply.val ?? ""}`;
  return `${what} -> nack ${reply.reason}${reply.msg ? `: ${reply.msg}` : ""}`;
}

function parseEmulateArgs(argv: string[]): EmulateOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      link: { type: "string" },
      rate: { type: "string" },
      baud: { type: "string" },
      "device-id": { type: "string" },
      seed: { type: "string" },
      fault: { type: "string", multiple: true },
      duration: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (!values.link) throw new UsageError("--link PATH is required (the path the agent will open)");
  const deviceId = values["device-id"] ?? "envnode-emu";
  if (!isDevid(deviceId)) {
    throw new UsageError(`--device-id '${deviceId}': expected 1-32 of A-Z a-z 0-9 . _ -`);
  }
  return {
    link: values.link,
    rateHz: numberOption("--rate", values.rate, 2, { min: 0.001, max: 10_000 }),
    baud: numberOption("--baud", values.baud, 115200, { min: 300, max: 4_000_000, integer: true }),
    deviceId,
    seed: numberOption("--seed", values.seed, 1, { min: 0, max: 4294967295, integer: true }),
    faults: (values.fault ?? []).map(parseFault),
    durationS:
      values.duration === undefined
        ? undefined
        : numberOption("--duration", values.duration, 0, { min: 0.001 }),
  };
}

function numberOption(
  name: string,
  text: string | undefined,
  fallback: number,
  range: { min: number; max?: number; integer?: boolean },
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  const max = range.max ?? Infinity;
  const ok = text.trim() !== "" && Number.isFinite(value) && value >= range.min && value <= max;
  if (!ok || (range.integer && !Number.isInteger(value))) {
    const kind = range.integer ? "a whole number" : "a number";
    const bounds = range.max === undefined ? `at least ${range.min}` : `${range.min}..${range.max}`;
    throw new UsageError(`${name} '${text}': expected ${kind}, ${bounds}`);
  }
  return value;
}

/** Waits for any signal to abort, the duration to pass, or (if asked) SIGINT/SIGTERM. */
function untilDone(
  signals: AbortSignal[],
  onProcessSignals: boolean,
  durationS: number | undefined,
): Promise<void> {
  return new Promise((resolve) => {
    const cleanups: Array<() => void> = [];
    const done = (): void => {
      for (const cleanup of cleanups) cleanup();
      resolve();
    };
    if (durationS !== undefined) {
      const timer = setTimeout(done, durationS * 1000);
      cleanups.push(() => clearTimeout(timer));
    }
    for (const signal of signals) {
      if (signal.aborted) return done();
      signal.addEventListener("abort", done, { once: true });
      cleanups.push(() => signal.removeEventListener("abort", done));
    }
    for (const name of onProcessSignals ? (["SIGINT", "SIGTERM"] as const) : []) {
      process.once(name, done);
      cleanups.push(() => process.off(name, done));
    }
  });
}

function isParseArgsError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
