/**
 * Who receives telemetry: the subscribers named in the configuration (machines and dashboards,
 * sent `normal` messages) and allow-listed people who typed `subscribe` (sent `chat` messages, so
 * their client shows them in the conversation). Chat subscriptions live as long as the process.
 */
import type { SubscriptionStore } from "../core/commands.js";
import type { TelemetryType } from "./stanzas.js";

export interface Recipient {
  jid: string;
  type: TelemetryType;
}

export class Subscribers implements SubscriptionStore {
  private configured: ReadonlySet<string>;
  private readonly byChat = new Set<string>();

  constructor(configured: readonly string[]) {
    this.configured = new Set(configured);
  }

  /** The configured subscribers changed (a configuration reload); chat subscriptions stay. */
  setConfigured(jids: readonly string[]): void {
    this.configured = new Set(jids);
  }

  add(jid: string): boolean {
    if (this.has(jid)) return false;
    this.byChat.add(jid);
    return true;
  }

  /** Configured subscribers cannot unsubscribe by chat: the operator put them there. */
  remove(jid: string): boolean {
    return this.byChat.delete(jid);
  }

  has(jid: string): boolean {
    return this.configured.has(jid) || this.byChat.has(jid);
  }

  recipients(): Recipient[] {
    return [
      ...[...this.configured].map((jid) => ({ jid, type: "normal" as const })),
      ...[...this.byChat].map((jid) => ({ jid, type: "chat" as const })),
    ];
  }
}
