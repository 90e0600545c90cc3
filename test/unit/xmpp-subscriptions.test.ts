/**
 * Chat subscriptions on disk (src/xmpp/subscription-file.ts, src/xmpp/subscribers.ts) in a real
 * temporary directory: what a restart gets back, what a damaged file or a failed save does, and
 * when readings wait for a subscriber (from-config.ts waitsForSubscriber).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { executeCommand } from "../../src/core/commands.js";
import { chatSubscriptions, waitsForSubscriber } from "../../src/from-config.js";
import { Subscribers } from "../../src/xmpp/subscribers.js";
import { recordingLogger } from "../fuzz/fixtures.js";
import type { Logger } from "../../src/core/logger.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-subscriptions-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (extra = "") =>
  parseConfig(
    `xmpp: { service: "xmpp://a.example.org:5222", domain: example.org, username: s, password: { env: P } }
device: { port: /dev/ttyACM0 }
outbox: { dir: ${dir} }
${extra}`,
    "agent.yaml",
    { P: "x" },
  ).config;

/** What chatSubscriptions logs, as lines; the logger it is given only needs info and warn. */
function logger() {
  const log = recordingLogger();
  return { log, asLogger: log as unknown as Logger };
}

async function restart() {
  const { log, asLogger } = logger();
  const saved = await chatSubscriptions(config(), asLogger);
  return { subscribers: new Subscribers([], saved), log };
}

describe("chat subscriptions across restarts", () => {
  it("come back after a restart, and an unsubscribe stays done", async () => {
    const first = await restart();
    expect(await first.subscribers.add("juliet@example.org")).toBe(true);
    expect(await first.subscribers.add("romeo@example.org")).toBe(true);
    // Replaced by rename: no temporary file is left next to it.
    expect(await readdir(dir)).toEqual(["subscriptions.json"]);

    const second = await restart();
    expect(second.subscribers.recipients()).toEqual([
      { jid: "juliet@example.org", type: "chat" },
      { jid: "romeo@example.org", type: "chat" },
    ]);
    expect(second.log.lines).toMatchObject([{ level: "info", msg: "chat subscriptions restored" }]);
    expect(await second.subscribers.remove("juliet@example.org")).toBe(true);

    const third = await restart();
    expect(third.subscribers.recipients().map((r) => r.jid)).toEqual(["romeo@example.org"]);
  });

  it("a damaged file is named in a warning, and the agent starts with none", async () => {
    const file = join(dir, "subscriptions.json");
    for (const damaged of ['{"version":1,"chat":["juli', '{"version":1,"chat":["a@b","@"]}']) {
      await writeFile(file, damaged);
      const { subscribers, log } = await restart();
      expect(subscribers.recipients()).toEqual([]);
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]?.level).toBe("warn");
      expect(log.lines[0]?.msg).toContain(file);
      expect(log.lines[0]?.msg).toMatch(/not valid JSON|chat\[1\]: expected a bare JID/);
    }
    // The next subscribe writes a good file over it.
    const { subscribers } = await restart();
    await subscribers.add("juliet@example.org");
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      version: 1,
      chat: ["juliet@example.org"],
    });
  });

  it("a subscribe that cannot be saved changes nothing, and the sender is told", async () => {
    const { asLogger } = logger();
    const saved = await chatSubscriptions(config(), asLogger);
    await rm(dir, { recursive: true }); // the directory is gone: the save fails
    const subscribers = new Subscribers([], saved);
    const reply = await executeCommand(
      { verb: "subscribe" },
      {
        sender: "juliet@example.org",
        role: "viewer",
        subscriptions: subscribers,
        device: undefined as never,
        figures: () => "",
        now: () => 0,
      },
    );
    expect(reply.ok).toBe(false);
    expect(reply.text).toMatch(/^subscribe not done: the agent could not save it \(.*ENOENT/);
    expect(subscribers.has("juliet@example.org")).toBe(false);
  });
});

describe("waitsForSubscriber", () => {
  it("waits by default, unless readings go elsewhere and nobody is configured", () => {
    const mqtt = "mqtt: { url: mqtts://broker.example.org:8883 }";
    expect(waitsForSubscriber(config())).toBe(true);
    expect(waitsForSubscriber(config(mqtt))).toBe(false);
    expect(waitsForSubscriber(config(`${mqtt}\ntelemetry: { subscribers: [d@example.org] }`))).toBe(
      true,
    );
    expect(waitsForSubscriber(config(`${mqtt}\ntelemetry: { waitForSubscriber: true }`))).toBe(
      true,
    );
    expect(waitsForSubscriber(config("telemetry: { waitForSubscriber: false }"))).toBe(false);
  });
});
