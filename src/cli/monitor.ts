/**
 * `iot-agent monitor`: open a serial device, print every reading as a JSON line, and optionally
 * set actuators. The quickest way to see that a board (or the emulator) speaks the protocol.
 */
import { parseArgs } from "node:util";
import type { Reading } from "../core/reading.js";
import type { Logger } from "../core/logger.js";
import { logLinkEvents } from "../device/link-logging.js";
import { SerialLink } from "../device/serial-link.js";
import { UsageError, parseBaud, parseCount } from "./args.js";
import type { CliIo } from "./io.js";

export const MONITOR_HELP = `Usage: iot-agent monitor --port PATH [options]

Print the readings of a device on a serial port as JSON lines (stdout); events go to stderr.

Options:
  --port PATH        serial device, e.g. /dev/ttyACM0 or an emulator link
  --baud N           baud rate (default 115200)
  --set NAME=VALUE   set an actuator once the device is online (repeatable)
  --count N          exit after N readings (default: run until interrupted)
  -h, --help         show this help
`;

export function readingJson(reading: Reading): string {
  const values = Object.fromEntries(reading.values.map((v) => [v.sensor, v.value]));
  return JSON.stringify({
    device: reading.device,
    boot: reading.boot,
    seq: reading.seq,
    receivedAt: new Date(reading.receivedAt).toISOString(),
    ...(reading.deviceTime === undefined ? {} : { deviceTime: reading.deviceTime }),
    values,
  });
}

function parseSets(values: string[]): Array<[string, string]> {
  return values.map((item) => {
    const at = item.indexOf("=");
    if (at < 1 || at === item.length - 1) {
      throw new UsageError(`--set ${item}: expected NAME=VALUE, e.g. --set relay=on`);
    }
    return [item.slice(0, at), item.slice(at + 1)];
  });
}

export async function runMonitor(argv: string[], io: CliIo, log: Logger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      baud: { type: "string", default: "115200" },
      set: { type: "string", multiple: true, default: [] },
      count: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    io.out(MONITOR_HELP);
    return 0;
  }
  if (!values.port) throw new UsageError("--port is required (the serial device to open)");
  const sets = parseSets(values.set);
  const limit = values.count === undefined ? Infinity : parseCount("--count", values.count);
  const link = new SerialLink({ path: values.port, baudRate: parseBaud(values.baud) });
  return watchLink(link, { sets, limit, io, log });
}

/**
 * Runs a link until `limit` readings or the abort signal: readings as JSON lines on stdout,
 * everything else logged.
 */
function watchLink(
  link: SerialLink,
  options: { sets: Array<[string, string]>; limit: number; io: CliIo; log: Logger },
): Promise<number> {
  const { io, log, limit } = options;
  const sets = [...options.sets];
  return new Promise<number>((resolve) => {
    let seen = 0;
    const finish = (code: number) => void link.stop().then(() => resolve(code));
    logLinkEvents(link, log);
    link.on("hello", () => {
      for (const [name, value] of sets.splice(0)) {
        link.setActuator(name, value).then(
          (r) => log.info({ command: r }, `${name} set to ${String(r.value)}`),
          (e: Error) => log.error({ actuator: name }, e.message),
        );
      }
    });
    link.on("reading", (reading) => {
      io.out(`${readingJson(reading)}\n`);
      if (++seen >= limit) finish(0);
    });
    if (io.signal?.aborted) return finish(0);
    io.signal?.addEventListener("abort", () => finish(0), { once: true });
    link.start();
  });
}
