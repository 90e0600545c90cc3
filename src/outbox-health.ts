/**
 * How a failing outbox is told: the log, the presence status, `stats` and `iot-agent status`
 * use the same words, so an operator can match one to the other.
 */
import { basename } from "node:path";
import type { Logger } from "./core/logger.js";
import type { OutboxFailure, OutboxHealth } from "./core/outbox/index.js";

/** "fdatasync seg-0000000000000001.log: EIO: i/o error, fdatasync" */
export function failureCause(f: Pick<OutboxFailure, "op" | "file" | "error">): string {
  return `${f.op}${f.file ? ` ${basename(f.file)}` : ""}: ${f.error}`;
}

/** "failing since 2025-…Z (fdatasync seg-….log: EIO: i/o error, fdatasync)" */
export function failingSince(f: OutboxFailure): string {
  return `failing since ${new Date(f.since).toISOString()} (${failureCause(f)})`;
}

/** "1 attempt", "3 attempts" */
export const attempts = (n: number) => (n === 1 ? "1 attempt" : `${n} attempts`);

const seconds = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)} s`;

/** "; next attempt in 4.0 s", or nothing when none is due. */
export function nextAttempt(f: OutboxFailure, now: number): string {
  return f.nextAttemptAt === undefined ? "" : `; next attempt in ${seconds(f.nextAttemptAt - now)}`;
}

/**
 * One line when the outbox starts failing, one per failed attempt to reopen it (these back off
 * to one a minute), one on recovery with the count of readings refused meanwhile.
 */
export function logOutboxHealth(log: Logger, health: OutboxHealth, now: number): void {
  const f = health.failure;
  if (!f) return;
  const { op, file, error, refused } = f;
  const fields = { op, file, error, refused, attempts: f.attempts };
  if (health.state === "ok") {
    const failedMs = (f.recoveredAt ?? now) - f.since;
    log.info(
      { ...fields, failedMs },
      `outbox recovered after ${seconds(failedMs)}; ${refused} readings were refused while it was failing`,
    );
  } else if (f.attempts === 0) {
    log.error(
      fields,
      `outbox failing: ${failureCause(f)}; readings are refused until it takes writes again${nextAttempt(f, now)}`,
    );
  } else {
    log.warn(
      fields,
      `outbox still failing after ${attempts(f.attempts)} to reopen it: ${failureCause(f)}${nextAttempt(f, now)}`,
    );
  }
}
