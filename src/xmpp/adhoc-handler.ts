/**
 * Runs XEP-0050 ad-hoc commands (steps in adhoc.ts) with the chat commands' rules: strangers
 * are refused, each role sees and runs only its commands, starts are rate-limited, and every
 * run is audit-logged. Sessions of multi-stage commands live in memory, few and short-lived.
 */
import { randomUUID } from "node:crypto";
import { AccessList, type Role } from "../core/access.js";
import type { AuditLog } from "../core/audit.js";
import { COMMAND_SUMMARY, REQUIRED_ROLE, executeCommand, isVerb } from "../core/commands.js";
import type { Command, CommandContext, DeviceControl, Verb } from "../core/commands.js";
import { bareJid } from "../core/jid.js";
import type { RateLimiter } from "../core/rate-limit.js";
import { xml, type Element, type XmppClient } from "./client.js";
import { COMMANDS_NS, firstStep, nextStep, type Stage, type Step } from "./adhoc.js";
import { DATA_FORMS_NS, readSubmission } from "./forms.js";
import { iqError, iqPayload, iqSender } from "./iq-handlers.js";

const MAX_SESSIONS = 50;
const SESSION_TTL_MS = 5 * 60_000;

export interface AdhocDeps {
  access: AccessList;
  audit: AuditLog;
  limiter: RateLimiter;
  device: DeviceControl;
  context: (sender: string, role: Role) => CommandContext;
  now: () => number;
}

interface Session {
  owner: string;
  node: Verb;
  stage: Stage;
  expires: number;
}

export class AdhocCommands {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly deps: AdhocDeps) {}

  register(client: XmppClient): void {
    client.iqCallee.set(COMMANDS_NS, "command", (ctx) => this.handle(ctx));
  }

  /** Command nodes `from` may run, for disco#items on the commands node. */
  commandsFor(from: string): Array<{ node: string; name: string }> {
    const sender = bareJid(from);
    const role = sender === undefined ? undefined : this.deps.access.roleOf(sender);
    if (role === undefined) return [];
    return (Object.keys(REQUIRED_ROLE) as Verb[])
      .filter((verb) => AccessList.allows(role, REQUIRED_ROLE[verb]))
      .map((verb) => ({ node: verb, name: COMMAND_SUMMARY[verb] }));
  }

  private async handle(ctx: object): Promise<Element> {
    const command = iqPayload(ctx);
    const { from, sender, role } = iqSender(ctx, this.deps.access);
    const node = String(command?.attrs.node ?? "");
    const record = { sender: from, transport: "adhoc" as const, command: node };
    if (sender === undefined || role === undefined) {
      this.deps.audit.commandRefused({ ...record, role, reason: "stranger" });
      return iqError("auth", "forbidden");
    }
    if (!isVerb(node)) return iqError("cancel", "item-not-found");
    if (!AccessList.allows(role, REQUIRED_ROLE[node])) {
      this.deps.audit.commandRefused({ ...record, role, reason: "forbidden" });
      return iqError("auth", "forbidden");
    }
    this.expire();
    const action = String(command?.attrs.action ?? "execute");
    const id = command?.attrs.sessionid as string | undefined;
    if (id === undefined) {
      if (action !== "execute") return commandError("bad-action");
      if (!this.deps.limiter.take(sender).ok) {
        this.deps.audit.commandRefused({ ...record, role, reason: "rate-limited" });
        return iqError("wait", "resource-constraint");
      }
      return this.answer(
        node,
        randomUUID(),
        firstStep(node, this.deps.device.description),
        from,
        role,
      );
    }
    const session = this.sessions.get(id);
    if (!session || session.owner !== from || session.node !== node)
      return commandError("bad-sessionid");
    this.sessions.delete(id);
    if (action === "cancel")
      return xml("command", { xmlns: COMMANDS_NS, node, sessionid: id, status: "canceled" });
    if (!["execute", "next", "complete"].includes(action)) return commandError("bad-action");
    const submitted = readSubmission(command?.getChild("x", DATA_FORMS_NS));
    const step: Step = submitted.ok
      ? nextStep(session.stage, submitted.values, this.deps.device.description)
      : { kind: "error", text: submitted.text };
    return this.answer(node, id, step, from, role);
  }

  private async answer(
    node: Verb,
    id: string,
    step: Step,
    from: string,
    role: Role,
  ): Promise<Element> {
    const attrs = { xmlns: COMMANDS_NS, node, sessionid: id };
    if (step.kind === "form") {
      this.remember(id, {
        owner: from,
        node,
        stage: step.stage,
        expires: this.deps.now() + SESSION_TTL_MS,
      });
      const [first = "complete"] = step.actions;
      const actions = xml("actions", { execute: first }, ...step.actions.map((a) => xml(a)));
      return xml("command", { ...attrs, status: "executing" }, actions, step.form);
    }
    const note =
      step.kind === "error"
        ? { ok: false, text: step.text }
        : await this.run(step.command, from, role);
    return xml(
      "command",
      { ...attrs, status: "completed" },
      xml("note", { type: note.ok ? "info" : "error" }, note.text),
    );
  }

  private async run(
    command: Command,
    from: string,
    role: Role,
  ): Promise<{ ok: boolean; text: string }> {
    const text = command.verb === "set" ? `set ${command.actuator} ${command.value}` : command.verb;
    const record = { sender: from, transport: "adhoc" as const, command: text, role };
    this.deps.audit.commandAccepted(record);
    const started = this.deps.now();
    const reply = await executeCommand(command, this.deps.context(bareJid(from) ?? from, role));
    const durationMs = this.deps.now() - started;
    this.deps.audit.commandDone({ ...record, ok: reply.ok, outcome: reply.text, durationMs });
    return reply;
  }

  private remember(id: string, session: Session): void {
    this.sessions.set(id, session);
    // Oldest first out: a client that opens forms and walks away cannot grow this without bound.
    for (const old of this.sessions.keys()) {
      if (this.sessions.size <= MAX_SESSIONS) break;
      this.sessions.delete(old);
    }
  }

  private expire(): void {
    const now = this.deps.now();
    for (const [id, s] of this.sessions) if (s.expires < now) this.sessions.delete(id);
  }
}

/** XEP-0050 §4.6: bad-request with the commands namespace's specific condition. */
function commandError(condition: "bad-action" | "bad-sessionid"): Element {
  const error = iqError("modify", "bad-request");
  error.append(xml(condition, { xmlns: COMMANDS_NS }));
  return error;
}
