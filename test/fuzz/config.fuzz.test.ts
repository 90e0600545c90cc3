/**
 * Fuzz of the configuration loader (src/config/load.ts, source.ts, schema.ts): random YAML
 * documents, random mutations of config/agent.example.yaml (wrong types, deleted keys, huge
 * numbers, anchors and aliases, broken lines), alias bombs and random bytes. The loader returns
 * a configuration or throws ConfigError whose every line reads `file:line:col path: message`
 * (or `file: message` when the problem has no place in the file); never anything else.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { ConfigSource } from "../../src/config/source.js";
import { FUZZ_TIMEOUT_MS, fuzz, runs } from "./runs.js";

const SURFACE = "config loader";
const FILE = "fuzz.yaml";
const EXAMPLE = readFileSync(new URL("../../config/agent.example.yaml", import.meta.url), "utf8");
const ENV = { IOT_AGENT_XMPP_PASSWORD: "secret", IOT_AGENT_MQTT_PASSWORD: "secret" };
/** `fuzz.yaml:12:3 xmpp.port: …` or `fuzz.yaml: YAML: …`. */
const PROBLEM_LINE = /^fuzz\.yaml(:\d+:\d+ |: )\S/;

/** Loads `text`; true when it is a valid configuration. Anything but ConfigError fails. */
function load(text: string): boolean {
  try {
    parseConfig(text, FILE, ENV);
    return true;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.problems.length).toBeGreaterThan(0);
    for (const line of error.problems) expect(line).toMatch(PROBLEM_LINE);
    expect(error.message).not.toContain("secret");
    return false;
  }
}

/** Every key path of a plain value, e.g. ["xmpp", "tls", "caFile"] or ["alerts", 0, "name"]. */
function pathsOf(
  value: unknown,
  prefix: Array<string | number> = [],
): Array<Array<string | number>> {
  if (Array.isArray(value))
    return value.flatMap((v, i) => [[...prefix, i], ...pathsOf(v, [...prefix, i])]);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => [
      [...prefix, k],
      ...pathsOf(v, [...prefix, k]),
    ]);
  }
  return [];
}

const EXAMPLE_PATHS = pathsOf(parseDocument(EXAMPLE).toJS());

const wrongValue = fc.oneof(
  fc.constantFrom(null, true, "", "yes", "0x10", -1, 0, 1e308, -1e308, 2 ** 53 + 1, 1.5, "NaN"),
  fc.constantFrom([], {}, [1, 2], { unknown: 1 }, "a".repeat(5000), "\u0000\u202E"),
  fc.anything({ maxDepth: 2, maxKeys: 3 }),
);

type Mutation =
  | { op: "set"; path: number; value: unknown }
  | { op: "delete"; path: number }
  | {
      op: "line";
      line: number;
      edit: "drop" | "duplicate" | "indent" | "alias" | "anchor" | "junk";
      junk: string;
    };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), path: fc.nat(), value: wrongValue }),
  fc.record({ op: fc.constant("delete" as const), path: fc.nat() }),
  fc.record({
    op: fc.constant("line" as const),
    line: fc.nat(),
    edit: fc.constantFrom("drop", "duplicate", "indent", "alias", "anchor", "junk"),
    junk: fc.oneof(
      fc.constantFrom(": :", "- ", "\t", "&a", "*a", "!!binary", "{", "]", "'", "%YAML 9"),
      fc.string({ maxLength: 8 }),
    ),
  }),
);

function editLine(text: string, m: Extract<Mutation, { op: "line" }>): string {
  const lines = text.split("\n");
  const i = m.line % lines.length;
  const line = lines[i] ?? "";
  const edits = {
    drop: [],
    duplicate: [line, line],
    indent: [` ${line}`],
    alias: [line.replace(/:\s+\S.*$/, ": *a")],
    anchor: [line.replace(/:\s+(\S)/, ": &a $1")],
    junk: [line + m.junk],
  };
  lines.splice(i, 1, ...edits[m.edit]);
  return lines.join("\n");
}

