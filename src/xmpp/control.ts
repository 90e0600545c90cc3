/**
 * XEP-0325 control, pure: parse `<set xmlns='urn:xmpp:iot:control'>` and build `<setResponse>`.
 * The wire format is the one slixmpp and Smack implement:
 *
 *   → <iq type='set'><set><node nodeId='envnode-01'/><boolean name='relay' value='true'/></set></iq>
 *   ← <iq type='result'><setResponse responseCode='OK'/></iq>
 *   ← <iq type='error'><setResponse responseCode='NotFound'><parameter name='x'/>
 *        <error var='x'>…</error></setResponse><error type='cancel'>…</error></iq>
 *
 * XEP-0325 was retracted with XEP-0323; see sensordata.ts.
 */
import { xml, type Element } from "./client.js";

export const CONTROL_NS = "urn:xmpp:iot:control";

/** XEP-0325 parameter elements; every value arrives as text and the device's capability decides. */
const PARAMETER_TYPES = new Set([
  "boolean",
  "int",
  "long",
  "double",
  "string",
  "color",
  "date",
  "dateTime",
  "duration",
  "time",
]);

export type ResponseCode =
  | "OK"
  | "NotFound"
  | "InsufficientPrivileges"
  | "Locked"
  | "NotImplemented"
  | "FormError"
  | "OtherError";

export interface ControlParameter {
  name: string;
  type: string;
  value: string;
}

export interface ControlSet {
  nodes: string[];
  parameters: ControlParameter[];
}

export type ParsedSet = { ok: true; value: ControlSet } | { ok: false; text: string };

export function parseControlSet(set: Element): ParsedSet {
  const nodes: string[] = [];
  const parameters: ControlParameter[] = [];
  for (const child of set.getChildElements()) {
    const { name, value, nodeId } = child.attrs as Record<string, unknown>;
    if (child.name === "node") {
      if (typeof nodeId !== "string" || nodeId === "")
        return { ok: false, text: "node without nodeId" };
      nodes.push(nodeId);
    } else if (PARAMETER_TYPES.has(child.name)) {
      if (typeof name !== "string" || name === "" || typeof value !== "string") {
        return { ok: false, text: `${child.name} needs a name and a value` };
      }
      parameters.push({ name, type: child.name, value });
    } else if (child.name === "form" || child.name === "x") {
      return { ok: false, text: "setting with a data form is not supported" };
    } else {
      return { ok: false, text: `unknown element <${child.name}>` };
    }
  }
  if (parameters.length === 0) return { ok: false, text: "nothing to set" };
  return { ok: true, value: { nodes, parameters } };
}

/** `<setResponse>`; on failure it names the node and the parameter, and says why. */
export function setResponse(
  code: ResponseCode,
  failure?: { nodeId?: string; parameter?: string; text: string },
): Element {
  if (!failure) return xml("setResponse", { xmlns: CONTROL_NS, responseCode: code });
  return xml(
    "setResponse",
    { xmlns: CONTROL_NS, responseCode: code },
    ...(failure.nodeId ? [xml("node", { nodeId: failure.nodeId })] : []),
    ...(failure.parameter ? [xml("parameter", { name: failure.parameter })] : []),
    xml("error", failure.parameter ? { var: failure.parameter } : {}, failure.text),
  );
}
