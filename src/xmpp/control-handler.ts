/**
 * Serves XEP-0325 `<set>` requests: each parameter becomes the same `set` command chat uses,
 * authorized by the same role rule (operator or admin), rate-limited and audit-logged the same
 * way, and carried out on the device in order; the device's ACK makes the `OK`, its NACK or
 * silence the error.
 */
import type { AccessList } from "../core/access.js";
import type { AuditLog } from "../core/audit.js";
import { authorize, deviceFailureText, type DeviceControl } from "../core/commands.js";
import type { RateLimiter } from "../core/rate-limit.js";
import { DeviceCommandError, type CommandFailure } from "../device/errors.js";
import type { XmppClient } from "./client.js";
import { CONTROL_NS, parseControlSet, setResponse, type ResponseCode } from "./control.js";
import type { StanzaErrorCondition, StanzaErrorType } from "./stanzas.js";
import { iqError, iqPayload, iqSender, replaceEchoedPayload } from "./iq-handlers.js";

export interface ControlDeps {
  access: AccessList;
  audit: AuditLog;
  limiter: RateLimiter;
  device: DeviceControl;
  now: () => number;
}

type ErrorType = StanzaErrorType;

interface Refusal {
  code: ResponseCode;
  type: ErrorType;
  condition: StanzaErrorCondition;
  text: string;
  parameter?: string;
  nodeId?: string;
}

/** How a device failure reads as a stanza error. */
const DEVICE_ERRORS: Record<CommandFailure, [ErrorType, StanzaErrorCondition]> = {
  offline: ["wait", "service-unavailable"],
  invalid: ["modify", "bad-request"],
  rejected: ["modify", "not-acceptable"],
  timeout: ["wait", "remote-server-timeout"],
  busy: ["wait", "resource-constraint"],
  interrupted: ["wait", "service-unavailable"],
};

export function registerControl(client: XmppClient, deps: ControlDeps): void {
  client.iqCallee.set(CONTROL_NS, "set", async (ctx) => {
    const refusal = await handleSet(ctx, deps);
    if (!refusal) return setResponse("OK");
    replaceEchoedPayload(ctx, setResponse(refusal.code, refusal));
    return iqError(refusal.type, refusal.condition);
  });
}

async function handleSet(ctx: object, deps: ControlDeps): Promise<Refusal | undefined> {
  const set = iqPayload(ctx);
  const { from, sender, role } = iqSender(ctx, deps.access);
  const record = { sender: from, transport: "control" as const };
  const parsed = set ? parseControlSet(set) : { ok: false as const, text: "empty set" };
  const command = parsed.ok
    ? parsed.value.parameters.map((p) => `set ${p.name} ${p.value}`).join("; ")
    : "set";
  const denied: Refusal = {
    code: "InsufficientPrivileges",
    type: "auth",
    condition: "forbidden",
    text: "Access denied",
  };
  if (sender === undefined || role === undefined) {
    deps.audit.commandRefused({ ...record, command, role, reason: "stranger" });
    return denied;
  }
  if (!deps.limiter.take(sender).ok) {
    deps.audit.commandRefused({ ...record, command, role, reason: "rate-limited" });
    return {
      ...denied,
      code: "OtherError",
      type: "wait",
      condition: "resource-constraint",
      text: "Too many requests",
    };
  }
  if (!parsed.ok) {
    deps.audit.commandRefused({ ...record, command, role, reason: "invalid", detail: parsed.text });
    return { code: "FormError", type: "modify", condition: "bad-request", text: parsed.text };
  }
  const first = parsed.value.parameters[0];
  const allowed = authorize(
    { verb: "set", actuator: first?.name ?? "", value: first?.value ?? "" },
    role,
  );
  if (!allowed.ok) {
    deps.audit.commandRefused({ ...record, command, role, reason: "forbidden" });
    return { ...denied, text: allowed.error };
  }
  const unknown = checkTargets(parsed.value.nodes, parsed.value.parameters, deps.device);
  if (unknown) return unknown;
  deps.audit.commandAccepted({ ...record, command, role });
  const started = deps.now();
  const failure = await apply(parsed.value.parameters, deps.device);
  deps.audit.commandDone({
    ...record,
    command,
    role,
    ok: failure === undefined,
    outcome: failure?.text ?? "OK",
    durationMs: deps.now() - started,
  });
  return failure;
}

/** Every node must be this device and every parameter one of its actuators. */
function checkTargets(
  nodes: string[],
  parameters: Array<{ name: string }>,
  device: DeviceControl,
): Refusal | undefined {
  const description = device.description;
  const notFound = {
    code: "NotFound" as const,
    type: "cancel" as const,
    condition: "item-not-found" as const,
  };
  const node = nodes.find((n) => n !== description?.id);
  if (node !== undefined) return { ...notFound, nodeId: node, text: `no node ${node}` };
  const names = new Set(description?.actuators.map((a) => a.name));
  const missing = parameters.find((p) => !names.has(p.name));
  if (missing === undefined) return undefined;
  const known = [...names].join(", ") || "none";
  return {
    ...notFound,
    parameter: missing.name,
    text: `unknown actuator ${missing.name} (this device has: ${known})`,
  };
}

/** Sets each parameter in turn; stops at the first the device does not confirm. */
async function apply(
  parameters: Array<{ name: string; value: string }>,
  device: DeviceControl,
): Promise<Refusal | undefined> {
  for (const p of parameters) {
    try {
      await device.setActuator(p.name, p.value);
    } catch (error) {
      const [type, condition] =
        error instanceof DeviceCommandError
          ? DEVICE_ERRORS[error.failure]
          : (["cancel", "internal-server-error"] as const);
      const text = deviceFailureText(error, `set ${p.name}`);
      return { code: "OtherError", type, condition, text, parameter: p.name };
    }
  }
  return undefined;
}
