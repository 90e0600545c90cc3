/**
 * `iot-agent demo`: the emulated device on a pseudo-terminal and the agent's serial link on the
 * other end, with a few faults injected, so the whole device side can be watched with no board.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  DeviceEmulator,
  parseFault,
  scheduleFaults,
} from "../../firmware-bridge/emulator/index.js";
import type { Logger } from "../core/logger.js";
import { SerialLink } from "../device/serial-link.js";
import { parseCount } from "./args.js";
import type { CliIo } from "./io.js";
import { watchLink } from "./monitor.js";

export const DEMO_HELP = `Usage: iot-agent demo [options]

Starts an emulated environment node on a pseudo-terminal and reads it through the agent's serial
link: readings as JSON lines on stdout, link events on stderr. The relay and the LED are switched
once the device is online; a corrupt line every 20 lines, a reboot after 8 s and a 1.5 s unplug
every 15 s show the link recovering.

Options:
  --count N     exit after N readings (default: run until Ctrl-C)
  --rate HZ     readings per second (default 2)
  --calm        no injected faults
  -h, --help    show this help
`;

const DEMO_FAULTS = ["corrupt:every=20", "reboot:after=8,midline=1", "unplug:every=15,ms=1500"];

export async function runDemo(argv: string[], io: CliIo, log: Logger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: "string" },
      rate: { type: "string", default: "2" },
      calm: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const limit = values.count === undefined ? Infinity : parseCount("--count", values.count);
  const rateHz = parseCount("--rate", values.rate);
  const dir = await mkdtemp(join(tmpdir(), "iot-agent-demo-"));
  const path = join(dir, "ttyEMU");
  const emulator = await DeviceEmulator.start({ link: path, rateHz });
  const plans = values.calm ? [] : DEMO_FAULTS.map(parseFault);
  const cancelFaults = scheduleFaults(emulator, plans, (e) => log.error(e.message));
  emulator.on("fault", (f) => log.info({ fault: f.kind }, `emulator: ${f.detail}`));
  log.info({ path }, `emulated device on ${path}`);
  try {
    const link = new SerialLink({ path, reconnect: { initialMs: 200, maxMs: 2000 } });
    const sets: Array<[string, string]> = [
      ["relay", "on"],
      ["led", "blink"],
    ];
    return await watchLink(link, { sets, limit, io, log });
  } finally {
    cancelFaults();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
