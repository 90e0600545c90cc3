/** XEP-0050 command steps (src/xmpp/adhoc.ts) and XEP-0004 forms (src/xmpp/forms.ts). */
import { describe, expect, it } from "vitest";
import type { DeviceDescription } from "../../src/core/reading.js";
import { firstStep, nextStep } from "../../src/xmpp/adhoc.js";
import { xml } from "../../src/xmpp/client.js";
import { DATA_FORMS_NS, readSubmission } from "../../src/xmpp/forms.js";

const device: DeviceDescription = {
  id: "envnode-01",
  firmware: "1.0.0",
  boot: "b1",
  protocol: 1,
  sensors: [{ name: "temp", kind: "num", unit: "°C" }],
  actuators: [
    { name: "relay", kind: "bool" },
    { name: "led", kind: "enum", values: ["off", "on", "blink"] },
    { name: "fan", kind: "num", min: 0, max: 100, unit: "%" },
  ],
};

const fieldsOf = (step: ReturnType<typeof firstStep>) =>
  step.kind === "form"
    ? step.form.getChildren("field").map((f) => ({
        var: f.attrs.var as string,
        type: f.attrs.type as string,
        options: f.getChildren("option").map((o) => o.getChildText("value")),
        desc: f.getChildText("desc"),
      }))
    : [];

describe("ad-hoc steps", () => {
  it("runs commands without arguments at once", () => {
    expect(firstStep("status", device)).toEqual({ kind: "run", command: { verb: "status" } });
  });

  it("asks which sensor to get, all by default", () => {
    const step = firstStep("get", device);
    expect(fieldsOf(step)).toEqual([
      { var: "sensor", type: "list-single", options: ["*", "temp"], desc: null },
    ]);
    expect(nextStep({ verb: "get" }, new Map([["sensor", "*"]]), device)).toEqual({
      kind: "run",
      command: { verb: "get" },
    });
    expect(nextStep({ verb: "get" }, new Map([["sensor", "temp"]]), device)).toEqual({
      kind: "run",
      command: { verb: "get", sensor: "temp" },
    });
  });

  it("shapes the value field of set by the actuator's capability", () => {
    expect(fieldsOf(firstStep("set", device))[0]?.options).toEqual(["relay", "led", "fan"]);
    const pick = (name: string) => nextStep({ verb: "set" }, new Map([["actuator", name]]), device);
    expect(fieldsOf(pick("relay"))[0]).toMatchObject({ var: "value", type: "boolean" });
    expect(fieldsOf(pick("led"))[0]).toMatchObject({
      type: "list-single",
      options: ["off", "on", "blink"],
    });
    expect(fieldsOf(pick("fan"))[0]).toMatchObject({
      type: "text-single",
      desc: "a number from 0 to 100 (%)",
    });
    expect(pick("valve")).toEqual({ kind: "error", text: 'unknown actuator "valve"' });
  });

  it("turns a submitted checkbox into on/off and runs the shared set command", () => {
    const stage = { verb: "set" as const, actuator: "relay" };
    expect(nextStep(stage, new Map([["value", "1"]]), device)).toEqual({
      kind: "run",
      command: { verb: "set", actuator: "relay", value: "on" },
    });
    expect(nextStep(stage, new Map(), device)).toEqual({ kind: "error", text: "no value given" });
  });

  it("has nothing to offer for set before the device declared actuators", () => {
    expect(firstStep("set", undefined)).toMatchObject({ kind: "error" });
  });
});

describe("readSubmission", () => {
  it("reads the first value of each named field", () => {
    const x = xml(
      "x",
      { xmlns: DATA_FORMS_NS, type: "submit" },
      xml("field", { var: "actuator" }, xml("value", {}, "relay")),
      xml("field", { var: "empty" }),
      xml("field", {}, xml("value", {}, "ignored")),
    );
    const read = readSubmission(x);
    expect(read.ok && [...read.values]).toEqual([
      ["actuator", "relay"],
      ["empty", ""],
    ]);
  });

  it("refuses anything but a submitted data form", () => {
    expect(readSubmission(undefined)).toEqual({ ok: false, text: "no data form" });
    const form = xml("x", { xmlns: DATA_FORMS_NS, type: "form" });
    expect(readSubmission(form).ok).toBe(false);
  });
});
