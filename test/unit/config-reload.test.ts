/** What a SIGHUP reload applies and what it says needs a restart (src/config/reload.ts). */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { planReload } from "../../src/config/reload.js";

const ENV = { P: "x" };
const config = (extra = "", allow = "owner@example.org", service = "xmpp://a.example.org:5222") =>
  parseConfig(
    `xmpp: { service: "${service}", domain: example.org, username: s, password: { env: P } }
device: { port: /dev/ttyACM0 }
outbox: { dir: /var/lib/iot-agent/outbox }
access: { allow: [ { jid: ${allow}, role: admin } ] }
${extra}`,
    "agent.yaml",
    ENV,
  ).config;

describe("planReload", () => {
  it("applies the access list, subscribers and log level", () => {
    const next = config(
      "telemetry: { subscribers: [dash@example.org] }\nlog: { level: debug }",
      "ops@example.org",
    );
    expect(planReload(config(), next)).toEqual({
      apply: ["access.allow", "telemetry.subscribers", "log.level"],
      restart: [],
    });
  });

  it("names what needs a restart, down to the key", () => {
    const next = config(
      "mqtt: { url: mqtts://b:8883 }",
      "owner@example.org",
      "xmpp://b.example.org:5222",
    );
    expect(planReload(config(), next)).toEqual({ apply: [], restart: ["xmpp.service", "mqtt"] });
  });

  it("finds nothing to do in the same configuration", () => {
    expect(planReload(config(), config())).toEqual({ apply: [], restart: [] });
  });
});
