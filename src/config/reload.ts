/**
 * What a configuration reload (SIGHUP) can change in a running agent, pure: who may command it
 * (`access.allow`), who gets telemetry (`telemetry.subscribers`) and the log level take effect at
 * once; anything else is reported as needing a restart, and left as it was.
 */
import type { AgentConfig } from "./schema.js";

export const RELOADABLE = ["access.allow", "telemetry.subscribers", "log.level"] as const;
export type Reloadable = (typeof RELOADABLE)[number];

export interface ReloadPlan {
  /** Changed and applied now. */
  apply: Reloadable[];
  /** Changed, but only a restart makes them take effect (dotted paths). */
  restart: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Keys of `a` and `b` that differ, as dotted paths, down to `depth` levels. */
function changed(a: unknown, b: unknown, path: string, depth: number): string[] {
  if (same(a, b)) return [];
  const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (depth === 0 || !isObject(a) || !isObject(b)) return [path];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])];
  return keys.flatMap((k) => changed(ra[k], rb[k], path ? `${path}.${k}` : k, depth - 1));
}

export function planReload(current: AgentConfig, next: AgentConfig): ReloadPlan {
  const differences = changed(current, next, "", 2);
  const reloadable = new Set<string>(RELOADABLE);
  return {
    apply: differences.filter((d): d is Reloadable => reloadable.has(d)),
    restart: differences.filter((d) => !reloadable.has(d)),
  };
}

/** What is in force after a reload: the old configuration with the applied parts of the new one. */
export function configInForce(
  current: AgentConfig,
  next: AgentConfig,
  plan: ReloadPlan,
): AgentConfig {
  const applied = (path: Reloadable) => plan.apply.includes(path);
  return {
    ...current,
    access: {
      ...current.access,
      allow: applied("access.allow") ? next.access.allow : current.access.allow,
    },
    telemetry: {
      ...current.telemetry,
      subscribers: applied("telemetry.subscribers")
        ? next.telemetry.subscribers
        : current.telemetry.subscribers,
    },
    log: applied("log.level") ? next.log : current.log,
  };
}
