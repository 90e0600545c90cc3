/**
 * Audit trail of commands: who asked for what, in which role, and how it ended. Records are
 * built from named fields only — never from a message or an options object — so a chat body
 * beyond the command, a password or a token cannot end up in the log by accident.
 */
import type { Role } from "./access.js";
import { bareJid } from "./jid.js";

/** The subset of a pino logger this needs. */
export interface AuditLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export type Transport = "chat" | "adhoc" | "sensordata" | "control" | "mqtt";

export type RefusalReason = "stranger" | "forbidden" | "invalid" | "rate-limited";

export interface CommandRecord {
  /** Full or bare JID; only the normalized bare JID is logged. */
  sender: string;
  transport: Transport;
  /** The command as received. */
  command: string;
  role: Role;
}

export interface RefusalRecord extends Omit<CommandRecord, "role"> {
  role: Role | undefined;
  reason: RefusalReason;
  /** Why, for the log reader (e.g. the parser's error). */
  detail?: string;
}

/** How many commands ended which way, per transport (refusals also per reason). */
export interface CommandCount {
  transport: Transport;
  result: "done" | "failed" | "refused";
  reason?: RefusalReason;
  count: number;
}

export interface OutcomeRecord extends CommandRecord {
  ok: boolean;
  /** The reply sent, as a short description of the outcome. */
  outcome: string;
  durationMs?: number;
}

/** Longest command text kept; parseCommand refuses anything longer anyway. */
const MAX_COMMAND_CHARS = 200;
const MAX_WORD_CHARS = 32;
const MAX_OUTCOME_CHARS = 300;

export class AuditLog {
  readonly #counts = new Map<string, CommandCount>();

  constructor(private readonly logger: AuditLogger) {}

  /** Every command that ended so far, for the metrics and the admins' `stats`. */
  counts(): CommandCount[] {
    return [...this.#counts.values()].map((c) => ({ ...c }));
  }

  commandAccepted(r: CommandRecord): void {
    this.logger.info(this.base("accepted", r, commandText(r.command)), "command accepted");
  }

  /**
   * A command not run. For strangers and unparsable text only the first word is kept: such a
   * message may be ordinary chat rather than a command, and its body is not ours to log.
   */
  commandRefused(r: RefusalRecord): void {
    const keepWhole = r.reason === "forbidden" || r.reason === "rate-limited";
    const command = keepWhole ? commandText(r.command) : firstWord(r.command);
    const record = { ...this.base("refused", r, command), reason: r.reason };
    const detail = r.detail === undefined ? {} : { detail: clip(r.detail, MAX_OUTCOME_CHARS) };
    this.logger.warn({ ...record, ...detail }, `command refused: ${r.reason}`);
    this.#count({ transport: r.transport, result: "refused", reason: r.reason });
  }

  commandDone(r: OutcomeRecord): void {
    const record = {
      ...this.base("done", r, commandText(r.command)),
      ok: r.ok,
      outcome: clip(r.outcome, MAX_OUTCOME_CHARS),
      ...(r.durationMs !== undefined && { durationMs: Math.round(r.durationMs) }),
    };
    if (r.ok) this.logger.info(record, "command done");
    else this.logger.warn(record, "command failed");
    this.#count({ transport: r.transport, result: r.ok ? "done" : "failed" });
  }

  #count(key: Omit<CommandCount, "count">): void {
    const id = `${key.transport} ${key.result} ${key.reason ?? ""}`;
    const entry = this.#counts.get(id) ?? { ...key, count: 0 };
    entry.count += 1;
    this.#counts.set(id, entry);
  }

  private base(
    event: string,
    r: { sender: string; transport: Transport; role: Role | undefined },
    command: string,
  ): Record<string, unknown> {
    return {
      audit: "command",
      event,
      // An unparsable sender is attacker-controlled text of any length: keep none of it. MQTT
      // has no sender identity; its "sender" is the topic the command came on.
      sender:
        r.transport === "mqtt"
          ? clip(r.sender, MAX_OUTCOME_CHARS)
          : (bareJid(r.sender) ?? "(invalid JID)"),
      transport: r.transport,
      role: r.role ?? "none",
      command,
    };
  }
}

function commandText(text: string): string {
  return clip(text.trim(), MAX_COMMAND_CHARS);
}

function firstWord(text: string): string {
  return clip(text.trim().split(/\s/u, 1)[0] ?? "", MAX_WORD_CHARS);
}

/** Shorten and make control characters visible, so one record stays one log line. */
function clip(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const flat = text.replace(/[\u0000-\u001f\u007f]/gu, "\ufffd");
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
