/**
 * XEP-0004 data forms, pure: build a form or a result, read a submitted one. Only what ad-hoc
 * commands need; unknown field types in a submission are read as text.
 */
import { xml, type Element } from "./client.js";

export const DATA_FORMS_NS = "jabber:x:data";

export type FieldType = "boolean" | "fixed" | "hidden" | "list-single" | "text-single";

export interface FormField {
  var?: string;
  type: FieldType;
  label?: string;
  desc?: string;
  required?: boolean;
  value?: string;
  options?: ReadonlyArray<{ value: string; label?: string }>;
}

export interface FormText {
  title?: string;
  instructions?: string;
}

export function dataForm(
  type: "form" | "result" | "submit",
  fields: readonly FormField[],
  text: FormText = {},
): Element {
  return xml(
    "x",
    { xmlns: DATA_FORMS_NS, type },
    ...(text.title ? [xml("title", {}, text.title)] : []),
    ...(text.instructions ? [xml("instructions", {}, text.instructions)] : []),
    ...fields.map(fieldElement),
  );
}

function fieldElement(f: FormField): Element {
  const attrs = {
    type: f.type,
    ...(f.var ? { var: f.var } : {}),
    ...(f.label ? { label: f.label } : {}),
  };
  return xml(
    "field",
    attrs,
    ...(f.desc ? [xml("desc", {}, f.desc)] : []),
    ...(f.required ? [xml("required")] : []),
    ...(f.value !== undefined ? [xml("value", {}, f.value)] : []),
    ...(f.options ?? []).map((o) =>
      xml("option", o.label ? { label: o.label } : {}, xml("value", {}, o.value)),
    ),
  );
}

export type Submission =
  { ok: true; values: ReadonlyMap<string, string> } | { ok: false; text: string };

/** Field values of a `<x type='submit'>` (first value of each field). */
export function readSubmission(x: Element | undefined): Submission {
  if (!x || x.attrs.xmlns !== DATA_FORMS_NS) return { ok: false, text: "no data form" };
  if (x.attrs.type !== "submit")
    return { ok: false, text: `a ${String(x.attrs.type)} form, not a submit` };
  const values = new Map<string, string>();
  for (const field of x.getChildren("field")) {
    const name: unknown = field.attrs.var;
    if (typeof name !== "string" || name === "") continue;
    values.set(name, field.getChildText("value") ?? "");
  }
  return { ok: true, values };
}

/** XEP-0004 §3.3 booleans: "1"/"true" and "0"/"false". */
export function formBoolean(value: string | undefined): boolean | undefined {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  return undefined;
}
