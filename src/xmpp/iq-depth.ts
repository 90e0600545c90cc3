/**
 * A bound on how deeply an IQ's payload may nest. xmpp.js parses without recursion, but it echoes
 * a request's payload into its error replies and serializes with ltx's recursive toString(),
 * which overflows the stack near 10,000 levels; Prosody passes such a stanza (its limit is size,
 * not depth), so the reply would never go out. No request the agent serves nests beyond a
 * dozen levels: deeper ones are refused before any handler, with nothing echoed.
 */
import type { Middleware } from "@xmpp/middleware";
import type { Client } from "@xmpp/client-core";
import { xml } from "@xmpp/client-core";
import type { Element } from "@xmpp/xml";
import { errorElement } from "./stanzas.js";

export const MAX_IQ_DEPTH = 32;

/** Levels of elements below `element` (0 for an empty one), counted without recursion. */
export function elementDepth(element: Element, stopAt = Infinity): number {
  let deepest = 0;
  const stack: Array<[Element, number]> = [[element, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    deepest = Math.max(deepest, depth);
    if (deepest > stopAt) return deepest;
    for (const child of node.getChildElements()) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Registers the bound; must come before the IQ callee so that it sees requests first. */
export function useIqDepthLimit(mw: Middleware<Client>, maxDepth = MAX_IQ_DEPTH): void {
  mw.use((ctx, next) => {
    const stanza: Element = ctx.stanza;
    const { type, from, id } = stanza.attrs as Record<string, string | undefined>;
    if (!stanza.is("iq") || (type !== "get" && type !== "set")) return next();
    if (elementDepth(stanza, maxDepth) <= maxDepth) return next();
    return Promise.resolve(
      xml("iq", { to: from, id, type: "error" }, errorElement("modify", "policy-violation")),
    );
  });
}
