/**
 * Interop without the agent: a private Prosody, an @xmpp/client peer built from our stanza
 * builders, and slixmpp (test/support/xmpp_probe.py) as the independent other end.
 *
 * The peer runs as a child process because @xmpp/client takes no CA option: the only way to
 * make it trust the test certificate is NODE_EXTRA_CA_CERTS, which Node reads at start-up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Reading } from "../../src/core/reading.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { sampleReading } from "../support/stanza-fixtures.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const url = (path: string) => pathToFileURL(join(ROOT, path)).href;
const PYTHON = "/usr/bin/python3"; // slixmpp is a Debian package; a pyenv python3 lacks it
const PASSWORD = "s3cret-pw";

/** The @xmpp/client side. Stdout: one JSON line per event (online, sent, inbound). */
const PEER = `
import { client, xml } from ${JSON.stringify(url("node_modules/@xmpp/client/index.js"))};
const s = await import(${JSON.stringify(url("src/xmpp/stanzas.ts"))});
const { classifyInbound } = await import(${JSON.stringify(url("src/xmpp/inbound.ts"))});
const cfg = JSON.parse(process.env.PEER_CONFIG);
const say = (event) => process.stdout.write(JSON.stringify(event) + "\\n");
const xmpp = client({ service: cfg.service, domain: "localhost", username: cfg.user,
  password: cfg.password, resource: "peer" });
xmpp.on("error", (err) => process.stderr.write(String(err) + "\\n"));
xmpp.on("stanza", async (stanza) => {
  if (!stanza.is("message")) return;
  const msg = classifyInbound(stanza);
  say({ event: "inbound", msg });
  if (msg.kind === "chat") {
    const receipt = s.receiptFor(stanza, "ack-" + msg.id);
    if (receipt) await xmpp.send(receipt);
    await xmpp.send(s.chatReply({ to: msg.from, id: "reply-" + msg.id, body: "echo: " + msg.body,
      thread: msg.thread, inReplyTo: msg.id }));
  } else if (msg.kind === "oversized") {
    await xmpp.send(s.stanzaError(stanza, "modify", "policy-violation",
      "body over " + msg.limit + " characters"));
  }
});
xmpp.on("online", async (address) => {
  await xmpp.send(s.presence({ status: "peer" }));
  // Stanzas are handled in order: after this answer our presence is in effect.
  await xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
  say({ event: "online", jid: address.toString() });
  if (cfg.telemetryTo) {
    await xmpp.send(s.telemetryMessage({ to: cfg.telemetryTo, id: "tm-1", readings: cfg.readings }));
    say({ event: "sent" });
  }
});
process.on("SIGTERM", () => xmpp.stop().finally(() => process.exit(0)));
await xmpp.start();
`;

