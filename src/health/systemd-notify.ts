/**
 * The systemd notification protocol (sd_notify) for a `Type=notify` unit with a watchdog:
 * READY=1 once the agent runs, WATCHDOG=1 at half the watchdog period while it does, STOPPING=1
 * when it stops. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
 *
 * Node has no AF_UNIX datagram sockets, which the protocol uses, so each notification runs
 * systemd's own `systemd-notify` binary, through execFile: no shell, and the arguments are fixed
 * here, never taken from input. systemd-notify (systemd 246 and later) waits until the service
 * manager has taken the message, so the message is attributed to the unit even though the helper
 * process is short-lived; `--pid` names this process as the one the message speaks for.
 */
import { execFile } from "node:child_process";

export type Exec = (file: string, args: string[]) => Promise<void>;

export interface NotifierLog {
  warn(object: object, message: string): void;
}

export interface SystemdNotifierOptions {
  env?: NodeJS.ProcessEnv;
  /** Runs the helper; injected by tests to record the sequence. */
  exec?: Exec;
  pid?: number;
  log?: NotifierLog;
}

export interface SystemdNotifier {
  /** Whether systemd asked for notifications (NOTIFY_SOCKET is set). */
  readonly enabled: boolean;
  /** Milliseconds between WATCHDOG=1 pings, or undefined without a watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1 (once), then the watchdog pings. */
  ready(): Promise<void>;
  /** STOPPING=1; the pings end. */
  stopping(): Promise<void>;
}

export class SystemdNotifyError extends Error {
  override name = "SystemdNotifyError";
}

const HELPER = "systemd-notify";
/** A helper that has not returned by then is stuck; the next ping tries again. */
const HELPER_TIMEOUT_MS = 10_000;

export const execHelper: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: HELPER_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const detail = stderr.trim() || error.message;
      reject(new SystemdNotifyError(`${file} ${args.join(" ")} failed: ${detail}`));
    });
  });

/**
 * Half of WATCHDOG_USEC, as sd_watchdog_enabled() advises, when the watchdog is meant for this
 * process (WATCHDOG_PID unset or equal to `pid`).
 */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2 / 1000));
}

export function createSystemdNotifier(options: SystemdNotifierOptions = {}): SystemdNotifier {
  const { env = process.env, exec = execHelper, pid = process.pid, log } = options;
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const intervalMs = enabled ? watchdogInterval(env, pid) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let state: "new" | "ready" | "stopping" = "new";

  const send = async (assignment: string): Promise<void> => {
    try {
      await exec(HELPER, [`--pid=${pid}`, assignment]);
    } catch (error) {
      // A lost notification must not stop the agent; systemd acts on the silence itself.
      log?.warn({ err: error }, `systemd notification ${assignment} not sent`);
    }
  };

  return {
    enabled,
    watchdogIntervalMs: intervalMs,
    async ready() {
      if (!enabled || state !== "new") return;
      state = "ready";
      await send("READY=1");
      if (intervalMs === undefined || state !== "ready") return;
      timer = setInterval(() => void send("WATCHDOG=1"), intervalMs);
      // The pings prove the event loop turns; they must not be what keeps it turning.
      timer.unref();
    },
    async stopping() {
      if (!enabled || state === "stopping") return;
      state = "stopping";
      clearInterval(timer);
      await send("STOPPING=1");
    },
  };
}
