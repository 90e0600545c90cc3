/**
 * The agent's configuration file as a zod schema. Every object is strict so that a typo'd key is
 * an error rather than a setting silently left at its default, and every default is the secure
 * choice (TLS required, strangers refused). Messages say what is expected; the loader adds what
 * was found and where (see messages.ts).
 */
import { isAbsolute } from "node:path";
import { z } from "zod";
import { bareJid as normalizeBareJid } from "../core/jid.js";
import { bareJidProblem, domainProblem, localpartProblem, resourceProblem } from "./jid.js";
import { suggestKey } from "./messages.js";

export const STANDARD_BAUDS = [
  1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
] as const;
export const ROLES = ["viewer", "operator", "admin"] as const;
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type Role = (typeof ROLES)[number];

/** Extra detail a custom issue carries to the message formatter. */
export interface IssueParams {
  /** Why the value was refused, shown after what was found. */
  hint?: string;
  /** The message already says what was found. */
  complete?: boolean;
  /** The value may hold a credential: describe it, never print it. */
  hide?: boolean;
}

/** Where the password comes from; the value itself never lives in the configuration. */
export type SecretRef = { env: string } | { file: string };

// Same grammar as the wire protocol's `name` (firmware-bridge/PROTOCOL.md).
const SENSOR_NAME = /^[a-z][a-z0-9_]{0,15}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ALERT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function strict<S extends z.ZodRawShape>(shape: S, expected = "a mapping") {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        const [only] = issue.keys.length === 1 ? issue.keys : [];
        const guess = only === undefined ? undefined : suggestKey(only, known);
        return `expected one of ${known.join(", ")}${guess ? ` (did you mean ${guess}?)` : ""}`;
      }
      return issue.code === "invalid_type" ? `expected ${expected}` : undefined;
    },
  });
}

/** A string passing `check`, which returns why it does not (a hint, or full issue params). */
function checked(expected: string, check: (value: string) => string | IssueParams | undefined) {
  const notString = (issue: { code?: string }) =>
    issue.code === "invalid_type" ? `expected ${expected}` : undefined;
  return z.string({ error: notString }).superRefine((value, ctx) => {
    const problem = check(value);
    if (problem === undefined) return;
    const params = typeof problem === "string" ? { hint: problem } : problem;
    ctx.addIssue({ code: "custom", message: `expected ${expected}`, params });
  });
}

function serviceProblem(service: string): string | IssueParams | undefined {
  if (!URL.canParse(service)) return "not a URL";
  const url = new URL(service);
  if (url.username || url.password) {
    return { hint: "drop the user:password@, the password goes in xmpp.password", hide: true };
  }
  if (url.protocol !== "xmpp:" && url.protocol !== "xmpps:") {
    return "use xmpp:// (STARTTLS) or xmpps:// (direct TLS)";
  }
  if (!url.hostname) return "no host";
  if (!url.port) return "no port, e.g. :5222 for xmpp:// or :5223 for xmpps://";
  const extra = !["", "/"].includes(url.pathname) || url.search || url.hash;
  return extra ? "nothing may follow the port" : undefined;
}

function unique<T>(what: string, keyOf: (item: T) => string, field?: string) {
  return (items: T[], ctx: z.core.$RefinementCtx<T[]>) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const key = keyOf(item);
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, index);
        return;
      }
      ctx.addIssue({
        code: "custom",
        path: field === undefined ? [index] : [index, field],
        message: `expected each ${what} once, found ${JSON.stringify(key)} again (first at [${first}])`,
        params: { complete: true },
      });
    });
  };
}

const seconds = z.number().positive();
const count = z.int().min(1);
const absolutePath = checked("an absolute path", (p) =>
  isAbsolute(p) ? undefined : "relative paths depend on the directory the agent starts in",
);
const sensorName = z.string().regex(SENSOR_NAME, {
  error: "expected a sensor name like temp ([a-z][a-z0-9_]*, at most 16 characters)",
});
// Normalised the way incoming senders are (core/jid.ts), so duplicates are found here, with a
// line number, rather than by the access list at start-up.
const bareJid = checked("a bare JID localpart@domain", bareJidProblem).transform(
  (jid) => normalizeBareJid(jid) ?? jid,
);

export const secretRefSchema = strict(
  {
    env: z
      .string()
      .regex(ENV_NAME, { error: "expected an environment variable name like IOT_PASSWORD" })
      .optional(),
    file: absolutePath.optional(),
  },
  "{ env: VARIABLE } or { file: /path }, never the password itself",
)
  .superRefine((ref, ctx) => {
    if ((ref.env === undefined) !== (ref.file === undefined)) return;
    const found = ref.env === undefined ? "neither" : "both";
    ctx.addIssue({
      code: "custom",
      message: `expected exactly one of env or file, found ${found}`,
      params: { complete: true },
    });
  })
  .transform((ref): SecretRef =>
    ref.env !== undefined ? { env: ref.env } : { file: ref.file ?? "" },
  );

