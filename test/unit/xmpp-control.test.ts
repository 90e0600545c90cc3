/** XEP-0325 control payloads (src/xmpp/control.ts). */
import { describe, expect, it } from "vitest";
import { xml } from "../../src/xmpp/client.js";
import { CONTROL_NS, parseControlSet, setResponse } from "../../src/xmpp/control.js";
import { replaceEchoedPayload } from "../../src/xmpp/iq-handlers.js";

const set = (...children: ReturnType<typeof xml>[]) =>
  xml("set", { xmlns: CONTROL_NS }, ...children);

describe("parseControlSet", () => {
  it("reads nodes and typed parameters in order", () => {
    const parsed = parseControlSet(
      set(
        xml("node", { nodeId: "envnode-01" }),
        xml("boolean", { name: "relay", value: "true" }),
        xml("string", { name: "led", value: "blink" }),
        xml("double", { name: "fan", value: "0.5" }),
      ),
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        nodes: ["envnode-01"],
        parameters: [
          { name: "relay", type: "boolean", value: "true" },
          { name: "led", type: "string", value: "blink" },
          { name: "fan", type: "double", value: "0.5" },
        ],
      },
    });
  });

  it.each([
    ["nothing to set", set()],
    ["needs a name and a value", set(xml("boolean", { name: "relay" }))],
    ["node without nodeId", set(xml("node", {}), xml("int", { name: "a", value: "1" }))],
    ["unknown element <script>", set(xml("script", {}))],
    ["data form", set(xml("x", { xmlns: "jabber:x:data" }))],
  ])("refuses a set with %s", (text, element) => {
    const parsed = parseControlSet(element);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.text).toContain(text);
  });
});

describe("setResponse", () => {
  it("is bare on success", () => {
    expect(setResponse("OK").toString()).toBe(
      `<setResponse xmlns="${CONTROL_NS}" responseCode="OK"/>`,
    );
  });

  it("names the node or parameter that failed, and why", () => {
    const response = setResponse("NotFound", { parameter: "valve", text: "unknown actuator" });
    expect(response.getChild("parameter")?.attrs.name).toBe("valve");
    expect(response.getChild("error")?.attrs.var).toBe("valve");
    expect(response.getChildText("error")).toBe("unknown actuator");
  });

  it("takes the place of the request xmpp.js echoes into an error reply", () => {
    const request = set(xml("boolean", { name: "valve", value: "true" }));
    const iq = xml("iq", { type: "set" }, request);
    replaceEchoedPayload({ element: request }, setResponse("NotFound", { text: "no" }));
    expect(iq.getChild("setResponse", CONTROL_NS)?.attrs.responseCode).toBe("NotFound");
    expect(iq.getChild("set")).toBeUndefined();
  });
});
