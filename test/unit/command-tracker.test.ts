import { afterEach, describe, expect, it, vi } from "vitest";
import { CommandTracker } from "../../src/device/command-tracker.js";
import {
  CommandInterruptedError,
  CommandRejectedError,
  CommandTimeoutError,
  DeviceBusyError,
} from "../../src/device/errors.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("CommandTracker", () => {
  it("resolves the command whose id the ACK carries, with the device's value", async () => {
    let now = 100;
    const t = new CommandTracker({ now: () => now });
    const a = t.begin("relay", 1000);
    const b = t.begin("led", 1000);
    expect(a.id).not.toBe(b.id);
    now = 130;
    expect(t.ack({ type: "ACK", id: b.id, val: "blink" })).toBe(true);
    await expect(b.answer).resolves.toEqual({
      id: b.id,
      actuator: "led",
      token: "blink",
      latencyMs: 30,
    });
    expect(t.inFlight).toBe(1);
    t.interruptAll("test over");
    await expect(a.answer).rejects.toBeInstanceOf(CommandInterruptedError);
  });

  it("turns a NACK into a rejection that carries the device's reason", async () => {
    const t = new CommandTracker();
    const c = t.begin("led", 1000);
    t.nack({ type: "NACK", id: c.id, reason: "bad_value", msg: "off|on|blink" });
    const error = await c.answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandRejectedError);
    expect((error as CommandRejectedError).reason).toBe("bad_value");
    expect((error as Error).message).toBe("device refused to set led: bad_value (off|on|blink)");
  });

  it("times out, and counts the answer that comes after as late", async () => {
    vi.useFakeTimers();
    const t = new CommandTracker();
    const c = t.begin("relay", 2000);
    const settled = c.answer.catch((e: unknown) => e);
    vi.advanceTimersByTime(2000);
    expect(await settled).toBeInstanceOf(CommandTimeoutError);
    expect(t.ack({ type: "ACK", id: c.id })).toBe(false);
    expect(t.lateAnswers).toBe(1);
  });

  it("refuses more commands than it may have in flight", () => {
    const t = new CommandTracker({ maxInFlight: 2 });
    t.begin("relay", 1000).answer.catch(() => undefined);
    t.begin("relay", 1000).answer.catch(() => undefined);
    expect(() => t.begin("relay", 1000)).toThrow(DeviceBusyError);
    t.interruptAll("test over");
  });
});
