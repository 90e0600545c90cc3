/** Agent configuration: schema rules, problem positions, secrets (src/config). */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";

const ENV = { IOT_AGENT_XMPP_PASSWORD: "unused-in-parse" };

// One key per line so that each case below can name the line it breaks.
const BASE = [
  /*  1 */ "xmpp:",
  /*  2 */ "  service: xmpp://xmpp.example.org:5222",
  /*  3 */ "  domain: example.org",
  /*  4 */ "  username: sensor1",
  /*  5 */ "  password: { env: IOT_AGENT_XMPP_PASSWORD }",
  /*  6 */ "  reconnect: { initialSeconds: 1, maxSeconds: 60 }",
  /*  7 */ "device:",
  /*  8 */ "  port: /dev/ttyACM0",
  /*  9 */ "  baud: 115200",
  /* 10 */ "access:",
  /* 11 */ "  allow:",
  /* 12 */ "    - { jid: owner@example.org, role: admin }",
  /* 13 */ "    - { jid: ops@example.org, role: operator }",
  /* 14 */ "  strangers: error",
  /* 15 */ "  rateLimit: { commands: 20, perSeconds: 60 }",
  /* 16 */ "telemetry:",
  /* 17 */ "  subscribers: [dashboard@example.org]",
  /* 18 */ "  sensors:",
  /* 19 */ "    temp: { mode: change, deadband: 0.2 }",
  /* 20 */ "    hum: { mode: interval, intervalSeconds: 60 }",
  /* 21 */ "alerts:",
  /* 22 */ "  - { name: too-hot, sensor: temp, above: 30, forSeconds: 60 }",
  /* 23 */ "log: { level: info }",
  /* 24 */ "outbox: { dir: /var/lib/iot-agent/outbox }",
];

/** BASE with the given 1-based lines replaced. */
function edit(lines: Record<number, string>): string {
  return BASE.map((line, i) => lines[i + 1] ?? line).join("\n") + "\n";
}

