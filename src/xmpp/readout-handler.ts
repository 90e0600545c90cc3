/**
 * Serves XEP-0323 readout requests (`<req>`, `<cancel>`) on each new client: viewers and above
 * may read, everyone else is refused and audited, the same as a chat `get`.
 */
import type { AccessList } from "../core/access.js";
import type { AuditLog } from "../core/audit.js";
import type { RateLimiter } from "../core/rate-limit.js";
import type { Element, XmppClient } from "./client.js";
import { iqError, iqPayload, iqSender, replaceEchoedPayload } from "./iq-handlers.js";
import {
  parseReadoutRequest,
  readoutAccepted,
  readoutCancelled,
  readoutFailure,
  readoutMessage,
  readoutRejected,
  selectReadings,
  seqnrOf,
  type ReadoutRefusal,
  type ReadoutSource,
} from "./readout.js";
import { SENSORDATA_NS } from "./sensordata.js";

export interface ReadoutDeps {
  access: AccessList;
  audit: AuditLog;
  limiter: RateLimiter;
  source: () => ReadoutSource;
  send: (stanza: Element) => Promise<void>;
  now: () => number;
}

export function registerReadout(client: XmppClient, deps: ReadoutDeps): void {
  client.iqCallee.get(SENSORDATA_NS, "req", (ctx) => handleReq(ctx, deps));
  client.iqCallee.get(SENSORDATA_NS, "cancel", (ctx) => {
    // Every readout is answered at once, so there is never one left to cancel.
    const cancel = iqPayload(ctx);
    const seqnr = cancel === undefined ? undefined : seqnrOf(cancel);
    return seqnr === undefined ? iqError("modify", "bad-request") : readoutCancelled(seqnr);
  });
}

function handleReq(ctx: object, deps: ReadoutDeps): Element {
  const req = iqPayload(ctx) as Element;
  const { from, sender, role } = iqSender(ctx, deps.access);
  const record = { sender: from, transport: "sensordata" as const, command: "readout" };
  if (sender === undefined || role === undefined) {
    deps.audit.commandRefused({ ...record, role, reason: "stranger" });
    return reject(ctx, seqnrOf(req), {
      type: "auth",
      condition: "forbidden",
      text: "Access denied",
    });
  }
  if (!deps.limiter.take(sender).ok) {
    deps.audit.commandRefused({ ...record, role, reason: "rate-limited" });
    return reject(ctx, seqnrOf(req), {
      type: "cancel",
      condition: "forbidden",
      text: "Too many requests",
    });
  }
  const parsed = parseReadoutRequest(req, deps.now());
  if (!parsed.ok) return reject(ctx, seqnrOf(req), parsed.refusal);
  const request = parsed.value;
  const source = deps.source();
  const selected = selectReadings(request, source);
  if (!selected.ok) return reject(ctx, request.seqnr, selected.refusal);
  deps.audit.commandAccepted({ ...record, role });
  const { momentary, historical } = selected.value;
  const reply =
    momentary.length + historical.length > 0
      ? readoutMessage(from, request.seqnr, selected.value)
      : readoutFailure(
          from,
          request.seqnr,
          source.device?.id ?? "",
          "no reading to report",
          deps.now(),
        );
  // After the IQ result: xmpp.js writes that reply once this handler has returned.
  setImmediate(() => void deps.send(reply).catch(() => undefined));
  return readoutAccepted(request.seqnr);
}

/** An error reply carrying `<rejected>` where XEP-0323 clients look for it. */
function reject(ctx: object, seqnr: string | undefined, refusal: ReadoutRefusal): Element {
  replaceEchoedPayload(ctx, readoutRejected(seqnr, refusal.text));
  return iqError(refusal.type, refusal.condition);
}
