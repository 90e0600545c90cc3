/**
 * What the agent says about itself: XEP-0030 service discovery (identity and features), the
 * XEP-0115 entity-capabilities hash it puts in presence so clients need not ask, and XEP-0092
 * software version. Pure builders; the IQ handlers that use them are in iq-handlers.ts.
 */
import { createHash } from "node:crypto";
import { xml, type Element } from "./client.js";

export const DISCO_INFO_NS = "http://jabber.org/protocol/disco#info";
export const DISCO_ITEMS_NS = "http://jabber.org/protocol/disco#items";
export const CAPS_NS = "http://jabber.org/protocol/caps";
export const VERSION_NS = "jabber:iq:version";
export const PING_NS = "urn:xmpp:ping";

/** The `node` of our XEP-0115 `<c/>`: a URI naming the software. */
export const CAPS_NODE = "https://github.com/xmpp-iot-agent/xmpp-iot-agent";

export interface Identity {
  category: string;
  type: string;
  name: string;
  lang?: string;
}

/** A device agent answering people and programs: a client of the automated kind (XEP-0030 registry). */
export const AGENT_IDENTITY: Identity = { category: "client", type: "bot", name: "xmpp-iot-agent" };

/** Every feature the agent implements; disco#info and the caps hash are built from this one list. */
export const AGENT_FEATURES: readonly string[] = [
  DISCO_INFO_NS,
  DISCO_ITEMS_NS,
  CAPS_NS,
  VERSION_NS,
  PING_NS,
  "urn:xmpp:receipts",
  "urn:xmpp:reply:0",
  "urn:xmpp:iot:sensordata",
  "urn:xmpp:iot:control",
  "http://jabber.org/protocol/commands",
  "jabber:x:data",
];

export interface Capabilities {
  identities: readonly Identity[];
  features: readonly string[];
}

export const AGENT_CAPABILITIES: Capabilities = {
  identities: [AGENT_IDENTITY],
  features: AGENT_FEATURES,
};

/** XEP-0030 §3.1 result payload: `<query>` with identities and features. */
export function discoInfo(caps: Capabilities, node?: string): Element {
  return xml(
    "query",
    { xmlns: DISCO_INFO_NS, ...(node === undefined ? {} : { node }) },
    ...caps.identities.map((i) =>
      xml("identity", {
        category: i.category,
        type: i.type,
        name: i.name,
        ...(i.lang ? { "xml:lang": i.lang } : {}),
      }),
    ),
    ...[...new Set(caps.features)].map((f) => xml("feature", { var: f })),
  );
}

/** XEP-0030 §4 result payload; `items` are JID/node/name triples. */
export function discoItems(
  items: ReadonlyArray<{ jid: string; node?: string; name?: string }>,
  node?: string,
): Element {
  return xml(
    "query",
    { xmlns: DISCO_ITEMS_NS, ...(node === undefined ? {} : { node }) },
    ...items.map((i) => xml("item", { ...i })),
  );
}

/**
 * XEP-0115 §5.1 verification string: identities sorted by category/type/lang, then features
 * sorted, each followed by '<'. (No extended data forms here.)
 */
export function capsVerificationString(caps: Capabilities): string {
  const identities = caps.identities
    .map((i) => `${i.category}/${i.type}/${i.lang ?? ""}/${i.name}`)
    .sort(octetOrder);
  const features = [...new Set(caps.features)].sort(octetOrder);
  return [...identities, ...features].map((s) => `${s}<`).join("");
}

/** The `ver` attribute: base64 of the SHA-1 of the verification string. */
export function capsHash(caps: Capabilities): string {
  return createHash("sha1").update(capsVerificationString(caps), "utf8").digest("base64");
}

/** The `<c/>` to put in every presence the agent sends. */
export function capsElement(caps: Capabilities = AGENT_CAPABILITIES): Element {
  return xml("c", { xmlns: CAPS_NS, hash: "sha-1", node: CAPS_NODE, ver: capsHash(caps) });
}

/** XEP-0092 result payload. The OS is left out: it helps an attacker more than a user. */
export function versionResult(name: string, version: string): Element {
  return xml("query", { xmlns: VERSION_NS }, xml("name", {}, name), xml("version", {}, version));
}

/** XEP-0115 §5.1 orders by "i;octet" collation: compare UTF-8 bytes, not UTF-16 units. */
function octetOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
