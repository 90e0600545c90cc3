/** The health endpoint's Prometheus text (src/health/metrics.ts) and `iot-agent status`. */
import { describe, expect, it } from "vitest";
import type { AgentStatus } from "../../src/agent.js";
import { runStatus } from "../../src/cli/status.js";
import { emptyLinkStats } from "../../src/device/link-stats.js";
import type { OutboxHealth } from "../../src/core/outbox/index.js";
import { prometheusText } from "../../src/health/metrics.js";
import { startHealthServer } from "../../src/health/server.js";
import { agentPresence } from "../../src/presence.js";

const healthy: OutboxHealth = {
  state: "ok",
  failure: undefined,
  failures: 0,
  refusedWhileFailing: 0,
};

const SINCE = Date.parse("2025-03-01T10:00:00Z");
const failing: OutboxHealth = {
  state: "failing",
  failure: {
    since: SINCE,
    op: "fdatasync",
    file: "/var/lib/iot-agent/outbox/seg-0000000000000001.log",
    error: "EIO: i/o error, fdatasync",
    refused: 17,
    attempts: 2,
    nextAttemptAt: SINCE + 7_000,
    recoveredAt: undefined,
  },
  failures: 1,
  refusedWhileFailing: 17,
};

function status(deviceState = "online", outboxHealth = healthy): AgentStatus {
  const relay = { delivered: 40, replayed: 5, deliveries: 40, failures: 1, catchingUp: false };
  return {
    xmpp: { online: true, jid: "agent@example.org/iot-agent", sessions: 3 },
    device: { state: deviceState, id: "envnode-01", boot: "b1" },
    lastReading: undefined,
    link: { ...emptyLinkStats(), readings: 42, opens: 1 },
    sinks: {
      xmpp: { pending: 2, dropped: 0, relay, transport: {} },
      mqtt: { pending: 7, dropped: 3, relay: { ...relay, delivered: 35 }, transport: {} },
    },
    outbox: {
      ...{ pending: 2, dropped: 0, bytes: 4096, refused: 0, records: 42, fsyncs: 30 },
      ...outboxHealth,
    },
    commands: [
      { transport: "chat", result: "done", count: 5 },
      { transport: "mqtt", result: "failed", count: 1 },
      { transport: "chat", result: "refused", reason: "stranger", count: 2 },
    ],
  };
}

describe("prometheusText", () => {
  it("gives each figure a HELP, a TYPE and per-sink samples", () => {
    const text = prometheusText(status());
    expect(text).toContain(
      "# TYPE iot_agent_readings_received_total counter\niot_agent_readings_received_total 42\n",
    );
    expect(text).toContain('iot_agent_outbox_pending{sink="mqtt"} 7\n');
    expect(text).toContain('iot_agent_outbox_dropped_total{sink="mqtt"} 3\n');
    expect(text).toContain('iot_agent_readings_delivered_total{sink="xmpp"} 40\n');
    expect(text).toContain("iot_agent_last_reading_timestamp_seconds NaN\n");
    expect(text).toContain("iot_agent_xmpp_sessions_total 3\n");
    expect(text).toContain(
      'iot_agent_commands_total{transport="chat",result="refused",reason="stranger"} 2\n',
    );
    expect(text).toContain('iot_agent_commands_total{transport="mqtt",result="failed"} 1\n');
    for (const line of text.trim().split("\n")) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) iot_agent_\w+ .+|iot_agent_\w+(\{[^}]*\})? (-?\d+(\.\d+)?|NaN))$/,
      );
    }
  });
});

describe("iot-agent status", () => {
  async function ask(s: AgentStatus) {
    const server = await startHealthServer("127.0.0.1", 0, () => s);
    let out = "";
    try {
      const code = await runStatus(["--url", server.url], {
        out: (t) => void (out += t),
        err: () => undefined,
      });
      return { code, out };
    } finally {
      await server.close();
    }
  }

  it("exits 0 when XMPP and the device are online, 3 when the device is not", async () => {
    const healthy = await ask(status());
    expect(healthy.code).toBe(0);
    expect(healthy.out).toMatch(/mqtt: 7 pending, 3 dropped, 35 delivered/);
    expect(healthy.out).toMatch(/^xmpp: +online as agent@example.org\/iot-agent, session 3$/m);
    expect(healthy.out).toMatch(/^commands: 5 done, 1 failed, 2 refused$/m);
    const degraded = await ask(status("missing"));
    expect(degraded.code).toBe(3);
    expect(degraded.out).toMatch(/^device: +missing/m);
  });

  it("says when the server gives no acks, so readings leave the outbox on write", async () => {
    const s = status();
    const acked = await ask({ ...s, xmpp: { ...s.xmpp, serverAcks: true } });
    expect(acked.out).toMatch(/^xmpp: +online as agent@example.org\/iot-agent, session 3$/m);
    const unacked = await ask({ ...s, xmpp: { ...s.xmpp, serverAcks: false } });
    expect(unacked.out).toMatch(
      /^xmpp: +online as \S+, session 3, no server acks: readings leave the outbox on write$/m,
    );
  });
});

describe("a failing outbox", () => {
  const cause = "fdatasync seg-0000000000000001.log: EIO: i/o error, fdatasync";

  it("is a gauge and counts in /metrics, back to 0 once recovered", () => {
    const text = prometheusText(status("online", failing));
    expect(text).toContain("iot_agent_outbox_failing 1\n");
    expect(text).toContain("iot_agent_outbox_failures_total 1\n");
    expect(text).toContain("iot_agent_outbox_refused_while_failing_total 17\n");
    const recovered = { ...failing, state: "ok" as const };
    expect(prometheusText(status("online", recovered))).toContain("iot_agent_outbox_failing 0\n");
  });

  it("is a FAILING line in `iot-agent status` and `stats`, and exit 3", async () => {
    const server = await startHealthServer("127.0.0.1", 0, () => status("online", failing));
    let out = "";
    try {
      const io = { out: (t: string) => void (out += t), err: () => undefined };
      expect(await runStatus(["--url", server.url], io)).toBe(3);
    } finally {
      await server.close();
    }
    expect(out).toContain(
      `  FAILING: failing since 2025-03-01T10:00:00.000Z (${cause}): 17 readings refused, 2 attempts to reopen`,
    );
  });

  it("outranks the device in the presence status", () => {
    const link = { state: "online" as const, device: undefined, path: "/dev/ttyACM0" };
    expect(agentPresence(link, healthy)).toEqual({ status: "online: device" });
    expect(agentPresence(link, failing)).toEqual({
      show: "dnd",
      status: `degraded: outbox failing since 2025-03-01T10:00:00.000Z (${cause}), readings refused; online: device`,
    });
  });
});
