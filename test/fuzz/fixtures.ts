/**
 * What the command surfaces need around them when fuzzed: a device that checks values with the
 * agent's own validation (validate.ts) instead of a serial port, the real access list, rate
 * limiter and audit log, and a logger that keeps what it is given.
 */
import { AccessList, type Role } from "../../src/core/access.js";
import { AuditLog, type AuditLogger } from "../../src/core/audit.js";
import type { CommandContext, DeviceControl } from "../../src/core/commands.js";
import type { DeviceDescription, Reading } from "../../src/core/reading.js";
import { RateLimiter } from "../../src/core/rate-limit.js";
import { CommandValidationError, DeviceOfflineError } from "../../src/device/errors.js";
import { formatValue } from "../../src/device/validate.js";
import { Subscribers } from "../../src/xmpp/subscribers.js";

export const DEVICE: DeviceDescription = {
  id: "envnode-01",
  firmware: "1.0.0",
  boot: "0000abcd",
  protocol: 1,
  sensors: [
    { name: "temp", kind: "num", unit: "°C", min: -40, max: 85 },
    { name: "door", kind: "bool" },
  ],
  actuators: [
    { name: "relay", kind: "bool" },
    { name: "led", kind: "enum", values: ["off", "on", "blink"] },
    { name: "fan", kind: "num", min: 0, max: 100, unit: "%" },
  ],
};

export const LATEST: Reading = {
  device: DEVICE.id,
  boot: DEVICE.boot,
  seq: 7,
  receivedAt: 1_000,
  values: [
    { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
    { sensor: "door", kind: "bool", value: false },
  ],
};

/** Bare JIDs on the access list, one per role. */
export const ALLOWED: Readonly<Record<Role, string>> = {
  viewer: "viewer@example.org",
  operator: "operator@example.org",
  admin: "admin@example.org",
};

export function accessList(): AccessList {
  return new AccessList(
    (Object.entries(ALLOWED) as Array<[Role, string]>).map(([role, jid]) => ({ jid, role })),
  );
}

/**
 * The device side of a command: values are checked against the declared actuator exactly as
 * SerialLink.setActuator does before anything reaches the wire; a valid one "succeeds" at once.
 */
export function testDevice(online = true): DeviceControl & { applied: string[] } {
  const applied: string[] = [];
  return {
    applied,
    state: online ? "online" : "connecting",
    description: DEVICE,
    latest: () => LATEST,
    setActuator: (name, value) => {
      if (!online) return Promise.reject(new DeviceOfflineError("serial link is connecting", name));
      const cap = DEVICE.actuators.find((a) => a.name === name);
      if (!cap) return Promise.reject(new CommandValidationError(name, "no such actuator"));
      const checked = formatValue(cap, value);
      if (!checked.ok) return Promise.reject(new CommandValidationError(name, checked.detail));
      applied.push(`${name}=${checked.token}`);
      return Promise.resolve({ actuator: name, value: checked.token, latencyMs: 1 });
    },
    requestHello: () => Promise.resolve(),
  };
}

export interface LogLine {
  level: "info" | "warn";
  obj: object;
  msg: string;
}

export function recordingLogger(): AuditLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: "info", obj, msg }),
    warn: (obj, msg) => lines.push({ level: "warn", obj, msg }),
  };
}

export interface CommandWorld {
  access: AccessList;
  audit: AuditLog;
  log: ReturnType<typeof recordingLogger>;
  limiter: RateLimiter;
  device: ReturnType<typeof testDevice>;
  context: (sender: string, role: Role) => CommandContext;
  now: () => number;
}

/** A fresh set of command dependencies; `capacity` commands per sender before rate limiting. */
export function commandWorld(capacity = 1_000_000, online = true): CommandWorld {
  const now = () => 2_000;
  const log = recordingLogger();
  const device = testDevice(online);
  const subscriptions = new Subscribers([]);
  return {
    access: accessList(),
    audit: new AuditLog(log),
    log,
    limiter: new RateLimiter({ capacity, perMs: 60_000, now }),
    device,
    context: (sender, role) => ({
      sender,
      role,
      device,
      subscriptions,
      figures: () => "figures",
      now,
    }),
    now,
  };
}
