/**
 * `iot-agent demo` (`npm run demo`): the whole system on one machine with no hardware and no
 * account anywhere: a private Prosody, the agent with its device emulator, and a console logged
 * in as the device's owner. Everything is stopped and removed on the way out.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { Logger } from "../core/logger.js";
import { demoBanner } from "../demo/banner.js";
import { DemoConsole } from "../demo/console.js";
import { startEnvironment, type DemoEnvironment } from "../demo/environment.js";
import { catchCtrlC } from "../demo/interrupt.js";
import { ensurePrerequisites } from "../demo/prerequisites.js";
import { parseCount } from "./args.js";
import type { CliIo } from "./io.js";

export const DEMO_HELP = `Usage: iot-agent demo [options]

Runs everything on this machine, on 127.0.0.1 and in a temporary folder: a private Prosody XMPP
server with throwaway accounts, the agent reading an emulated device, and a console logged in as
the device's owner. Telemetry, replies and alerts scroll by; what you type (help, status,
get temp, set relay on...) is sent to the agent. /quit, Ctrl-D or Ctrl-C stops it all.

Needs prosody, openssl and socat: installed with apt-get when run as root, otherwise the command
to install them is printed (exit code 2).

Options:
  --no-console  no prompt: print what the owner receives until --count or Ctrl-C
  --count N     stop after N telemetry messages (default: run until stopped)
  -h, --help    show this help
`;

interface DemoOptions {
  interactive: boolean;
  limit: number | undefined;
}

function parseDemoArgs(argv: string[]): DemoOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      "no-console": { type: "boolean", default: false },
      count: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const limit = values.count === undefined ? undefined : parseCount("--count", values.count);
  return { interactive: !values["no-console"], limit };
}

export async function runDemo(argv: string[], io: CliIo, log: Logger): Promise<number> {
  const options = parseDemoArgs(argv);
  if (options === "help") {
    io.out(DEMO_HELP);
    return 0;
  }
  const ready = await ensurePrerequisites({ io });
  if (ready !== 0) return ready;
  // SIGINT/SIGTERM (io.signal) or Ctrl-C typed on the terminal: both end the demo cleanly.
  const interrupt = new AbortController();
  const abort = () => interrupt.abort();
  io.signal?.addEventListener("abort", abort, { once: true });
  if (io.signal?.aborted) abort();
  const releaseKeys = catchCtrlC(process.stdin, abort);
  try {
    return await runEnvironment(options, { ...io, signal: interrupt.signal }, log);
  } finally {
    releaseKeys();
    io.signal?.removeEventListener("abort", abort);
  }
}

async function runEnvironment(options: DemoOptions, io: CliIo, log: Logger): Promise<number> {
  io.err("Starting Prosody, the device emulator and the agent...\n");
  const env = await startEnvironment(log);
  try {
    if (io.signal?.aborted) return 0;
    io.out(demoBanner(env, options.interactive));
    return await converse(env, options, io);
  } finally {
    await env.destroy().catch((e: Error) => io.err(`iot-agent demo: cleanup: ${e.message}\n`));
    io.err(`Demo stopped; ${env.dir} removed.\n`);
  }
}

/** Runs the console until it is done or the process is interrupted, then lets the agent leave. */
async function converse(env: DemoEnvironment, options: DemoOptions, io: CliIo): Promise<number> {
  const owner = await DemoConsole.start({
    service: env.server.service,
    domain: env.server.domain,
    username: "owner",
    password: env.accounts.owner.password,
    caPem: await readFile(env.server.caFile, "utf8"),
    agentJid: env.accounts.agent.jid,
    io,
    ...(options.interactive ? { input: process.stdin } : {}),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
  const interrupted = new Promise<number>((resolve) => {
    if (io.signal?.aborted) resolve(0);
    io.signal?.addEventListener("abort", () => resolve(0), { once: true });
  });
  const code = await Promise.race([owner.done, interrupted]);
  try {
    // The agent leaves first, while the console still listens: its unavailable presence shows.
    await env.stopAgent();
    await owner.agentGone(2_000);
  } finally {
    await owner.stop();
  }
  return code;
}
