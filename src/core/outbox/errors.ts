/**
 * Typed outbox errors. I/O errors carry the file and, where one applies, the byte offset, so a
 * log line says which segment failed and where without the caller having to guess.
 */

export class OutboxError extends Error {
  override readonly name: string = "OutboxError";
}

/** A filesystem operation failed; `cause` is the underlying Node error. */
export class OutboxIoError extends OutboxError {
  override readonly name = "OutboxIoError";

  constructor(
    readonly op: string,
    readonly file: string,
    readonly offset: number | undefined,
    cause: unknown,
  ) {
    const where = offset === undefined ? file : `${file} at offset ${offset}`;
    super(`outbox ${op} failed: ${where}: ${describe(cause)}`, { cause });
  }
}

/** The outbox was closed; appends after close() are refused rather than silently lost. */
export class OutboxClosedError extends OutboxError {
  override readonly name = "OutboxClosedError";

  constructor(op: string) {
    super(`outbox is closed: cannot ${op}`);
  }
}

/** The caller asked for something the outbox cannot do (unknown sink, bad option, …). */
export class OutboxUsageError extends OutboxError {
  override readonly name = "OutboxUsageError";
}

/** Errors that reach the caller are OutboxErrors; anything else is wrapped, kept as cause. */
export function toOutboxError(cause: unknown): OutboxError {
  if (cause instanceof OutboxError) return cause;
  return new OutboxError(`outbox storage failed: ${describe(cause)}`, { cause });
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
