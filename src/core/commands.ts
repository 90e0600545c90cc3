/**
 * The command language every transport shares: chat text → Command, who may run it, and the
 * reply. Transports only carry text and identities; the wording lives here, so that chat,
 * ad-hoc commands and MQTT say the same thing about the same failure.
 */
import { AccessList, type Role } from "./access.js";
import type { Capability, DeviceDescription, Reading, SensorValue } from "./reading.js";
import { DeviceCommandError } from "../device/errors.js";

interface CommandSpec {
  role: Role;
  usage: string;
  summary: string;
  minArgs?: number;
  maxArgs?: number;
  /** What is missing when there are too few arguments. */
  needs?: string;
}

const SPECS = {
  help: { role: "viewer", usage: "help", summary: "list the commands you may use" },
  status: { role: "viewer", usage: "status", summary: "device, firmware, link and actuators" },
  get: { role: "viewer", usage: "get [sensor]", summary: "latest sensor values", maxArgs: 1 },
  set: {
    role: "operator",
    usage: "set <actuator> <value>",
    summary: "change an actuator and wait for the device",
    minArgs: 2,
    maxArgs: 2,
    needs: "an actuator and a value",
  },
  subscribe: { role: "viewer", usage: "subscribe", summary: "receive readings as they arrive" },
  unsubscribe: { role: "viewer", usage: "unsubscribe", summary: "stop receiving readings" },
  whoami: { role: "viewer", usage: "whoami", summary: "your address and role" },
  ping: { role: "viewer", usage: "ping", summary: "check that the agent answers" },
  // Agent-level actions are admin-only: they disturb every user of the device, not one value.
  "reconnect-device": { role: "admin", usage: "reconnect-device", summary: "re-request HELLO" },
  stats: {
    role: "admin",
    usage: "stats",
    summary: "the agent's figures: readings in and out, outbox, drops, sessions, commands",
  },
} as const satisfies Record<string, CommandSpec>;

export type Verb = keyof typeof SPECS;

export type Command =
  | { verb: "get"; sensor?: string }
  | { verb: "set"; actuator: string; value: string }
  | { verb: Exclude<Verb, "get" | "set"> };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

/** Longer messages are chat, not commands; refusing them early also bounds the work per message. */
export const MAX_COMMAND_LENGTH = 200;

/** The least role that may run each verb. Strangers (no role) get no command and no reply. */
export const REQUIRED_ROLE: Readonly<Record<Verb, Role>> = Object.fromEntries(
  Object.entries(SPECS).map(([verb, s]) => [verb, s.role]),
) as Record<Verb, Role>;

/** One line per verb saying what it does, for menus (XEP-0050 command names). */
export const COMMAND_SUMMARY: Readonly<Record<Verb, string>> = Object.fromEntries(
  Object.entries(SPECS).map(([verb, s]) => [verb, s.summary]),
) as Record<Verb, string>;

export function isVerb(word: string): word is Verb {
  return Object.hasOwn(SPECS, word);
}

/** Chat text → Command. Never throws; errors are sentences meant for the sender. */
export function parseCommand(text: string): ParseResult {
  const trimmed = text.trim();
  if (trimmed.length === 0) return refuse("empty command; try help");
  if (trimmed.length > MAX_COMMAND_LENGTH) {
    return refuse(
      `message too long for a command (${trimmed.length} characters, at most ` +
        `${MAX_COMMAND_LENGTH}); try help`,
    );
  }
  const [word = "", ...args] = trimmed.split(/\s+/u);
  const verb = word.toLowerCase();
  if (!isVerb(verb)) return refuse(`unknown command ${quote(word)}; try help`);
  if (/\p{Cc}/u.test(trimmed.replace(/\s/gu, " "))) {
    return refuse(`${verb} cannot contain control characters: ${SPECS[verb].usage}`);
  }
  const arity = arityError(verb, args.length);
  if (arity !== undefined) return refuse(arity);
  return { ok: true, command: build(verb, args) };
}

function arityError(verb: Verb, count: number): string | undefined {
  const { minArgs = 0, maxArgs = 0, usage, needs }: CommandSpec = SPECS[verb];
  if (count < minArgs) return `${verb} needs ${needs ?? `${minArgs} arguments`}: ${usage}`;
  if (count <= maxArgs) return undefined;
  return maxArgs === 0
    ? `${verb} takes no arguments: ${usage}`
    : `too many arguments for ${verb}: ${usage}`;
}

