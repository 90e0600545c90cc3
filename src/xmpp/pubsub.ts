/**
 * Telemetry as XEP-0060 PubSub items, pure. Publishing to a node (PEP on the agent's own
 * account, XEP-0163, or a pubsub service) lets the server fan readings out to any number of
 * subscribers, instead of the device's uplink sending one message per recipient. Every publish
 * carries publish-options, so the server creates the node on first use with the access model
 * and item limit configured here, and refuses to publish into a node configured otherwise.
 */
import { xml, type Element } from "./client.js";
import { dataForm, type FormField } from "./forms.js";
import { IqErrorReply } from "./iq-requests.js";
import type { Reading } from "../core/reading.js";
import { readingIdElements, sensorDataFields } from "./sensordata.js";

export const PUBSUB_NS = "http://jabber.org/protocol/pubsub";
const PUBSUB_ERRORS_NS = "http://jabber.org/protocol/pubsub#errors";
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

/**
 * Which publish-options go with a publish. "access-model" leaves out the item limit and
 * persistence, for a service that refuses those (ejabberd 23.01 answers `pubsub#max_items` with
 * resource-constraint, "Unknown field"); the access model is never left out, so a node is never
 * created readable by more than the configuration says.
 */
export type PublishOptions = "all" | "access-model";

export function publishIq(
  target: PubSubTarget,
  id: string,
  payload: Element,
  which: PublishOptions = "all",
): Element {
  const limits: FormField[] = [
    { var: "pubsub#max_items", type: "text-single", value: String(target.maxItems) },
    { var: "pubsub#persist_items", type: "boolean", value: "true" },
  ];
  const options = dataForm("submit", [
    { var: "FORM_TYPE", type: "hidden", value: PUBLISH_OPTIONS },
    { var: "pubsub#access_model", type: "list-single", value: target.accessModel },
    ...(which === "all" ? limits : []),
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

/**
 * Whether a publish's error may be the service refusing its publish-options: XEP-0060 §7.1.5's
 * precondition-not-met, or a condition services use for an option they do not take. Only a
 * retry with fewer options tells for sure.
 */
export function mayRefuseOptions(error: unknown): boolean {
  if (!(error instanceof IqErrorReply)) return false;
  if (error.element?.getChild("precondition-not-met", PUBSUB_ERRORS_NS)) return true;
  return OPTION_REFUSALS.has(error.condition) || /field|option/i.test(error.text ?? "");
}

const OPTION_REFUSALS = new Set(["resource-constraint", "not-acceptable", "bad-request"]);
