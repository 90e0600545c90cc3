/**
 * Loading the agent's configuration: YAML, then the schema, then the secrets. Every problem found
 * is reported at once, one per line with its file position, so fixing a file takes one round
 * rather than one per mistake. Nothing here connects anywhere.
 */
import type { z } from "zod";
import { expectedMessage, problemsOf, valueAt, type Problem } from "./messages.js";
import { agentConfigSchema, secretRefSchema, type AgentConfig } from "./schema.js";
import {
  passwordExpectation,
  passwordFromEnv,
  permissionWarning,
  readPrivateFile,
  resolvePassword,
} from "./secret.js";
import { ConfigSource } from "./source.js";

export type { AgentConfig } from "./schema.js";

/** Every problem in a configuration, one per line: `<file>:<line>:<col> <key.path>: ...`. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

export interface ParsedConfig {
  config: AgentConfig;
  warnings: string[];
}

export interface LoadedConfig extends ParsedConfig {
  /** Kept out of `config` so that logging or printing the configuration cannot leak it. */
  password: string;
  /** The MQTT broker's password, when `mqtt.password` is set. */
  mqttPassword?: string;
}

const PASSWORD_PATH = ["xmpp", "password"];
const MQTT_PASSWORD_PATH = ["mqtt", "password"];

interface Analysis extends ParsedConfig {
  source: ConfigSource;
}

/** Checked here rather than at load so that a missing variable is listed with the other problems. */
function envProblems(data: unknown, env: NodeJS.ProcessEnv): Problem[] {
  return [PASSWORD_PATH, MQTT_PASSWORD_PATH].flatMap((path) => {
    const ref = secretRefSchema.safeParse(valueAt(data, path));
    if (!ref.success || !("env" in ref.data)) return [];
    const result = passwordFromEnv(ref.data.env, env);
    if (!("problem" in result)) return [];
    const text = `${passwordExpectation(ref.data)}, ${result.problem}`;
    return [{ path: [...path, "env"], text }];
  });
}

function configWarnings(config: AgentConfig): Problem[] {
  const warnings: Problem[] = [];
  if (config.xmpp.tls.allowPlaintext) {
    const text =
      "true: if the server offers no TLS, the password and every stanza cross the network " +
      "in clear text; use this only in a lab";
    warnings.push({ path: ["xmpp", "tls", "allowPlaintext"], text });
  }
  if (config.access.allow.length === 0) {
    const text = "empty: nobody may send commands; readings go only to telemetry.subscribers";
    warnings.push({ path: ["access", "allow"], text });
  }
  if (config.device.emulate) {
    const text = "true: readings come from the built-in emulator, not from a board";
    warnings.push({ path: ["device", "emulate"], text });
  }
  return [...warnings, ...mqttCommandWarnings(config.mqtt)];
}

/** Commands on set topics are only as safe as the broker connection they arrive on. */
function mqttCommandWarnings(mqtt: AgentConfig["mqtt"]): Problem[] {
  if (!mqtt?.commands) return [];
  const warnings: Problem[] = [];
  if (mqtt.url.startsWith("mqtt://")) {
    const text =
      "plaintext (mqtt://) while mqtt.commands is on: commands cross the network unencrypted " +
      "and can be forged or replayed on the way; use mqtts://";
    warnings.push({ path: ["mqtt", "url"], text });
  }
  if (mqtt.username === undefined && mqtt.tls.certFile === undefined) {
    const text =
      "on over an anonymous broker connection (no mqtt.username or client certificate): a " +
      "broker that lets the agent in without credentials may let anyone publish to the set " +
      "topics; give the agent an account and restrict the set topics with the broker's ACLs";
    warnings.push({ path: ["mqtt", "commands"], text });
  }
  if (mqtt.commands.role === "viewer") {
    const text = "viewer: set needs the operator role, so every MQTT command is refused";
    warnings.push({ path: ["mqtt", "commands", "role"], text });
  }
  return warnings;
}

function issueProblems(error: z.ZodError | undefined, data: unknown): Problem[] {
  return error ? error.issues.flatMap((issue) => problemsOf(issue, data)) : [];
}

function analyze(text: string, sourceName: string, env: NodeJS.ProcessEnv): Analysis {
  const source = new ConfigSource(sourceName, text);
  if (source.syntaxErrors.length > 0) throw new ConfigError(source.syntaxErrors);
  const result = agentConfigSchema.safeParse(source.data, { error: expectedMessage });
  const problems = [...issueProblems(result.error, source.data), ...envProblems(source.data, env)];
  if (!result.success || problems.length > 0) throw new ConfigError(source.formatAll(problems));
  const warnings = [...source.yamlWarnings, ...source.formatAll(configWarnings(result.data))];
  return { config: result.data, warnings, source };
}

/**
 * Validates configuration text without touching the file system: `source` names it in messages.
 * A password given by environment variable is checked to be set; a password file is not read.
 */
export function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): ParsedConfig {
  const { config, warnings } = analyze(text, source, env);
  return { config, warnings };
}

async function caFileProblem(caFile: string | undefined): Promise<Problem | undefined> {
  if (caFile === undefined) return undefined;
  const read = await readPrivateFile(caFile);
  const expected = "expected a readable PEM file of CA certificates";
  const path = ["xmpp", "tls", "caFile"];
  if ("problem" in read) return { path, text: `${expected}, ${read.problem}` };
  if (read.text.includes("-----BEGIN CERTIFICATE-----")) return undefined;
  return { path, text: `${expected}, found no BEGIN CERTIFICATE line in ${caFile}` };
}

/** Reads, validates and resolves the configuration at `path`; throws ConfigError listing all. */
export async function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const file = await readPrivateFile(path);
  if ("problem" in file) {
    throw new ConfigError([`${path}: expected a readable configuration file, ${file.problem}`]);
  }
  const { config, warnings, source } = analyze(file.text, path, env);
  const ref = config.xmpp.password;
  const mqttRef = config.mqtt?.password;
  const [secret, mqttSecret, caProblem] = await Promise.all([
    resolvePassword(ref, env),
    mqttRef === undefined ? undefined : resolvePassword(mqttRef, env),
    caFileProblem(config.xmpp.tls.caFile),
  ]);
  const problems: Problem[] = caProblem ? [caProblem] : [];
  const secretProblem = (at: string[], r: typeof ref, result: typeof secret) => {
    if (!("problem" in result)) return;
    const key = "env" in r ? "env" : "file";
    problems.push({ path: [...at, key], text: `${passwordExpectation(r)}, ${result.problem}` });
  };
  secretProblem(PASSWORD_PATH, ref, secret);
  if (mqttRef && mqttSecret) secretProblem(MQTT_PASSWORD_PATH, mqttRef, mqttSecret);
  if (problems.length > 0 || "problem" in secret || (mqttSecret && "problem" in mqttSecret)) {
    throw new ConfigError(source.formatAll(problems));
  }
  const fileWarning = permissionWarning(path, file.mode, "says who may command the device");
  const extra = [fileWarning, secret.warning, mqttSecret?.warning].filter(
    (w): w is string => w !== undefined,
  );
  return {
    config,
    password: secret.password,
    ...(mqttSecret ? { mqttPassword: mqttSecret.password } : {}),
    warnings: [...extra, ...warnings],
  };
}