function build(verb: Verb, args: string[]): Command {
  const [first, second] = args;
  if (verb === "get") return first === undefined ? { verb } : { verb, sensor: first };
  if (verb === "set") return { verb, actuator: first ?? "", value: second ?? "" };
  return { verb };
}

export type Authorization = { ok: true } | { ok: false; error: string; silent: boolean };

/**
 * May this role run this command? `silent` is set for strangers: a transport must then send
 * nothing back, so the agent neither confirms it exists nor reflects traffic at forged senders.
 */
export function authorize(command: Command, role: Role | undefined): Authorization {
  const needed = REQUIRED_ROLE[command.verb];
  if (AccessList.allows(role, needed)) return { ok: true };
  if (role === undefined)
    return { ok: false, error: "sender is not on the access list", silent: true };
  return {
    ok: false,
    error: `${command.verb} needs the ${needed} role (yours is ${role})`,
    silent: false,
  };
}

export type ActuatorResult = { actuator: string; value: SensorValue; latencyMs: number };

/** What commands need from the device side; a thin adapter makes a SerialLink one. */
export interface DeviceControl {
  readonly state: string;
  readonly description: DeviceDescription | undefined;
  latest(): Reading | undefined;
  /** Rejects with a DeviceCommandError (see device/errors.ts) when the command fails. */
  setActuator(name: string, value: string): Promise<ActuatorResult>;
  requestHello(): Promise<void>;
}

export interface SubscriptionStore {
  /** False when jid was already subscribed; rejects, changing nothing, when it cannot be saved. */
  add(jid: string): Promise<boolean>;
  /** False when jid was not subscribed; rejects, changing nothing, when it cannot be saved. */
  remove(jid: string): Promise<boolean>;
  has(jid: string): boolean;
}

export interface CommandContext {
  /** The sender's normalized bare JID. */
  sender: string;
  role: Role;
  device: DeviceControl;
  subscriptions: SubscriptionStore;
  /** The agent's figures as text (what `iot-agent status` prints). */
  figures(): string;
  now(): number;
}

export interface CommandReply {
  ok: boolean;
  text: string;
  /** What a `set` left the actuator at, for transports that publish the state. */
  actuator?: ActuatorResult;
}

/** Run an authorized command. Device failures become replies; only bugs throw. */
export async function executeCommand(command: Command, ctx: CommandContext): Promise<CommandReply> {
  // Checked again here so that a transport forgetting authorize() cannot open a hole.
  const allowed = authorize(command, ctx.role);
  if (!allowed.ok) return failed(allowed.error);
  switch (command.verb) {
    case "help":
      return done(helpText(ctx.role));
    case "ping":
      return done("pong");
    case "whoami":
      return done(whoami(ctx));
    case "status":
      return done(statusText(ctx));
    case "get":
      return getValues(command.sensor, ctx);
    case "set":
      return setActuator(command.actuator, command.value, ctx);
    case "subscribe":
    case "unsubscribe":
      return changeSubscription(command.verb, ctx);
    case "reconnect-device":
      return reconnectDevice(ctx);
    case "stats":
      return done(ctx.figures());
  }
}

function helpText(role: Role): string {
  const lines = Object.values<CommandSpec>(SPECS)
    .filter((s) => AccessList.allows(role, s.role))
    .map((s) => `${s.usage} — ${s.summary}`);
  return [`commands for ${role}:`, ...lines].join("\n");
}

async function changeSubscription(
  verb: "subscribe" | "unsubscribe",
  ctx: CommandContext,
): Promise<CommandReply> {
  try {
    if (verb === "subscribe") {
      return (await ctx.subscriptions.add(ctx.sender))
        ? done("subscribed: readings will be sent to you as they arrive (unsubscribe to stop)")
        : done("you are already subscribed");
    }
    return (await ctx.subscriptions.remove(ctx.sender))
      ? done("unsubscribed: no more readings will be sent to you")
      : done("you were not subscribed");
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return failed(`${verb} not done: the agent could not save it (${why})`);
  }
}

function whoami(ctx: CommandContext): string {
  const subscribed = ctx.subscriptions.has(ctx.sender) ? "subscribed" : "not subscribed";
  return `you are ${ctx.sender} (${ctx.role}, ${subscribed})`;
}

function statusText(ctx: CommandContext): string {
  const { device } = ctx;
  const d = device.description;
  const latest = device.latest();
  return [
    d
      ? `device ${d.id}, firmware ${d.firmware}, boot ${d.boot}`
      : "device: not identified yet (no HELLO received)",
    `link: ${device.state}`,
    latest
      ? `last reading: ${formatAge(ctx.now() - latest.receivedAt)} (seq ${latest.seq})`
      : "last reading: none yet",
    ...(d ? [`sensors: ${names(d.sensors)}`, `actuators: ${describeAll(d.actuators)}`] : []),
  ].join("\n");
}

