/**
 * Wording of configuration problems: "<key.path>: expected X, found Y". Zod's own messages are
 * written for developers ("Invalid input: expected number, received string"); these are written
 * for whoever edits the YAML file. Values under xmpp.password are described, never printed, in
 * case someone pasted the password where its reference belongs.
 */
import type { z } from "zod";
import type { IssueParams } from "./schema.js";

export type KeyPath = readonly PropertyKey[];

/** One problem, before it is given a file position. */
export interface Problem {
  path: KeyPath;
  text: string;
  /** Point at the key rather than its value (unknown keys). */
  atKey?: boolean;
}

const SECRET_PATH = ["xmpp", "password"];
const TYPE_NAMES: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

function bound(origin: string, limit: number | bigint, inclusive: boolean, below: boolean): string {
  if (origin === "string" && !below && limit === 1) return "a non-empty string";
  if (origin === "string")
    return `a string of ${below ? "at most" : "at least"} ${limit} characters`;
  if (origin === "array") return `a list of ${below ? "at most" : "at least"} ${limit} items`;
  const noun = origin === "int" ? "a whole number" : "a number";
  const relation = below ? (inclusive ? "at most" : "less than") : inclusive ? "at least" : "above";
  return `${noun} ${relation} ${limit}`;
}

function oneOf(values: readonly unknown[]): string {
  return `one of ${values.map((v) => (typeof v === "string" ? v : String(v))).join(", ")}`;
}

/** Parse-level error map: what each kind of zod issue expected, in the file editor's words. */
export const expectedMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case "too_small":
      return `expected ${bound(issue.origin, issue.minimum, issue.inclusive ?? true, false)}`;
    case "too_big":
      return `expected ${bound(issue.origin, issue.maximum, issue.inclusive ?? true, true)}`;
    case "invalid_value":
      return `expected ${oneOf(issue.values)}`;
    case "invalid_union":
      // A discriminated union reports the discriminator's allowed values as `options`.
      return Array.isArray(issue.options) ? `expected ${oneOf(issue.options)}` : undefined;
    default:
      return undefined;
  }
};

function isSecret(path: KeyPath): boolean {
  return SECRET_PATH.every((key, i) => path[i] === key);
}

function quote(text: string): string {
  const shown = JSON.stringify(text);
  return shown.length > 60 ? `${shown.slice(0, 56)}…"` : shown;
}

/** What the file holds at `path`, for "found ...". */
export function describeFound(value: unknown, path: KeyPath, hide = false): string {
  if (value === undefined) return "nothing (the key is missing)";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (hide || isSecret(path)) return `a ${typeof value} (not shown)`;
  if (typeof value === "string") return quote(value);
  return typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : `a ${typeof value}`;
}

export function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Zod issues to problems; `data` is the parsed YAML, to say what was found. */
export function problemsOf(issue: z.core.$ZodIssue, data: unknown): Problem[] {
  const { path } = issue;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...path, key],
        text: `unknown key; ${issue.message}`,
        atKey: true,
      }));
    case "invalid_key": {
      const expected = issue.issues[0]?.message ?? issue.message;
      const key = path.at(-1);
      return [{ path, text: `${expected}, found ${describeFound(key, [])}`, atKey: true }];
    }
    case "custom": {
      const params = (issue.params ?? {}) as IssueParams;
      if (params.complete) return [{ path, text: issue.message }];
      const found = describeFound(valueAt(data, path), path, params.hide);
      const hint = params.hint ? `; ${params.hint}` : "";
      return [{ path, text: `${issue.message}, found ${found}${hint}` }];
    }
    default:
      return [
        { path, text: `${issue.message}, found ${describeFound(valueAt(data, path), path)}` },
      ];
  }
}

/** `xmpp.tls.caFile`, `access.allow[1].jid`. */
export function formatPath(path: KeyPath): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      const name = String(key);
      if (!/^[A-Za-z_][\w-]*$/.test(name)) return `[${JSON.stringify(name)}]`;
      return i === 0 ? name : `.${name}`;
    })
    .join("");
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(substitute, (previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** The known key a typo most likely meant, if any is close enough to be a useful guess. */
export function suggestKey(typo: string, known: readonly string[]): string | undefined {
  const lower = typo.toLowerCase();
  let best: { key: string; cost: number } | undefined;
  for (const key of known) {
    const known = key.toLowerCase();
    // A prefix is a likely slip too ("logging" for "log"), however many letters it adds.
    const prefix = lower.length >= 3 && (known.startsWith(lower) || lower.startsWith(known));
    const cost = prefix ? 1 : distance(lower, known);
    if (cost <= Math.max(1, Math.floor(key.length / 4)) && (!best || cost < best.cost)) {
      best = { key, cost };
    }
  }
  return best?.key;
}
