/**
 * What the agent answers over IQ on every session: disco and version, XEP-0050 commands,
 * XEP-0323 readouts and XEP-0325 control. Registered anew on each connection's client.
 */
import type { AdhocCommands } from "./adhoc-handler.js";
import type { XmppClient } from "./client.js";
import { registerControl, type ControlDeps } from "./control-handler.js";
import { registerIqHandlers } from "./iq-handlers.js";
import { registerReadout, type ReadoutDeps } from "./readout-handler.js";

export interface XmppServicesDeps extends ControlDeps, Omit<ReadoutDeps, "source"> {
  adhoc: AdhocCommands;
  /** What readouts report: the device, the latest reading and recent history. */
  readings: ReadoutDeps["source"];
}

export function registerXmppServices(client: XmppClient, deps: XmppServicesDeps): void {
  const { adhoc, access, audit, limiter, device, readings, send, now } = deps;
  registerIqHandlers(client, { commands: (from) => adhoc.commandsFor(from) });
  adhoc.register(client);
  registerReadout(client, { access, audit, limiter, source: readings, send, now });
  registerControl(client, { access, audit, limiter, device, now });
}
