/**
 * The agent's figures for a person: `iot-agent status` prints this, and admins get the same
 * text over XMPP with the `stats` command, so both say the same thing in the same words.
 */
import type { AgentStatus } from "../agent.js";
import { totalWireErrors } from "../device/link-stats.js";
import { attempts, failingSince, nextAttempt } from "../outbox-health.js";

export function statusSummary(s: AgentStatus, now: number): string {
  const last = s.lastReading;
  const age = last ? `${((now - last.receivedAt) / 1000).toFixed(1)} s ago` : "none yet";
  const sinks = Object.entries(s.sinks).map(
    ([name, k]) =>
      `  ${name}: ${k.pending} pending, ${k.dropped} dropped, ${k.relay.delivered} delivered` +
      `${k.relay.catchingUp ? " (catching up)" : ""}`,
  );
  const session = s.xmpp.sessions > 1 ? `, session ${s.xmpp.sessions}` : "";
  // Without the server's acks a reading counts as delivered once written to the connection.
  const acks =
    s.xmpp.online && s.xmpp.serverAcks === false
      ? ", no server acks: readings leave the outbox on write"
      : "";
  return [
    `xmpp:    ${s.xmpp.online ? `online as ${s.xmpp.jid ?? "?"}` : "offline"}${session}${acks}`,
    `device:  ${s.device.state}${s.device.id ? ` (${s.device.id}, boot ${s.device.boot ?? "?"})` : ""}`,
    `last reading: ${last ? `#${last.seq} ${age}` : age}`,
    `readings: ${s.link.readings} in, ${s.link.readingsDropped} rejected, ${totalWireErrors(s.link)} bad lines, ${s.link.missingReadings} missing`,
    `commands: ${commandLine(s.commands)}`,
    `outbox:  ${s.outbox.bytes} bytes on disk, ${s.outbox.refused} refused`,
    ...failingLine(s.outbox, now),
    ...sinks,
  ].join("\n");
}

function failingLine(outbox: AgentStatus["outbox"], now: number): string[] {
  const f = outbox.failure;
  if (outbox.state !== "failing" || !f) return [];
  return [
    `  FAILING: ${failingSince(f)}: ${f.refused} readings refused, ${attempts(f.attempts)} to reopen${nextAttempt(f, now)}`,
  ];
}

function commandLine(counts: AgentStatus["commands"]): string {
  const total = (result: string) =>
    counts.filter((c) => c.result === result).reduce((n, c) => n + c.count, 0);
  return `${total("done")} done, ${total("failed")} failed, ${total("refused")} refused`;
}
