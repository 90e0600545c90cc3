/**
 * What the demo needs from the machine: Prosody (server and prosodyctl for the accounts), openssl
 * (its certificate) and socat (the emulator's virtual serial cable). On a fresh Debian machine
 * they are usually missing, so the demo installs them when it may (root with apt-get) and
 * otherwise prints the one command that does, instead of failing later with a spawn error.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { CliIo } from "../cli/io.js";

/** The commands the demo runs; Debian's prosody package provides the first two. */
const COMMANDS = ["prosody", "prosodyctl", "openssl", "socat"] as const;

/** lua-unbound is only recommended by prosody; without it Prosody warns about DNS at start. */
export const DEMO_PACKAGES = ["prosody", "lua-unbound", "socat", "openssl"] as const;

const APT_INSTALL = ["install", "-y", "--no-install-recommends", ...DEMO_PACKAGES];

export interface PrerequisiteOptions {
  io: CliIo;
  env?: NodeJS.ProcessEnv;
  /** Injected by tests; process.getuid() === 0 otherwise. */
  isRoot?: boolean;
  /** Runs a command with its output forwarded; resolves to its exit code. */
  run?: (command: string, args: string[], io: CliIo) => Promise<number>;
}

/** 0: all there (possibly just installed); 1: installing failed; 2: the user must install. */
export type PrerequisiteStatus = 0 | 1 | 2;

/** The executable `name` on PATH, like `command -v`, or undefined. */
export async function findCommand(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const path = join(dir, name);
    try {
      await access(path, constants.X_OK);
      if ((await stat(path)).isFile()) return path;
    } catch {
      // Not in this directory: keep looking.
    }
  }
  return undefined;
}

export async function missingCommands(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const found = await Promise.all(COMMANDS.map((command) => findCommand(command, env)));
  return COMMANDS.filter((_, i) => found[i] === undefined);
}

function runForwarded(command: string, args: string[], io: CliIo): Promise<number> {
  return new Promise((resolve) => {
    // noninteractive: a debconf question would otherwise wait for an answer nobody sees.
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d: Buffer) => io.err(d.toString()));
    child.stderr.on("data", (d: Buffer) => io.err(d.toString()));
    child.once("error", (e) => (io.err(`${command}: ${e.message}\n`), resolve(127)));
    child.once("close", (code) => resolve(code ?? 1));
  });
}

async function aptInstall(options: PrerequisiteOptions): Promise<PrerequisiteStatus> {
  const { io } = options;
  const run = options.run ?? runForwarded;
  io.err("Running as root, so installing them with apt-get:\n");
  for (const args of [["update"], APT_INSTALL]) {
    io.err(`$ apt-get ${args.join(" ")}\n`);
    const code = await run("apt-get", args, io);
    if (code !== 0) {
      io.err(`iot-agent demo: apt-get ${args[0] ?? ""} failed (exit code ${code})\n`);
      return 1;
    }
  }
  const still = await missingCommands(options.env);
  if (still.length > 0) {
    io.err(`iot-agent demo: still not found after installing: ${still.join(", ")}\n`);
    return 1;
  }
  // Debian enables the system-wide Prosody on install; say so, since the demo never uses it.
  io.err(
    "Installed. Note: the prosody package also sets up a system-wide Prosody service on port " +
      "5222;\nthe demo runs its own private one and does not use it " +
      "(`systemctl disable --now prosody` turns it off).\n\n",
  );
  return 0;
}

/** Makes sure the demo's commands exist, installing them when allowed; says what it does. */
export async function ensurePrerequisites(
  options: PrerequisiteOptions,
): Promise<PrerequisiteStatus> {
  const { io, env = process.env } = options;
  const missing = await missingCommands(env);
  if (missing.length === 0) return 0;
  io.err(`The demo needs these commands, which are not on PATH: ${missing.join(", ")}.\n`);
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const apt = await findCommand("apt-get", env);
  if (isRoot && apt) return aptInstall(options);
  if (!apt) {
    io.err(
      `Install them with your system's package manager (Debian: ${DEMO_PACKAGES.join(" ")}),` +
        " then run `npm run demo` again.\n",
    );
    return 2;
  }
  io.err(
    "Install them (as root), then run `npm run demo` again:\n\n" +
      `  sudo apt-get update && sudo apt-get ${APT_INSTALL.join(" ")}\n\n`,
  );
  return 2;
}