const reconnect = strict({
  initialSeconds: seconds.default(1),
  maxSeconds: seconds.default(60),
}).superRefine((r, ctx) => {
  if (r.maxSeconds >= r.initialSeconds) return;
  const message = `expected at least initialSeconds (${r.initialSeconds})`;
  ctx.addIssue({ code: "custom", path: ["maxSeconds"], message });
});

const xmpp = strict({
  service: checked(
    "an xmpp:// or xmpps:// URL with host and port, e.g. xmpp://xmpp.example.org:5222",
    serviceProblem,
  ).optional(),
  domain: checked("a domain like example.org", domainProblem),
  username: checked("the localpart of the agent's JID, e.g. sensor1", localpartProblem),
  password: secretRefSchema,
  resource: checked("a resource name", resourceProblem).default("iot-agent"),
  tls: strict({
    caFile: absolutePath.optional(),
    allowPlaintext: z.boolean().default(false),
  }).prefault({}),
  reconnect: reconnect.prefault({}),
  keepaliveSeconds: seconds.default(60),
}).transform((x) => ({ ...x, service: x.service ?? `xmpp://${x.domain}:5222` }));

function mqttUrlProblem(url: string): string | IssueParams | undefined {
  if (!URL.canParse(url)) return "not a URL";
  const u = new URL(url);
  if (u.username || u.password) {
    return { hint: "drop the user:password@, use mqtt.username and mqtt.password", hide: true };
  }
  if (u.protocol !== "mqtt:" && u.protocol !== "mqtts:") return "use mqtts:// (TLS) or mqtt://";
  if (!u.hostname) return "no host";
  return undefined;
}

// Topic levels without wildcards, NUL or an empty first or last level (MQTT 5 §4.7).
// eslint-disable-next-line no-control-regex -- excluding NUL is the point
const TOPIC_LEVELS = /^[^#+\u0000/]([^#+\u0000]*[^#+\u0000/])?$/u;

const mqtt = strict({
  url: checked(
    "an mqtts:// (or mqtt://) URL, e.g. mqtts://broker.example.org:8883",
    mqttUrlProblem,
  ),
  username: z.string().min(1).optional(),
  password: secretRefSchema.optional(),
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,23}$/, { error: "expected 1 to 23 letters, digits, '-' or '_'" })
    .optional(),
  tls: strict({
    caFile: absolutePath.optional(),
    certFile: absolutePath.optional(),
    keyFile: absolutePath.optional(),
    allowPlaintext: z.boolean().default(false),
  }).prefault({}),
  baseTopic: z
    .string()
    .regex(TOPIC_LEVELS, {
      error: "expected topic levels like iot-agent or site/iot (no +, # or edge /)",
    })
    .default("iot-agent"),
  discovery: strict({
    enabled: z.boolean().default(true),
    prefix: z.string().regex(TOPIC_LEVELS).default("homeassistant"),
  }).prefault({}),
  /** Commands on set topics: off unless this section is there. */
  commands: strict({
    // Kept so that files written when commands were on by default still read the same.
    enabled: z
      .literal(true, { error: "expected true, or no mqtt.commands section to turn commands off" })
      .optional(),
    /** Whoever may publish to the broker's set topics acts with this role. */
    role: z.enum(ROLES),
    /** The only actuators that take commands over MQTT. */
    actuators: z
      .array(
        z.string().regex(SENSOR_NAME, {
          error: "expected an actuator name like relay ([a-z][a-z0-9_]*, at most 16 characters)",
        }),
        { error: (i) => (i.code === "invalid_type" ? "expected a list like [relay]" : undefined) },
      )
      .min(1, { error: "expected at least one actuator (leave mqtt.commands out for none)" })
      .superRefine(unique("actuator", (name: string) => name)),
  }).optional(),
}).superRefine((m, ctx) => {
  if (m.url.startsWith("mqtt://") && !m.tls.allowPlaintext) {
    const message = "expected mqtts://, found mqtt:// (set tls.allowPlaintext: true to allow it)";
    ctx.addIssue({ code: "custom", path: ["url"], message, params: { complete: true } });
  }
  if ((m.tls.certFile === undefined) !== (m.tls.keyFile === undefined)) {
    const message = "expected certFile and keyFile together (client certificate)";
    ctx.addIssue({ code: "custom", path: ["tls"], message, params: { complete: true } });
  }
});

