/**
 * Answers to the IQs any XMPP entity is expected to answer: XEP-0030 disco#info and disco#items,
 * XEP-0092 software version (ping is answered by the client itself, see client.ts). Registered on
 * each new client (connection.ts `setup`), after stream management's middleware, which must
 * count every stanza the agent handles. Requests for anything else get xmpp.js's `service-unavailable` (RFC 6120 §8.4),
 * malformed ones `bad-request`.
 */
import { AGENT_NAME, AGENT_VERSION } from "../version.js";
import type { Element, XmppClient } from "./client.js";
import { AGENT_CAPABILITIES, CAPS_NODE, capsHash, discoInfo, discoItems } from "./disco.js";
import type { Capabilities } from "./disco.js";
import { DISCO_INFO_NS, DISCO_ITEMS_NS, VERSION_NS, versionResult } from "./disco.js";
import type { AccessList } from "../core/access.js";
import { bareJid } from "../core/jid.js";
import { errorElement, type StanzaErrorCondition, type StanzaErrorType } from "./stanzas.js";
import { COMMANDS_NS } from "./adhoc.js";
import { DATA_FORMS_NS } from "./forms.js";

export interface IqHandlerOptions {
  caps?: Capabilities;
  /** XEP-0050 command nodes the sender may run, listed under the commands node. */
  commands?: (from: string) => ReadonlyArray<{ node: string; name: string }>;
}

/** XEP-0050 §2.2: the list of commands, and each command, as disco nodes. */
const commandList: Capabilities = {
  identities: [{ category: "automation", type: "command-list", name: "Device commands" }],
  features: [],
};
const commandNode = (name: string): Capabilities => ({
  identities: [{ category: "automation", type: "command-node", name }],
  features: [COMMANDS_NS, DATA_FORMS_NS],
});

/** The `<error/>` child xmpp.js turns into an error reply. */
export function iqError(type: StanzaErrorType, condition: StanzaErrorCondition): Element {
  return errorElement(type, condition);
}

/** What xmpp.js hands an IQ route handler; `element` (the payload) is not in the typings. */
interface IqContext {
  stanza: Element;
  element?: Element;
}

/** The request's payload element, e.g. `<req/>` or `<command/>`. */
export function iqPayload(ctx: object): Element | undefined {
  return (ctx as IqContext).element;
}

/** Who sent an IQ: the full JID as stamped by the server, its bare JID and its role, if any. */
export function iqSender(ctx: object, access: AccessList) {
  const from = String((ctx as IqContext).stanza.attrs.from ?? "");
  const sender = bareJid(from);
  const role = sender === undefined ? undefined : access.roleOf(sender);
  return { from, sender, role };
}

export function registerIqHandlers(client: XmppClient, options: IqHandlerOptions = {}): void {
  const caps = options.caps ?? AGENT_CAPABILITIES;
  const capsNode = `${CAPS_NODE}#${capsHash(caps)}`;
  const { iqCallee } = client;
  const commandsOf = (ctx: { stanza: Element }) =>
    options.commands?.(String(ctx.stanza.attrs.from ?? "")) ?? [];
  iqCallee.get(DISCO_INFO_NS, "query", (ctx) => {
    const node = nodeOf(ctx);
    // The caps node (XEP-0115 §6.2) names the same information as no node at all.
    if (node === undefined || node === capsNode) return discoInfo(caps, node);
    if (node === COMMANDS_NS) return discoInfo(commandList, node);
    const command = commandsOf(ctx).find((c) => c.node === node);
    if (command) return discoInfo(commandNode(command.name), node);
    return iqError("cancel", "item-not-found");
  });
  iqCallee.get(DISCO_ITEMS_NS, "query", (ctx) => {
    const node = nodeOf(ctx);
    if (node === undefined) return discoItems([]);
    if (node !== COMMANDS_NS) return iqError("cancel", "item-not-found");
    const own = String(ctx.stanza.attrs.to ?? "");
    return discoItems(
      commandsOf(ctx).map((c) => ({ jid: own, ...c })),
      node,
    );
  });
  iqCallee.get(VERSION_NS, "query", () => versionResult(AGENT_NAME, AGENT_VERSION));
  // XEP-0199 ping is answered by every client createXmppClient builds.
}

/** The `node` of the request's payload. */
function nodeOf(ctx: object): string | undefined {
  const node: unknown = iqPayload(ctx)?.attrs.node;
  return typeof node === "string" ? node : undefined;
}

/**
 * Makes `ctx`'s payload element, which xmpp.js echoes into error replies, read as `replacement`
 * instead: XEP-0323 and XEP-0325 clients look for their own element (`<rejected>`,
 * `<setResponse>`) in an error reply, not for their request.
 */
export function replaceEchoedPayload(ctx: object, replacement: Element): void {
  const echoed = iqPayload(ctx);
  if (!echoed) return;
  echoed.name = replacement.name;
  echoed.attrs = replacement.attrs;
  echoed.children = replacement.children;
}
