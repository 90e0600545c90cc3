import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createSystemdNotifier,
  execHelper,
  SystemdNotifyError,
  watchdogInterval,
  type Exec,
} from "../../src/health/systemd-notify.js";

const PID = 4242;

function recorder(fail = false) {
  const calls: string[][] = [];
  const exec: Exec = (file, args) => {
    calls.push([file, ...args]);
    return fail ? Promise.reject(new SystemdNotifyError("no helper")) : Promise.resolve();
  };
  return { calls, exec, sent: () => calls.map((c) => c[c.length - 1]) };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("systemd notifier", () => {
  it("does nothing outside systemd", async () => {
    const r = recorder();
    const n = createSystemdNotifier({ env: {}, exec: r.exec, pid: PID });
    await n.ready();
    await vi.advanceTimersByTimeAsync(60_000);
    await n.stopping();
    expect(n.enabled).toBe(false);
    expect(r.calls).toEqual([]);
  });

  it("sends READY=1 once, WATCHDOG=1 every half period, STOPPING=1, then nothing", async () => {
    const r = recorder();
    const env = { NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "30000000" };
    const n = createSystemdNotifier({ env, exec: r.exec, pid: PID });
    expect(n.watchdogIntervalMs).toBe(15_000);
    await n.ready();
    await n.ready();
    expect(r.calls).toEqual([["systemd-notify", `--pid=${PID}`, "READY=1"]]);
    await vi.advanceTimersByTimeAsync(14_999);
    expect(r.sent()).toEqual(["READY=1"]);
    await vi.advanceTimersByTimeAsync(30_001);
    expect(r.sent()).toEqual(["READY=1", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]);
    await n.stopping();
    await n.stopping();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.sent()).toEqual(["READY=1", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]);
  });

  it("sends no pings without a watchdog, or one meant for another process", async () => {
    for (const extra of [{}, { WATCHDOG_USEC: "2000000", WATCHDOG_PID: String(PID + 1) }]) {
      const r = recorder();
      const env = { NOTIFY_SOCKET: "@notify", ...extra };
      const n = createSystemdNotifier({ env, exec: r.exec, pid: PID });
      await n.ready();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(r.sent()).toEqual(["READY=1"]);
      await n.stopping();
    }
  });

  it("a stop before ready sends STOPPING=1 and no READY=1", async () => {
    const r = recorder();
    const env = { NOTIFY_SOCKET: "@notify", WATCHDOG_USEC: "1000000" };
    const n = createSystemdNotifier({ env, exec: r.exec, pid: PID });
    await n.stopping();
    await n.ready();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(r.sent()).toEqual(["STOPPING=1"]);
  });

  it("logs a failed notification and carries on", async () => {
    const r = recorder(true);
    const warnings: string[] = [];
    const log = { warn: (_o: object, message: string) => void warnings.push(message) };
    const env = { NOTIFY_SOCKET: "@notify", WATCHDOG_USEC: "1000000" };
    const n = createSystemdNotifier({ env, exec: r.exec, pid: PID, log });
    await n.ready();
    await vi.advanceTimersByTimeAsync(500);
    expect(warnings).toEqual([
      "systemd notification READY=1 not sent",
      "systemd notification WATCHDOG=1 not sent",
    ]);
    await n.stopping();
  });
});

describe("watchdogInterval", () => {
  it.each([
    [{ WATCHDOG_USEC: "30000000" }, 15_000],
    [{ WATCHDOG_USEC: "1000" }, 1],
    [{ WATCHDOG_USEC: "30000000", WATCHDOG_PID: String(PID) }, 15_000],
    [{ WATCHDOG_USEC: "0" }, undefined],
    [{ WATCHDOG_USEC: "soon" }, undefined],
    [{}, undefined],
  ])("%j gives %s ms", (env, expected) => {
    expect(watchdogInterval(env, PID)).toBe(expected);
  });
});

describe("execHelper", () => {
  it("says which command failed and why", async () => {
    vi.useRealTimers();
    const missing = execHelper("/nonexistent/systemd-notify", ["--pid=1", "READY=1"]);
    await expect(missing).rejects.toThrow(SystemdNotifyError);
    await expect(missing).rejects.toThrow(
      /\/nonexistent\/systemd-notify --pid=1 READY=1 failed: .*ENOENT/,
    );
  });
});
