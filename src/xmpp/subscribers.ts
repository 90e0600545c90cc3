/**
 * Who receives telemetry messages: bare JIDs listed in the configuration (machines and dashboards,
 * sent `normal` messages) and allow-listed people who typed `subscribe` (sent `chat` messages, so
 * their client shows them in the conversation). Chat subscriptions are saved at each change (by
 * the injected `save`), and a change counts only once saved, so a restart keeps them.
 */
import type { AccessList } from "../core/access.js";
import type { SubscriptionStore } from "../core/commands.js";
import type { Logger } from "../core/logger.js";
import type { TelemetryType } from "./stanzas.js";

export interface Recipient {
  jid: string;
  type: TelemetryType;
}

export interface SubscribersOptions {
  /** Chat subscriptions saved by an earlier run. */
  chat?: readonly string[];
  /** Makes the chat subscriptions durable; a rejection undoes the change it was saving. */
  save?: (jids: readonly string[]) => Promise<void>;
  /** The recipients changed (someone subscribed, or the configured list did). */
  changed?: () => void;
}

export class Subscribers implements SubscriptionStore {
  private configured: ReadonlySet<string>;
  private readonly byChat: Set<string>;
  /** Saves one after the other, so an older list never lands on disk after a newer one. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    configured: readonly string[],
    private readonly options: SubscribersOptions = {},
  ) {
    this.configured = new Set(configured);
    this.byChat = new Set(options.chat);
  }

  /** The configured subscribers changed (a configuration reload); chat subscriptions stay. */
  setConfigured(jids: readonly string[]): void {
    this.configured = new Set(jids);
    this.options.changed?.();
  }

  async add(jid: string): Promise<boolean> {
    if (this.has(jid)) return false;
    this.byChat.add(jid);
    await this.saveOrUndo(() => this.byChat.delete(jid));
    this.options.changed?.();
    return true;
  }

  /** Configured subscribers cannot unsubscribe by chat: the operator put them there. */
  async remove(jid: string): Promise<boolean> {
    if (!this.byChat.delete(jid)) return false;
    await this.saveOrUndo(() => this.byChat.add(jid));
    return true;
  }

  /** Drops the chat subscriptions of those `allowed` says no to (e.g. gone from the allow-list). */
  async retainChat(allowed: (jid: string) => boolean): Promise<string[]> {
    const gone = [...this.byChat].filter((jid) => !allowed(jid));
    if (gone.length === 0) return [];
    for (const jid of gone) this.byChat.delete(jid);
    await this.saveOrUndo(() => undefined);
    return gone;
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

  private async saveOrUndo(undo: () => void): Promise<void> {
    const save = this.options.save;
    if (!save) return;
    // The list as it is when its turn comes, so the last save always writes the latest state.
    const saved = this.saving.then(() => save([...this.byChat]));
    this.saving = saved.catch(() => undefined);
    try {
      await saved;
    } catch (error) {
      undo();
      throw error;
    }
  }
}

/** A chat subscription lasts as long as its JID's place on the allow-list, across restarts too. */
export async function endDisallowedSubscriptions(
  subscribers: Subscribers,
  access: AccessList,
  log: Logger,
): Promise<void> {
  try {
    const gone = await subscribers.retainChat((jid) => access.roleOf(jid) !== undefined);
    if (gone.length > 0) log.info({ jids: gone }, "chat subscriptions ended: not on access.allow");
  } catch (error) {
    log.warn({ err: error }, `chat subscriptions not saved: ${(error as Error).message}`);
  }
}
