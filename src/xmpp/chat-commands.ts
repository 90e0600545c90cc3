/**
 * Commands by chat: any XMPP client can type `help`, `get temp`, `set relay on`. The sender is
 * identified only by the bare JID the server stamped on the stanza (never by anything in the
 * body), then rate-limited, parsed strictly, authorized by role, executed and audit-logged.
 */
import type { Element } from "@xmpp/xml";
import type { AccessList, Role } from "../core/access.js";
import type { AuditLog } from "../core/audit.js";
import { runGated } from "../core/command-gate.js";
import { parseCommand, type CommandContext, type CommandReply } from "../core/commands.js";
import { bareJid } from "../core/jid.js";
import type { RateLimiter } from "../core/rate-limit.js";
import type { InboundMessage } from "./inbound.js";
import { chatReply, receiptFor, stanzaError } from "./stanzas.js";

export type StrangerPolicy = "error" | "silence";

export interface ChatCommandsDeps {
  send: (stanza: Element) => Promise<void>;
  access: AccessList;
  strangers: StrangerPolicy;
  limiter: RateLimiter;
  audit: AuditLog;
  /** What a command may act on, for this sender and role. */
  context: (sender: string, role: Role) => CommandContext;
  now: () => number;
}

type ChatMessage = Extract<InboundMessage, { kind: "chat" | "oversized" }>;

export class ChatCommands {
  constructor(private readonly deps: ChatCommandsDeps) {}

  /** Handles one classified chat message; `stanza` is the original, for error replies. */
  async handle(message: ChatMessage, stanza: Element): Promise<void> {
    const { access, audit } = this.deps;
    const sender = bareJid(message.from);
    const role = sender === undefined ? undefined : access.roleOf(sender);
    const text = message.kind === "chat" ? message.body : "";
    if (sender === undefined || role === undefined) {
      audit.commandRefused({
        sender: message.from,
        transport: "chat",
        command: text,
        role,
        reason: "stranger",
      });
      if (this.deps.strangers === "error") {
        await this.deps.send(
          stanzaError(stanza, "auth", "forbidden", "you are not allowed to use this device"),
        );
      }
      return;
    }
    if (message.kind === "chat" && message.wantsReceipt) {
      const receipt = receiptFor(stanza);
      if (receipt) await this.deps.send(receipt);
    }
    const reply = await this.answer(message, sender, role);
    await this.deps.send(
      chatReply({
        to: message.from,
        body: reply.text,
        ...(message.thread === undefined ? {} : { thread: message.thread }),
        ...(message.id === undefined ? {} : { inReplyTo: message.id }),
      }),
    );
  }

  private async answer(message: ChatMessage, sender: string, role: Role): Promise<CommandReply> {
    const { audit } = this.deps;
    const base = { sender, transport: "chat" as const, role };
    if (message.kind === "oversized") {
      const detail = `message of ${message.length} characters, limit ${message.limit}`;
      audit.commandRefused({ ...base, command: "", reason: "invalid", detail });
      return {
        ok: false,
        text: `That message is too long (${message.length} characters; commands fit in ${message.limit}).`,
      };
    }
    return runGated(
      { sender, transport: "chat", role, text: message.body, parse: parseCommand },
      this.deps,
    );
  }
}
