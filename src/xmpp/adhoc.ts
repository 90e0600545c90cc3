/**
 * XEP-0050 ad-hoc commands, pure: every chat command is also a command node, so Gajim,
 * Conversations and other clients show the device's commands as a menu. Commands without
 * arguments run at once; `get` asks which sensor, and `set` asks which actuator, then offers a
 * value field shaped by that actuator's capability (a checkbox, a list, or a number with its
 * range). What runs in the end is the shared Command, so chat and ad-hoc say the same thing.
 */
import type { Command, Verb } from "../core/commands.js";
import type { Capability, DeviceDescription } from "../core/reading.js";
import type { Element } from "./client.js";
import { dataForm, formBoolean, type FormField } from "./forms.js";

export const COMMANDS_NS = "http://jabber.org/protocol/commands";

/** Where a multi-stage command stands between two requests. */
export type Stage = { verb: "get" } | { verb: "set" } | { verb: "set"; actuator: string };

export type Step =
  | { kind: "form"; form: Element; stage: Stage; actions: Array<"next" | "complete"> }
  | { kind: "run"; command: Command }
  | { kind: "error"; text: string };

const ALL_SENSORS = "*";

/** The first step of `verb`. */
export function firstStep(verb: Verb, device: DeviceDescription | undefined): Step {
  if (verb === "get") {
    const options = [
      { value: ALL_SENSORS, label: "all sensors" },
      ...(device?.sensors ?? []).map((s) => ({ value: s.name, label: describe(s) })),
    ];
    const field: FormField = {
      var: "sensor",
      type: "list-single",
      label: "Sensor",
      value: ALL_SENSORS,
      options,
    };
    const form = dataForm("form", [field], { title: "Read a sensor" });
    return { kind: "form", form, stage: { verb }, actions: ["complete"] };
  }
  if (verb === "set") {
    const actuators = device?.actuators ?? [];
    if (actuators.length === 0)
      return { kind: "error", text: "the device has declared no actuators (yet)" };
    const options = actuators.map((a) => ({ value: a.name, label: describe(a) }));
    const field: FormField = {
      var: "actuator",
      type: "list-single",
      label: "Actuator",
      required: true,
      options,
    };
    const form = dataForm("form", [field], { title: "Set an actuator" });
    return { kind: "form", form, stage: { verb }, actions: ["next"] };
  }
  return { kind: "run", command: { verb } as Command };
}

/** The step after `stage`, given the submitted form's values. */
export function nextStep(
  stage: Stage,
  values: ReadonlyMap<string, string>,
  device: DeviceDescription | undefined,
): Step {
  if (stage.verb === "get") {
    const sensor = values.get("sensor");
    return {
      kind: "run",
      command: !sensor || sensor === ALL_SENSORS ? { verb: "get" } : { verb: "get", sensor },
    };
  }
  if (!("actuator" in stage)) {
    const name = values.get("actuator") ?? "";
    const capability = device?.actuators.find((a) => a.name === name);
    if (!capability) return { kind: "error", text: `unknown actuator ${JSON.stringify(name)}` };
    const form = dataForm("form", [valueField(capability)], { title: `Set ${name}` });
    return { kind: "form", form, stage: { verb: "set", actuator: name }, actions: ["complete"] };
  }
  const raw = values.get("value");
  if (raw === undefined || raw === "") return { kind: "error", text: "no value given" };
  const capability = device?.actuators.find((a) => a.name === stage.actuator);
  const flag = capability?.kind === "bool" ? formBoolean(raw) : undefined;
  const value = flag === undefined ? raw : flag ? "on" : "off";
  return { kind: "run", command: { verb: "set", actuator: stage.actuator, value } };
}

function valueField(c: Capability): FormField {
  const base = { var: "value", label: c.name, required: true };
  if (c.kind === "bool") return { ...base, type: "boolean" };
  if (c.kind === "enum")
    return { ...base, type: "list-single", options: (c.values ?? []).map((value) => ({ value })) };
  const range =
    c.min !== undefined || c.max !== undefined ? ` from ${c.min ?? "-∞"} to ${c.max ?? "∞"}` : "";
  return { ...base, type: "text-single", desc: `a number${range}${c.unit ? ` (${c.unit})` : ""}` };
}

function describe(c: Capability): string {
  return c.unit ? `${c.name} (${c.unit})` : c.name;
}