function problems(text: string, env: NodeJS.ProcessEnv = ENV): readonly string[] {
  try {
    parseConfig(text, "agent.yaml", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const RELAY = "role: operator, actuators: [relay]";

describe("parseConfig", () => {
  it("leaves MQTT commands off without an mqtt.commands section", () => {
    const mqtt = (commands: string) =>
      edit({ 24: `mqtt:\n  url: mqtts://b:8883\n${commands}outbox: { dir: /x }` });
    expect(parseConfig(mqtt(""), "agent.yaml", ENV).config.mqtt?.commands).toBeUndefined();
    const on = parseConfig(mqtt(`  commands: { ${RELAY} }\n`), "agent.yaml", ENV);
    expect(on.config.mqtt?.commands).toEqual({ role: "operator", actuators: ["relay"] });
  });

  it("accepts the base file and fills in defaults", () => {
    const { config, warnings } = parseConfig(edit({}), "agent.yaml", ENV);
    expect(warnings).toEqual([]);
    expect(config.xmpp).toMatchObject({ resource: "iot-agent", tls: { allowPlaintext: false } });
    expect(config.device).toEqual({
      port: "/dev/ttyACM0",
      baud: 115200,
      emulate: false,
      commandTimeoutSeconds: 2,
    });
    expect(config.telemetry.default).toEqual({ mode: "every" });
    expect(config.telemetry.batch).toEqual({ maxReadings: 1, maxDelaySeconds: 0 });
    expect(config.alerts[0]).toEqual({
      name: "too-hot",
      sensor: "temp",
      above: 30,
      forSeconds: 60,
    });
    expect(config.log.level).toBe("info");
    expect(config.clock).toEqual({ synchronized: "auto" });
  });

  it("derives the service from the domain and lowercases JIDs", () => {
    const text = edit({ 2: "  # no service", 12: "    - { jid: Owner@Example.ORG, role: admin }" });
    const { config } = parseConfig(text, "agent.yaml", ENV);
    expect(config.xmpp.service).toBe("xmpp://example.org:5222");
    expect(config.access.allow[0]?.jid).toBe("owner@example.org");
  });

  it.each([
    [
      "a typo'd key",
      { 4: "  usernme: sensor1" },
      "agent.yaml:4:3 xmpp.usernme: unknown key; expected one of service, domain, username, " +
        "password, resource, tls, reconnect, keepaliveSeconds (did you mean username?)",
    ],
    [
      "an unknown top-level key",
      { 23: "logging: { level: info }" },
      "agent.yaml:23:1 logging: unknown key; expected one of xmpp, device, access, telemetry, " +
        "outbox, clock, mqtt, health, alerts, log (did you mean log?)",
    ],
    [
      "a JID with a resource",
      { 12: "    - { jid: owner@example.org/phone, role: admin }" },
      'agent.yaml:12:14 access.allow[0].jid: expected a bare JID localpart@domain, found "owner@example.org/phone"; drop the /resource',
    ],
    [
      "a JID without localpart",
      { 17: "  subscribers: [dashboard]" },
      'agent.yaml:17:17 telemetry.subscribers[0]: expected a bare JID localpart@domain, found "dashboard"; the JID has no localpart@',
    ],
    [
      "a localpart over 1023 bytes",
      { 17: `  subscribers: [${"é".repeat(512)}@example.org]` },
      [
        "agent.yaml:17:17 telemetry.subscribers[0]: expected a bare JID localpart@domain, found ",
        '…"; the localpart is longer than 1023 bytes',
      ],
    ],
    [
      "a duplicated JID (case-insensitively)",
      { 13: "    - { jid: OWNER@example.org, role: operator }" },
      'agent.yaml:13:14 access.allow[1].jid: expected each JID once, found "owner@example.org" again (first at [0])',
    ],
    [
      "a duplicated JID (fullwidth letters, the same account after normalisation)",
      { 13: "    - { jid: ｏｗｎｅｒ@example.org, role: operator }" },
      'agent.yaml:13:14 access.allow[1].jid: expected each JID once, found "owner@example.org" again (first at [0])',
    ],
    [
      "a JID with a character RFC 7622 refuses (a ligature)",
      { 13: "    - { jid: ﬁle@example.org, role: operator }" },
      'agent.yaml:13:14 access.allow[1].jid: expected a bare JID localpart@domain, found "ﬁle@example.org"; it holds characters RFC 7622 does not allow',
    ],
    [
      "an unknown role",
      { 13: "    - { jid: ops@example.org, role: root }" },
      'agent.yaml:13:37 access.allow[1].role: expected one of viewer, operator, admin, found "root"',
    ],
    [
      "an alert with both above and below",
      { 22: "  - { name: too-hot, sensor: temp, above: 30, below: 10 }" },
      "agent.yaml:22:5 alerts[0]: expected exactly one of above or below, found both",
    ],
    [
      "an alert with neither above nor below",
      { 22: "  - { name: too-hot, sensor: temp }" },
      "agent.yaml:22:5 alerts[0]: expected exactly one of above or below, found neither",
    ],
    [
      "a bad baud rate",
      { 9: "  baud: 12345" },
      "agent.yaml:9:9 device.baud: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, " +
        "115200, 230400, 460800, 921600, found 12345",
    ],
    [
      "a missing device port",
      { 8: "  emulate: false" },
      "agent.yaml:7:1 device.port: expected the board's serial device, e.g. /dev/ttyACM0, found nothing (the key is missing)",
    ],
    [
      "mode change without deadband",
      { 19: "    temp: { mode: change }" },
      "agent.yaml:19:5 telemetry.sensors.temp.deadband: expected a number, found nothing",
    ],
    [
      "a negative deadband",
      { 19: "    temp: { mode: change, deadband: -0.5 }" },
      "agent.yaml:19:37 telemetry.sensors.temp.deadband: expected a number at least 0, found -0.5",
    ],
    [
      "mode interval with intervalSeconds 0",
      { 20: "    hum: { mode: interval, intervalSeconds: 0 }" },
      "agent.yaml:20:45 telemetry.sensors.hum.intervalSeconds: expected a number above 0, found 0",
    ],
    [
      "an unknown mode",
      { 20: "    hum: { mode: sometimes }" },
      'agent.yaml:20:18 telemetry.sensors.hum.mode: expected one of every, interval, change, found "sometimes"',
    ],
    [
      "a sensor name the device cannot have",
      { 20: "    Hum: { mode: every }" },
      'agent.yaml:20:5 telemetry.sensors.Hum: expected a sensor name like temp ([a-z][a-z0-9_]*, at most 16 characters), found "Hum"',
    ],
    [
      "a service that is not xmpp://",
      { 2: "  service: https://xmpp.example.org:5222" },
      'agent.yaml:2:12 xmpp.service: expected an xmpp:// or xmpps:// URL with host and port, e.g. xmpp://xmpp.example.org:5222, found "https://xmpp.example.org:5222"; use xmpp:// (STARTTLS) or xmpps:// (direct TLS)',
    ],
    [
      "a service without port",
      { 2: "  service: xmpps://xmpp.example.org" },
      "agent.yaml:2:12 xmpp.service: expected an xmpp:// or xmpps:// URL with host and port",
    ],
    [
      "maxSeconds below initialSeconds",
      { 6: "  reconnect: { initialSeconds: 30, maxSeconds: 10 }" },
      "agent.yaml:6:48 xmpp.reconnect.maxSeconds: expected at least initialSeconds (30), found 10",
    ],
    [
      "a fractional rate limit",
      { 15: "  rateLimit: { commands: 2.5, perSeconds: 60 }" },
      "agent.yaml:15:26 access.rateLimit.commands: expected a whole number, found 2.5",
    ],
    [
      "an unknown strangers policy",
      { 14: "  strangers: ignore" },
      'agent.yaml:14:14 access.strangers: expected one of error, silence, found "ignore"',
    ],
    [
      "a missing outbox",
      { 24: "# no outbox" },
      "agent.yaml:1:1 outbox: expected a mapping, found nothing (the key is missing)",
    ],
    [
      "a relative outbox directory",
      { 24: "outbox: { dir: var/outbox }" },
      'agent.yaml:24:16 outbox.dir: expected an absolute path, found "var/outbox"; relative paths',
    ],
    [
      "an outbox bound smaller than two segments",
      { 24: "outbox: { dir: /x, maxMegabytes: 1, segmentKilobytes: 1024 }" },
      "agent.yaml:24:34 outbox.maxMegabytes: expected at least two segments (2 × segmentKilobytes = 2048 KiB), found 1",
    ],
    [
      "an unknown clock mode",
      { 24: "clock: { synchronized: yes }\noutbox: { dir: /x }" },
      'agent.yaml:24:24 clock.synchronized: expected one of auto, always, never, found "yes"',
    ],
    [
      "a plaintext MQTT broker without allowPlaintext",
      { 24: "mqtt: { url: mqtt://broker:1883 }\noutbox: { dir: /x }" },
      "agent.yaml:24:14 mqtt.url: expected mqtts://, found mqtt:// (set tls.allowPlaintext: true to allow it)",
    ],
    [
      "MQTT commands without a role or actuators",
      { 24: "mqtt:\n  url: mqtts://b:8883\n  commands: { enabled: true }\noutbox: { dir: /x }" },
      [
        "agent.yaml:26:3 mqtt.commands.role: expected one of viewer, operator, admin, found nothing",
        "agent.yaml:26:3 mqtt.commands.actuators: expected a list like [relay], found nothing",
      ],
    ],
    [
      "MQTT commands turned off inside the section",
      {
        24: `mqtt:\n  url: mqtts://b:8883\n  commands: { enabled: false, ${RELAY} }\noutbox: { dir: /x }`,
      },
      "agent.yaml:26:24 mqtt.commands.enabled: expected true, or no mqtt.commands section to turn commands off, found false",
    ],
    [
      "an MQTT command role that does not exist",
      {
        24: "mqtt:\n  url: mqtts://b:8883\n  commands: { role: root, actuators: [relay] }\noutbox: { dir: /x }",
      },
      'agent.yaml:26:21 mqtt.commands.role: expected one of viewer, operator, admin, found "root"',
    ],
    [
      "an empty MQTT actuator list",
      {
        24: "mqtt:\n  url: mqtts://b:8883\n  commands: { role: operator, actuators: [] }\noutbox: { dir: /x }",
      },
      "agent.yaml:26:42 mqtt.commands.actuators: expected at least one actuator (leave mqtt.commands out for none)",
    ],
    [
      "an MQTT actuator listed twice",
      {
        24: "mqtt:\n  url: mqtts://b:8883\n  commands: { role: operator, actuators: [relay, relay] }\noutbox: { dir: /x }",
      },
      'agent.yaml:26:50 mqtt.commands.actuators[1]: expected each actuator once, found "relay" again (first at [0])',
    ],
    [
      "a relative password file",
      { 5: "  password: { file: secrets/xmpp }" },
      "agent.yaml:5:21 xmpp.password.file: expected an absolute path, found a string (not shown); relative paths",
    ],
    [
      "both env and file for the password",
      { 5: "  password: { env: A, file: /etc/p }" },
      "agent.yaml:5:13 xmpp.password: expected exactly one of env or file, found both",
    ],
    [
      "a boolean written as yes",
      { 9: "  emulate: yes" },
      'agent.yaml:9:12 device.emulate: expected true or false, found "yes"',
    ],
  ])("rejects %s", (_name, lines: Record<number, string>, expected: string | string[]) => {
    const found = problems(edit(lines)).join("\n");
    for (const part of [expected].flat()) expect(found).toContain(part);
  });

  it("names a missing environment variable, with its position", () => {
    expect(problems(edit({}), {})).toEqual([
      "agent.yaml:5:20 xmpp.password.env: expected the XMPP password in an environment " +
        "variable, found IOT_AGENT_XMPP_PASSWORD not set",
    ]);
    expect(problems(edit({}), { IOT_AGENT_XMPP_PASSWORD: "" })[0]).toContain(
      "found IOT_AGENT_XMPP_PASSWORD set but empty",
    );
  });

  it("reports YAML syntax errors with line and column", () => {
    const found = problems(edit({ 17: "  subscribers: [dashboard@example.org" }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^agent\.yaml:\d+:\d+ YAML: /);
    const duplicate = problems(edit({ 9: "  port: /dev/ttyUSB0" }));
    expect(duplicate[0]).toMatch(/^agent\.yaml:9:3 YAML: Map keys must be unique/);
  });

  it("reports an empty file", () => {
    expect(problems("")).toEqual([
      "agent.yaml: (top level): expected a mapping, found an empty value",
    ]);
  });

  it("lists every problem at once, in file order", () => {
    const text = edit({
      4: "  usernme: sensor1",
      9: "  baud: 12345",
      13: "    - { jid: ops@example.org/laptop, role: root }",
      22: "  - { name: too-hot, sensor: temp, above: 30, below: 10 }",
    });
    const found = problems(text, {});
    expect(found.map((p) => p.replace(/ .*/, ""))).toEqual([
      "agent.yaml:1:1", // xmpp.username missing: points at the mapping that lacks it
      "agent.yaml:4:3",
      "agent.yaml:5:20",
      "agent.yaml:9:9",
      "agent.yaml:13:14",
      "agent.yaml:13:44",
      "agent.yaml:22:5",
    ]);
    expect(found[0]).toContain("xmpp.username: expected the localpart");
  });

  it("warns about plaintext, an empty allow list and the emulator", () => {
    const text = edit({
      6: "  tls: { allowPlaintext: true }",
      9: "  emulate: true",
      11: "  allow: []",
      12: "",
      13: "",
    });
    const { warnings } = parseConfig(text, "agent.yaml", ENV);
    expect(warnings).toEqual([
      expect.stringMatching(/^agent\.yaml:6:26 xmpp\.tls\.allowPlaintext: true: .*clear text/),
      expect.stringMatching(/^agent\.yaml:9:12 device\.emulate: true: /),
      expect.stringMatching(/^agent\.yaml:11:10 access\.allow: empty: nobody may send commands/),
    ]);
  });
});

describe("the example configuration", () => {
  it("loads with the password in the environment", async () => {
    const env = { IOT_AGENT_XMPP_PASSWORD: "example-password" };
    const { config, password, warnings } = await loadConfig("config/agent.example.yaml", env);
    expect(password).toBe("example-password");
    expect(config.xmpp.password).toEqual({ env: "IOT_AGENT_XMPP_PASSWORD" });
    expect(config.access.allow).toHaveLength(2);
    expect(config.telemetry.sensors.temp).toEqual({
      mode: "change",
      deadband: 0.2,
      maxIntervalSeconds: 300,
    });
    expect(config.alerts.map((a) => a.name)).toEqual(["too-hot", "too-dry"]);
    // Only a permission warning is acceptable (a checkout is usually mode 0644).
    expect(warnings.filter((w) => !w.includes("chmod 600"))).toEqual([]);
  });
});

describe("ConfigError", () => {
  it("is an Error listing one problem per line", () => {
    const error = new ConfigError(["a:1:1 x: one", "a:2:1 y: two"]);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ConfigError");
    expect(error.message).toBe("a:1:1 x: one\na:2:1 y: two");
  });
});