const device = strict({
  port: checked("the board's serial device, e.g. /dev/ttyACM0", (port) =>
    port === "" ? {} : undefined,
  ),
  baud: z.literal(STANDARD_BAUDS).default(115200),
  emulate: z.boolean().default(false),
  commandTimeoutSeconds: seconds.default(2),
});

const access = strict({
  allow: z
    .array(strict({ jid: bareJid, role: z.enum(ROLES) }))
    .superRefine(unique("JID", (entry: { jid: string }) => entry.jid, "jid"))
    .default([]),
  strangers: z.enum(["error", "silence"]).default("error"),
  rateLimit: strict({ commands: count.default(20), perSeconds: seconds.default(60) }).prefault({}),
});

const policy = z.discriminatedUnion(
  "mode",
  [
    strict({ mode: z.literal("every") }),
    strict({ mode: z.literal("interval"), intervalSeconds: seconds }),
    strict({
      mode: z.literal("change"),
      deadband: z.number().min(0),
      maxIntervalSeconds: seconds.optional(),
    }),
  ],
  {
    // Typed as union issues only, but a non-object value is reported as invalid_type here too.
    error: (issue: { code?: string }) =>
      issue.code === "invalid_type" ? "expected a policy like { mode: every }" : undefined,
  },
);

const telemetry = strict({
  subscribers: z
    .array(bareJid)
    .superRefine(unique("JID", (jid: string) => jid))
    .default([]),
  /** Left out: derived from the other sinks and subscribers (from-config.ts waitsForSubscriber). */
  waitForSubscriber: z.boolean().optional(),
  default: policy.default({ mode: "every" }),
  sensors: z.record(sensorName, policy).default({}),
  batch: strict({
    maxReadings: count.default(1),
    maxDelaySeconds: z.number().min(0).default(0),
  }).prefault({}),
  catchUp: strict({
    stanzasPerSecond: z.number().positive().default(20),
    readingsPerStanza: count.default(20),
  }).prefault({}),
  pubsub: strict({
    service: checked(
      "a pubsub service's domain, e.g. pubsub.example.org",
      domainProblem,
    ).optional(),
    node: z.string().min(1).max(256).default("urn:xmpp-iot-agent:telemetry"),
    accessModel: z.enum(["presence", "roster", "whitelist"]).default("presence"),
    maxItems: count.max(10_000).default(100),
  }).optional(),
});

const outbox = strict({
  dir: absolutePath,
  maxMegabytes: z.number().positive().default(64),
  segmentKilobytes: z.number().min(4).default(1024),
  maxAgeHours: z.number().positive().optional(),
  commitMilliseconds: z.number().min(0).max(1000).default(0),
}).superRefine((o, ctx) => {
  if (o.maxMegabytes * 1024 >= 2 * o.segmentKilobytes) return;
  const message = `expected at least two segments (2 × segmentKilobytes = ${2 * o.segmentKilobytes} KiB)`;
  ctx.addIssue({ code: "custom", path: ["maxMegabytes"], message });
});

/**
 * Whether the wall clock can be trusted: `auto` asks systemd-timesyncd (and counts the clock as
 * synchronised where it does not run); `always` for boards with a real-time clock or another
 * time daemon that sets the clock before the agent starts; `never` to mark every stamp.
 */
const clock = strict({
  synchronized: z.enum(["auto", "always", "never"]).default("auto"),
});

const alert = strict({
  name: z.string().regex(ALERT_NAME, {
    error: "expected a name of letters, digits, '-', '_' or '.' (at most 64 characters)",
  }),
  sensor: sensorName,
  above: z.number().optional(),
  below: z.number().optional(),
  forSeconds: z.number().min(0).default(0),
}).superRefine((a, ctx) => {
  if ((a.above === undefined) !== (a.below === undefined)) return;
  const found = a.above === undefined ? "neither" : "both";
  const message = `expected exactly one of above or below, found ${found}`;
  ctx.addIssue({ code: "custom", message, params: { complete: true } });
});

export const agentConfigSchema = strict({
  xmpp,
  device,
  access: access.prefault({}),
  telemetry: telemetry.prefault({}),
  outbox,
  clock: clock.prefault({}),
  mqtt: mqtt.optional(),
  health: strict({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.int().min(0).max(65535).default(9464),
  }).optional(),
  alerts: z
    .array(alert)
    .superRefine(unique("alert name", (a: { name: string }) => a.name, "name"))
    .default([]),
  log: strict({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;
/** What the YAML may contain: defaulted keys are optional. */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type TelemetryPolicy = z.output<typeof policy>;
export type AlertRule = AgentConfig["alerts"][number];
