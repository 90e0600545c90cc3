/**
 * Alerts over XMPP: each goes to every operator and admin as a chat message with a XEP-0184
 * receipt request. An alert fires once per threshold crossing, so one raised while XMPP is down
 * waits for the next session instead of being lost.
 */
import type { Element } from "@xmpp/xml";
import type { AccessList } from "../core/access.js";
import type { AlertEvent } from "../core/alerts.js";
import type { Logger } from "../core/logger.js";
import { chatReply, withReceiptRequest } from "./stanzas.js";

/** A flapping sensor during a long outage keeps the newest alerts, not all of them. */
const MAX_WAITING = 100;

export interface AlertSenderDeps {
  connection: { readonly online: boolean; send(stanza: Element): Promise<void> };
  access: AccessList;
  log: Logger;
}

export class AlertSender {
  private counter = 0;
  private readonly waiting: Element[] = [];

  constructor(private readonly deps: AlertSenderDeps) {}

  raise(event: AlertEvent): void {
    this.deps.log.warn({ alert: event.rule, type: event.type, value: event.value }, event.text);
    for (const jid of this.deps.access.withRole("operator")) {
      const id = `alert-${++this.counter}`;
      this.waiting.push(withReceiptRequest(chatReply({ to: jid, id, body: event.text })));
    }
    this.waiting.splice(0, Math.max(0, this.waiting.length - MAX_WAITING));
    if (this.deps.connection.online) this.flush();
  }

  /** Sends what waited; call when the connection comes online. */
  flush(): void {
    for (const stanza of this.waiting.splice(0)) {
      this.deps.connection.send(stanza).catch((e: Error) => {
        this.deps.log.warn({ to: stanza.attrs.to as string }, `alert not sent: ${e.message}`);
      });
    }
  }
}
