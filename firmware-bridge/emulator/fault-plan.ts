/**
 * Recurring faults for long emulator runs (`--fault corrupt:every=50`). Noise-like faults count
 * lines, so they scale with the reading rate; outages count seconds, like the events they model.
 */
import type { DeviceEmulator } from "./emulator.js";

export type FaultPlan =
  | { kind: "corrupt"; everyLines: number; lines: number }
  | { kind: "garbage"; everyLines: number; bytes: number }
  | { kind: "reboot"; afterS: number; everyS?: number; midLine: boolean }
  | { kind: "stall"; everyS: number; ms: number }
  | { kind: "unplug"; everyS: number; ms: number; reboot: boolean };

export class FaultSpecError extends Error {
  override readonly name = "FaultSpecError";
}

export const FAULT_HELP = `Faults (--fault may be repeated):
  corrupt:every=N[,n=K]        alter one byte in K lines (default 1) every N lines sent
  garbage:every=N[,bytes=B]    send B random bytes (default 16) every N lines sent
  reboot:after=S|every=S[,midline=1]   reboot after S seconds, or every S seconds
  stall:every=S[,ms=M]         hang for M ms (default 5000) every S seconds
  unplug:every=S[,ms=M][,reboot=1]     pull the cable for M ms (default 3000) every S seconds`;

type Fields = Map<string, string>;

/** Parses `kind:key=value,...`; errors name the spec and what was expected. */
export function parseFault(spec: string): FaultPlan {
  const [kind = "", rest = ""] = spec.split(/:(.*)/s);
  const fields = parseFields(spec, rest);
  const num = (key: string, fallback?: number): number => positive(spec, fields, key, fallback);
  const count = (key: string, fallback?: number): number => {
    const value = num(key, fallback);
    if (Number.isInteger(value)) return value;
    throw new FaultSpecError(`--fault ${spec}: ${key} must be a whole number, got ${value}`);
  };
  const flag = (key: string): boolean => boolFlag(spec, fields, key);
  switch (kind) {
    case "corrupt":
      return only(spec, fields, ["every", "n"], {
        kind,
        everyLines: count("every"),
        lines: count("n", 1),
      });
    case "garbage":
      return only(spec, fields, ["every", "bytes"], {
        kind,
        everyLines: count("every"),
        bytes: count("bytes", 16),
      });
    case "reboot": {
      const everyS = fields.has("every") ? num("every") : undefined;
      const afterS = num("after", everyS);
      return only(spec, fields, ["after", "every", "midline"], {
        kind,
        afterS,
        everyS,
        midLine: flag("midline"),
      });
    }
    case "stall":
      return only(spec, fields, ["every", "ms"], {
        kind,
        everyS: num("every"),
        ms: num("ms", 5000),
      });
    case "unplug":
      return only(spec, fields, ["every", "ms", "reboot"], {
        kind,
        everyS: num("every"),
        ms: num("ms", 3000),
        reboot: flag("reboot"),
      });
    default:
      throw new FaultSpecError(
        `--fault ${spec}: unknown fault '${kind}'; expected corrupt, garbage, reboot, stall or unplug`,
      );
  }
}

function parseFields(spec: string, rest: string): Fields {
  const fields: Fields = new Map();
  for (const part of rest.split(",").filter(Boolean)) {
    const [key, value] = part.split("=");
    if (!key || value === undefined || value === "") {
      throw new FaultSpecError(`--fault ${spec}: '${part}' is not key=value`);
    }
    fields.set(key, value);
  }
  return fields;
}

function positive(spec: string, fields: Fields, key: string, fallback?: number): number {
  const text = fields.get(key);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw new FaultSpecError(`--fault ${spec}: '${key}=' is required`);
  }
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new FaultSpecError(`--fault ${spec}: ${key} must be a positive number, got '${text}'`);
  }
  return value;
}

function boolFlag(spec: string, fields: Fields, key: string): boolean {
  const text = fields.get(key) ?? "0";
  if (text !== "0" && text !== "1") {
    throw new FaultSpecError(`--fault ${spec}: ${key} must be 0 or 1, got '${text}'`);
  }
  return text === "1";
}

function only<T>(spec: string, fields: Fields, allowed: string[], plan: T): T {
  for (const key of fields.keys()) {
    if (!allowed.includes(key)) {
      throw new FaultSpecError(
        `--fault ${spec}: unknown key '${key}'; expected ${allowed.join(", ")}`,
      );
    }
  }
  return plan;
}

/** Starts every plan against the emulator; returns a function that cancels them all. */
export function scheduleFaults(
  emulator: DeviceEmulator,
  plans: readonly FaultPlan[],
  onError: (error: Error) => void,
): () => void {
  const schedule = new Schedule(onError);
  let lines = 0;
  const lineFaults = plans.filter((p) => p.kind === "corrupt" || p.kind === "garbage");
  const onLine = (): void => {
    lines++;
    for (const plan of lineFaults) {
      if (lines % plan.everyLines !== 0) continue;
      if (plan.kind === "corrupt") emulator.corruptNext(plan.lines);
      else emulator.sendGarbage(plan.bytes);
    }
  };
  if (lineFaults.length > 0) emulator.on("line-sent", onLine);
  for (const plan of plans) {
    const run = timedFault(emulator, plan);
    if (plan.kind === "reboot") schedule.repeat(run, plan.afterS, plan.everyS);
    else if (run && "everyS" in plan) schedule.repeat(run, plan.everyS, plan.everyS);
  }
  return () => {
    emulator.off("line-sent", onLine);
    schedule.cancel();
  };
}

function timedFault(emulator: DeviceEmulator, plan: FaultPlan): (() => Promise<void>) | undefined {
  switch (plan.kind) {
    case "reboot":
      return () => emulator.reboot({ midLine: plan.midLine });
    case "stall":
      return () => emulator.stall(plan.ms);
    case "unplug":
      return () => emulator.unplug(plan.ms, { reboot: plan.reboot });
    default:
      return undefined;
  }
}

class Schedule {
  readonly #timers = new Set<NodeJS.Timeout>();
  #cancelled = false;

  constructor(private readonly onError: (error: Error) => void) {}

  /** Runs after `firstS`, then `everyS` after each run has finished, so runs never overlap. */
  repeat(run: (() => Promise<void>) | undefined, firstS: number, everyS?: number): void {
    if (!run || this.#cancelled) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run()
        .catch((error: unknown) => this.onError(asError(error)))
        .finally(() => {
          if (everyS !== undefined) this.repeat(run, everyS, everyS);
        });
    }, firstS * 1000);
    this.#timers.add(timer);
  }

  cancel(): void {
    this.#cancelled = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