function getValues(sensor: string | undefined, ctx: CommandContext): CommandReply {
  const { device } = ctx;
  const latest = device.latest();
  const known =
    device.description?.sensors.map((s) => s.name) ?? latest?.values.map((v) => v.sensor) ?? [];
  if (sensor !== undefined && !known.includes(sensor)) {
    const has = known.length > 0 ? `this device has: ${known.join(", ")}` : "none are known yet";
    return failed(`unknown sensor ${quote(sensor)}; ${has}`);
  }
  if (latest === undefined) return failed(`no reading received yet (link ${device.state})`);
  const values = latest.values.filter((v) => sensor === undefined || v.sensor === sensor);
  if (values.length === 0) return failed(`${sensor ?? "sensors"}: not in the latest reading`);
  const link = device.state === "online" ? "" : `; link ${device.state}`;
  const when = `${formatAge(ctx.now() - latest.receivedAt)}${link}`;
  return done(
    `${values.map((v) => `${v.sensor}: ${formatSensorValue(v.value, v.unit)}`).join(", ")} (${when})`,
  );
}

async function setActuator(
  name: string,
  value: string,
  ctx: CommandContext,
): Promise<CommandReply> {
  try {
    const result = await ctx.device.setActuator(name, value);
    const unit = ctx.device.description?.actuators.find((a) => a.name === result.actuator)?.unit;
    const shown = formatSensorValue(result.value, unit);
    const ms = Math.round(result.latencyMs);
    const text = `${result.actuator} set to ${shown} (device answered in ${ms} ms)`;
    return { ...done(text), actuator: result };
  } catch (error) {
    return failed(deviceFailureText(error, `set ${name}`));
  }
}

async function reconnectDevice(ctx: CommandContext): Promise<CommandReply> {
  try {
    await ctx.device.requestHello();
    return done("asked the device to introduce itself again; status shows its answer");
  } catch (error) {
    return failed(deviceFailureText(error, "reconnect-device"));
  }
}

/** A device error → a sentence for the user, by kind of failure rather than by message. */
export function deviceFailureText(error: unknown, what: string): string {
  if (!(error instanceof DeviceCommandError)) {
    return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  const detail = detailOf(error.message);
  switch (error.failure) {
    case "offline":
      return `the device is offline (${detail})`;
    case "invalid":
      return error.message;
    case "rejected":
      return `the device refused: ${detail}`;
    case "timeout":
      return `${error.message}; it may or may not have taken effect`;
    case "busy":
      return `the device is busy (${detail}); try again in a moment`;
    case "interrupted":
      return `the command was interrupted (${detail}); it may or may not have taken effect`;
  }
}

/** Device error messages read "<what failed>: <why>"; the reply supplies its own "what". */
function detailOf(message: string): string {
  const colon = message.indexOf(": ");
  return colon === -1 ? message : message.slice(colon + 2);
}

export function formatSensorValue(value: SensorValue, unit?: string): string {
  const shown = typeof value === "boolean" ? (value ? "on" : "off") : String(value);
  return unit ? `${shown} ${unit}` : shown;
}

/** Coarse on purpose: chat readers want "3 s ago" or "2 h ago", not milliseconds. */
export function formatAge(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

function describeAll(caps: Capability[]): string {
  return caps.length === 0 ? "none" : caps.map((c) => `${c.name} (${describe(c)})`).join(", ");
}

function describe(cap: Capability): string {
  const unit = cap.unit ? ` ${cap.unit}` : "";
  switch (cap.kind) {
    case "bool":
      return "on/off";
    case "enum":
      return cap.values?.join("|") ?? "no values declared";
    case "num":
      if (cap.min === undefined && cap.max === undefined) return `number${unit}`;
      return `${cap.min ?? "…"}..${cap.max ?? "…"}${unit}`;
  }
}

function names(caps: Capability[]): string {
  return caps.length === 0 ? "none" : caps.map((c) => c.name).join(", ");
}

/** User text echoed back is quoted and cut short, so a reply cannot be made to say anything. */
function quote(s: string): string {
  return JSON.stringify(s.length > 32 ? `${s.slice(0, 32)}…` : s);
}

function refuse(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

function done(text: string): CommandReply {
  return { ok: true, text };
}

function failed(text: string): CommandReply {
  return { ok: false, text };
}
