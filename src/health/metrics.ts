/**
 * The agent's figures in the Prometheus text format (version 0.0.4), pure: what a scraper or an
 * operator needs to see that readings come in, go out per sink, and where they pile up.
 */
import type { AgentStatus } from "../agent.js";

interface Sample {
  labels?: Record<string, string>;
  value: number;
}

interface Metric {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: Sample[];
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function render(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(",");
      const value = Number.isFinite(s.value) ? String(s.value) : "NaN";
      lines.push(`${m.name}${labels ? `{${labels}}` : ""} ${value}`);
    }
  }
  return lines.join("\n") + "\n";
}

const gauge = (name: string, help: string, samples: Sample[]): Metric => ({
  name,
  help,
  type: "gauge",
  samples,
});
const counter = (name: string, help: string, samples: Sample[]): Metric => ({
  name,
  help,
  type: "counter",
  samples,
});
const one = (value: number): Sample[] => [{ value }];

export function prometheusText(status: AgentStatus): string {
  const { link, outbox } = status;
  const sinks = Object.entries(status.sinks);
  const perSink = (value: (s: (typeof sinks)[number][1]) => number): Sample[] =>
    sinks.map(([sink, s]) => ({ labels: { sink }, value: value(s) }));
  const last = status.lastReading?.receivedAt;
  return render([
    gauge(
      "iot_agent_xmpp_online",
      "1 while the XMPP session is up.",
      one(status.xmpp.online ? 1 : 0),
    ),
    gauge(
      "iot_agent_device_online",
      "1 while the device link is online.",
      one(status.device.state === "online" ? 1 : 0),
    ),
    counter(
      "iot_agent_readings_received_total",
      "Readings decoded from the serial line.",
      one(link.readings),
    ),
    counter(
      "iot_agent_readings_rejected_total",
      "Readings decoded but invalid for the device.",
      one(link.readingsDropped),
    ),
    counter(
      "iot_agent_readings_missing_total",
      "Readings the device sent that never arrived (skipped seqs), across restarts too.",
      one(link.missingReadings),
    ),
    counter(
      "iot_agent_wire_errors_total",
      "Serial lines dropped by the codec, by error.",
      Object.entries(link.wireErrors).map(([error, value]) => ({ labels: { error }, value })),
    ),
    counter("iot_agent_device_opens_total", "Times the serial port was opened.", one(link.opens)),
    counter(
      "iot_agent_xmpp_sessions_total",
      "XMPP sessions opened: the first, then one per reconnect.",
      one(status.xmpp.sessions),
    ),
    counter(
      "iot_agent_commands_total",
      "Commands from every transport, by how they ended.",
      status.commands.map(({ transport, result, reason, count }) => ({
        labels: { transport, result, ...(reason ? { reason } : {}) },
        value: count,
      })),
    ),
    counter("iot_agent_device_commands_total", "Actuator commands, by result.", [
      { labels: { result: "ok" }, value: link.commandsOk },
      { labels: { result: "failed" }, value: link.commandsFailed },
    ]),
    counter(
      "iot_agent_readings_delivered_total",
      "Readings the sink's peer confirmed.",
      perSink((s) => s.relay.delivered),
    ),
    counter(
      "iot_agent_readings_replayed_total",
      "Of those, sent late (after an outage).",
      perSink((s) => s.relay.replayed),
    ),
    counter(
      "iot_agent_delivery_failures_total",
      "Deliveries not confirmed, to be sent again.",
      perSink((s) => s.relay.failures),
    ),
    gauge(
      "iot_agent_outbox_pending",
      "Readings waiting for the sink's peer.",
      perSink((s) => s.pending),
    ),
    counter(
      "iot_agent_outbox_dropped_total",
      "Readings dropped unsent at the outbox bounds.",
      perSink((s) => s.dropped),
    ),
    gauge("iot_agent_outbox_bytes", "Size of the outbox on disk.", one(outbox.bytes)),
    counter(
      "iot_agent_outbox_refused_total",
      "Readings the outbox could not store.",
      one(outbox.refused),
    ),
    counter("iot_agent_outbox_fsyncs_total", "Disk syncs by the outbox.", one(outbox.fsyncs)),
    gauge(
      "iot_agent_outbox_failing",
      "1 while the outbox's disk refuses writes (readings are refused).",
      one(outbox.state === "failing" ? 1 : 0),
    ),
    counter(
      "iot_agent_outbox_failures_total",
      "Times the outbox started failing.",
      one(outbox.failures),
    ),
    counter(
      "iot_agent_outbox_refused_while_failing_total",
      "Readings refused because the outbox was failing.",
      one(outbox.refusedWhileFailing),
    ),
    gauge(
      "iot_agent_last_reading_timestamp_seconds",
      "When the last reading arrived.",
      one(last === undefined ? NaN : last / 1000),
    ),
  ]);
}