function mutate(mutations: Mutation[]): string {
  let text = EXAMPLE;
  for (const m of mutations) {
    if (m.op === "line") {
      text = editLine(text, m);
      continue;
    }
    const doc = parseDocument(text);
    if (doc.errors.length > 0) return text;
    const path = EXAMPLE_PATHS[m.path % EXAMPLE_PATHS.length] ?? ["xmpp"];
    try {
      if (m.op === "delete") doc.deleteIn(path);
      else doc.setIn(path, doc.createNode(m.value));
      text = doc.toString();
    } catch {
      // The path runs through a scalar an earlier mutation put there, or an alias lost its
      // anchor and cannot be written back: the text as it was is what gets loaded.
      return text;
    }
  }
  return text;
}

describe("config loader fuzz", () => {
  it("the example itself loads (so mutations start from a valid file)", () => {
    expect(load(EXAMPLE)).toBe(true);
  });

  it(
    "mutations of the example: a config or a ConfigError with positioned lines",
    () => {
      let valid = 0;
      fuzz(
        SURFACE,
        "mutations of agent.example.yaml",
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
          if (load(mutate(ms))) valid++;
        }),
        { numRuns: runs(0.25) },
      );
      // Harmless mutations (a comment line dropped) keep the file valid: both branches run.
      expect(valid).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "random YAML documents and random text never escape as anything but ConfigError",
    () => {
      const text = fc.oneof(
        fc
          .anything({ maxDepth: 3 })
          .map((v) => stringify(v, { aliasDuplicateObjects: true }) ?? ""),
        fc.string({ unit: "binary", maxLength: 400 }),
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString("utf8")),
        fc
          .array(
            fc.constantFrom(
              "xmpp:",
              "  ",
              "- ",
              "&a ",
              "*a",
              "<<: *a",
              "? ",
              ": ",
              "\n",
              "{",
              "}",
              "[",
              "]",
              "'",
              '"',
              "#",
              "%TAG",
              "---",
              "...",
            ),
            { maxLength: 40 },
          )
          .map((p) => p.join("")),
      );
      fuzz(
        SURFACE,
        "random YAML and text",
        fc.property(text, (t) => void load(t)),
        { numRuns: runs(0.5) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "repeated keys are found where yaml's own quadratic check finds them",
    () => {
      const key = fc.constantFrom("a", "b", "1", "'1'", "true", "~", '"a"', "<<");
      const scalar = fc.constantFrom(
        "1",
        "x",
        "[]",
        "{}",
        "*r",
        "&r v",
        "{a: 1, a: 2}",
        "[{b: 1, b: 1}]",
      );
      const entry = fc
        .tuple(fc.nat(2), key, scalar)
        .map(([d, k, v]) => `${"  ".repeat(d)}${k}: ${v}`);
      const text = fc
        .array(entry, { maxLength: 12 })
        .map((lines) => `r: &r 1\n${lines.join("\n")}\n`);
      let withDuplicates = 0;
      const duplicateLines = (errors: readonly string[]) =>
        errors.filter((e) => e.includes("Map keys must be unique"));
      fuzz(
        SURFACE,
        "duplicate keys against yaml's check",
        fc.property(text, (t) => {
          const theirs = parseDocument(t, { prettyErrors: false }).errors;
          // Only comparable when yaml itself found nothing else wrong with the file.
          fc.pre(theirs.every((e) => e.code === "DUPLICATE_KEY"));
          const ours = duplicateLines(new ConfigSource(FILE, t).syntaxErrors);
          if (theirs.length > 0) withDuplicates++;
          expect(ours).toHaveLength(theirs.length);
        }),
        {
          numRuns: runs(0.25),
          examples: [["r: &r 1\na: 1\na: 2\n"], ["r: &r 1\nx: {a: 1, a: 2}\n"]],
        },
      );
      expect(withDuplicates).toBeGreaterThan(runs(0.25) / 20);
    },
    FUZZ_TIMEOUT_MS,
  );

  it("20,000 keys load in a second, not in a quarter of a minute (yaml's check was quadratic)", () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join("\n");
    const started = performance.now();
    expect(load(`${EXAMPLE}\n${keys}\n`)).toBe(false);
    expect(load(`${EXAMPLE}\n${"k: 1\n".repeat(20_000)}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 30_000);

  it("a billion-laughs alias bomb is refused quickly, as a ConfigError", () => {
    const lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(", ")}]`,
      );
    const started = performance.now();
    expect(load(`${EXAMPLE}\n${lines.join("\n")}\n`)).toBe(false);
    expect(() => parseConfig(lines.join("\n"), FILE, ENV)).toThrow(/Excessive alias count/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
