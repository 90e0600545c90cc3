/**
 * The one way a text command from a known sender is run, whatever carried it (chat, MQTT): the
 * sender's rate limit, strict parsing, the role check, the audit record, then executeCommand.
 * A transport only says who sent what in which role, and delivers the reply.
 */
import type { Role } from "./access.js";
import type { AuditLog, RefusalReason, Transport } from "./audit.js";
import {
  authorize,
  executeCommand,
  type CommandContext,
  type CommandReply,
  type ParseResult,
} from "./commands.js";
import type { RateLimiter } from "./rate-limit.js";

export interface CommandGateDeps {
  limiter: RateLimiter;
  audit: AuditLog;
  /** What a command may act on, for this sender and role. */
  context: (sender: string, role: Role) => CommandContext;
  now: () => number;
}

export interface GatedCommand {
  /** The rate limit's key and the audit record's sender. */
  sender: string;
  transport: Transport;
  role: Role;
  /** The command as received, for the audit record. */
  text: string;
  /** The transport's parser, run only once the sender is within its rate limit. */
  parse: (text: string) => ParseResult;
}

export interface GateReply extends CommandReply {
  /** Set when the command was not run, and why. */
  refused?: RefusalReason;
}

export async function runGated(request: GatedCommand, deps: CommandGateDeps): Promise<GateReply> {
  const { audit } = deps;
  const { sender, transport, role, text } = request;
  const base = { sender, transport, role, command: text };
  const refuse = (reason: RefusalReason, reply: string, detail?: string): GateReply => {
    audit.commandRefused({ ...base, reason, ...(detail === undefined ? {} : { detail }) });
    return { ok: false, text: reply, refused: reason };
  };
  const limited = deps.limiter.take(sender);
  if (!limited.ok) {
    const seconds = Math.ceil(limited.retryAfterMs / 1000);
    return refuse("rate-limited", `Too many commands; try again in ${seconds} s.`);
  }
  const parsed = request.parse(text);
  if (!parsed.ok) return refuse("invalid", parsed.error, parsed.error);
  const allowed = authorize(parsed.command, role);
  if (!allowed.ok) return refuse("forbidden", allowed.error, allowed.error);
  audit.commandAccepted(base);
  const started = deps.now();
  const reply = await executeCommand(parsed.command, deps.context(sender, role));
  audit.commandDone({
    ...base,
    ok: reply.ok,
    outcome: reply.text,
    durationMs: deps.now() - started,
  });
  return reply;
}
