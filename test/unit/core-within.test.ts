import { describe, expect, it } from "vitest";
import { settlesWithin } from "../../src/core/within.js";

const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

describe("settlesWithin", () => {
  it("is true for a promise that resolves in time, false for one that does not", async () => {
    expect(await settlesWithin(after(5, "x"), 1_000)).toBe(true);
    expect(await settlesWithin(after(1_000, "x"), 20)).toBe(false);
  });

  it("passes on a rejection that comes in time", async () => {
    await expect(settlesWithin(Promise.reject(new Error("refused")), 1_000)).rejects.toThrow(
      "refused",
    );
  });

  it("leaves no timer behind once the promise resolved", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    await settlesWithin(Promise.resolve(), 60_000);
    expect(timers()).toBe(before);
  });
});
