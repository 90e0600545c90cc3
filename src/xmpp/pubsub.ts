/**
 * Telemetry as XEP-0060 PubSub items, pure. Publishing to a node (PEP on the agent's own
 * account, XEP-0163, or a pubsub service) lets the server fan readings out to any number of
 * subscribers, instead of the device's uplink sending one message per recipient. Every publish
 * carries publish-options, so the server creates the node on first use with the access model
 * and item limit configured here, and refuses to publish into a node configured otherwise.
 */
import { xml, type Element } from "./client.js";
import { dataForm } from "./forms.js";
import type { Reading } from "../core/reading.js";
import { readingIdElements, sensorDataFields } from "./sensordata.js";

export const PUBSUB_NS = "http://jabber.org/protocol/pubsub";
export const TELEMETRY_NS = "urn:xmpp-iot-agent:telemetry:1";
const PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";

/** Who may read the node: contacts subscribed to the agent's presence (which the agent grants to
 * the allow-list only), the agent's roster, or JIDs the owner lists (whitelist). Never open. */
export type AccessModel = "presence" | "roster" | "whitelist";

export interface PubSubTarget {
  /** A pubsub service; undefined publishes to PEP on the agent's own account. */
  service?: string;
  node: string;
  accessModel: AccessModel;
  maxItems: number;
}

/** One item per delivery: the XEP-0323 fields and the reading identities, under one element. */
export function telemetryItem(readings: Reading[]): Element {
  return xml(
    "telemetry",
    { xmlns: TELEMETRY_NS },
    sensorDataFields(readings, { done: true }),
    ...readingIdElements(readings),
  );
}

/**
 * Item ids are the first reading's identity, so a resend after an unconfirmed publish replaces
 * the item instead of adding a duplicate.
 */
export function itemId(readings: Reading[]): string {
  const first = readings[0];
  if (!first) throw new RangeError("an item needs at least one reading");
  return `${first.device}-${first.boot}-${first.seq}`;
}

export function publishIq(target: PubSubTarget, id: string, payload: Element): Element {
  const options = dataForm("submit", [
    { var: "FORM_TYPE", type: "hidden", value: PUBLISH_OPTIONS },
    { var: "pubsub#access_model", type: "list-single", value: target.accessModel },
    { var: "pubsub#max_items", type: "text-single", value: String(target.maxItems) },
    { var: "pubsub#persist_items", type: "boolean", value: "true" },
  ]);
  return xml(
    "iq",
    { type: "set", ...(target.service ? { to: target.service } : {}) },
    xml(
      "pubsub",
      { xmlns: PUBSUB_NS },
      xml("publish", { node: target.node }, xml("item", { id }, payload)),
      xml("publish-options", {}, options),
    ),
  );
}