interface Proc {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  /** Resolves with the first line (past or future) of `stream` matching `pattern`. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, ms?: number): Promise<string>;
  exit: Promise<number | null>;
}

const running: ChildProcess[] = [];

function track(child: ChildProcess, name: string): Proc {
  running.push(child);
  const seen = { stdout: [] as string[], stderr: [] as string[] };
  const waiters: Array<() => void> = [];
  for (const stream of ["stdout", "stderr"] as const) {
    let partial = "";
    child[stream]?.on("data", (d: Buffer) => {
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop() ?? "";
      seen[stream].push(...parts);
      waiters.forEach((w) => w());
    });
  }
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    lines: seen.stdout,
    stderr: () => seen.stderr.join("\n"),
    waitFor: (stream, pattern, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(`${name}: no ${stream} line matching ${pattern}:\n${seen.stderr.join("\n")}`),
          );
        }, ms);
        const check = () => {
          const hit = seen[stream].find((l) => pattern.test(l));
          if (hit === undefined) return;
          clearTimeout(timer);
          resolve(hit);
        };
        waiters.push(check);
        check();
      }),
    exit,
  };
}

function probe(server: ProsodyServer, user: string, extra: string[], password = PASSWORD): Proc {
  const args = ["test/support/xmpp_probe.py", `${user}@localhost`, password];
  args.push("--server", `127.0.0.1:${server.port}`, "--ca", server.caFile, ...extra);
  return track(spawn(PYTHON, args, { cwd: ROOT }), "probe");
}

async function peer(server: ProsodyServer, config: Record<string, unknown>): Promise<Proc> {
  const script = join(server.dir, "peer.mjs");
  await writeFile(script, PEER);
  const env = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: server.caFile,
    PEER_CONFIG: JSON.stringify({ service: server.service, password: PASSWORD, ...config }),
  };
  const p = track(spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, env }), "peer");
  await p.waitFor("stdout", /"event":"online"/);
  return p;
}

const json = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;

let server: ProsodyServer;

beforeAll(async () => {
  server = await startProsody();
  await server.register("agent", PASSWORD);
  await server.register("probe", PASSWORD);
  await server.start();
}, 30_000);

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

afterAll(async () => {
  await server?.destroy();
});

const reading: Reading = sampleReading([
  { sensor: "temp", kind: "num", value: 21.5, unit: "°C" },
  { sensor: "rssi", kind: "num", value: -61 },
  { sensor: "door", kind: "enum", value: "closed" },
  { sensor: "motion", kind: "bool", value: false },
]);

describe("XEP-0323 telemetry from @xmpp/client, read by slixmpp", () => {
  it("slixmpp's xep_0323 stanzas see the node, timestamp, fields and our reading ids", async () => {
    const p = probe(server, "probe", ["--expect", "1", "--timeout", "20"]);
    await p.waitFor("stderr", /^READY /);
    await peer(server, { user: "agent", telemetryTo: "probe@localhost", readings: [reading] });
    expect(await p.exit, p.stderr()).toBe(0);
    const [line] = p.lines;
    const got = json(line ?? "{}");
    expect(got).toMatchObject({
      from: "agent@localhost/peer",
      id: "tm-1",
      type: "normal",
      body: "envnode-01 #1523: temp 21.5 °C, rssi -61, door closed, motion off",
      error: null,
      fields_parser: "slixmpp",
      reading_ids: [{ device: "envnode-01", boot: "b7f3", seq: "1523" }],
    });
    const momentary = { momentary: "true", automaticReadout: "true" };
    expect(got.fields).toEqual([
      {
        nodeId: "envnode-01",
        timestamp: "2025-01-02T03:04:05.678Z",
        fields: [
          { name: "temp", typename: "numeric", value: "21.5", unit: "°C", flags: momentary },
          // slixmpp reports the empty (schema-required) unit as no unit at all
          { name: "rssi", typename: "numeric", value: "-61", flags: momentary },
          {
            name: "door",
            typename: "enum",
            value: "closed",
            dataType: "urn:xmpp-iot-agent:enum:door",
            flags: { momentary: "true" },
          },
          { name: "motion", typename: "boolean", value: "false", flags: { momentary: "true" } },
        ],
      },
    ]);
  }, 40_000);
});

describe("chat commands from slixmpp, classified by inbound.ts", () => {
  it("answers with a receipt, a threaded reply, and policy-violation for an oversized body", async () => {
    const agent = await peer(server, { user: "agent" });
    const long = "x".repeat(5000);
    const p = probe(server, "probe", [
      ...["--send", "agent@localhost", "status"],
      ...["--send", "agent@localhost", long],
      ...["--expect", "3", "--timeout", "20"],
    ]);
    expect(await p.exit, p.stderr()).toBe(0);
    const got = p.lines.map(json);
    expect(got).toContainEqual(expect.objectContaining({ id: "ack-probe-1", receipt: "probe-1" }));
    expect(got).toContainEqual(
      expect.objectContaining({
        from: "agent@localhost/peer",
        id: "reply-probe-1",
        type: "chat",
        body: "echo: status",
        thread: "probe-thread-1",
      }),
    );
    expect(got).toContainEqual(
      expect.objectContaining({
        id: "probe-2",
        type: "error",
        error: { type: "modify", condition: "policy-violation", text: "body over 4096 characters" },
      }),
    );
    const inbound = agent.lines.map(json).filter((e) => e.event === "inbound");
    expect(inbound.map((e) => e.msg)).toEqual([
      {
        kind: "chat",
        from: expect.stringMatching(/^probe@localhost\//) as unknown,
        id: "probe-1",
        body: "status",
        thread: "probe-thread-1",
        wantsReceipt: true,
      },
      {
        kind: "oversized",
        from: expect.stringMatching(/^probe@localhost\//) as unknown,
        id: "probe-2",
        thread: "probe-thread-2",
        length: 5000,
        limit: 4096,
      },
    ]);
  }, 40_000);
});

describe("xmpp_probe.py contract", () => {
  it("exits 2 when the server refuses the password", async () => {
    const p = probe(server, "probe", ["--timeout", "15"], "wrong-password");
    expect(await p.exit, p.stderr()).toBe(2);
    expect(p.stderr()).toMatch(/authentication failed/);
    expect(p.lines.filter((l) => l !== "")).toEqual([]);
  }, 30_000);

  it("exits 1 when fewer messages than expected arrive in time", async () => {
    const p = probe(server, "probe", ["--expect", "1", "--timeout", "2"]);
    expect(await p.exit, p.stderr()).toBe(1);
    expect(p.stderr()).toMatch(/READY probe@localhost\/[\s\S]*timeout after 2/);
  }, 30_000);
});
