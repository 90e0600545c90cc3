/**
 * The agent's XMPP presence says how the device is doing, so a contact list shows at a glance
 * whether the board is online, missing or misbehaving.
 */
import type { OutboxHealth } from "./core/outbox/index.js";
import type { DeviceDescription } from "./core/reading.js";
import type { LinkState } from "./device/serial-link.js";
import { failingSince } from "./outbox-health.js";

export interface PresenceStatus {
  show?: "away" | "xa" | "dnd";
  status: string;
}

interface LinkView {
  state: LinkState;
  device: DeviceDescription | undefined;
  path: string;
}

/** A failing outbox outranks the device: whatever the device does, its readings are refused. */
export function agentPresence(link: LinkView, outbox: OutboxHealth): PresenceStatus {
  const device = devicePresence(link);
  if (outbox.state !== "failing" || !outbox.failure) return device;
  const failing = failingSince(outbox.failure);
  return { show: "dnd", status: `degraded: outbox ${failing}, readings refused; ${device.status}` };
}

export function devicePresence(link: LinkView): PresenceStatus {
  const name = link.device ? `${link.device.id} (fw ${link.device.firmware})` : "device";
  switch (link.state) {
    case "online":
      return { status: `online: ${name}` };
    case "stalled":
      return { show: "away", status: `degraded: ${name} does not answer` };
    case "incompatible":
      return { show: "dnd", status: `degraded: ${name} speaks an unsupported protocol version` };
    case "handshaking":
      return { show: "away", status: `connecting to ${name} on ${link.path}` };
    case "connecting":
    case "stopped":
      return { show: "xa", status: `device missing: no ${name} on ${link.path}` };
  }
}
