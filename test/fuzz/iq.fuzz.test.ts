/**
 * Fuzz of the IQ handlers (XEP-0050 ad-hoc, XEP-0323 readout, XEP-0325 control) with bad
 * payloads: wrong form types, missing fields, unknown actions, bogus session ids, bad seqnr and
 * timestamps, unknown fields, huge numbers, many parameters. The handlers run in xmpp.js's own
 * middleware and iq callee on a client that is never connected; only the socket write is
 * replaced by a recorder. Every request must get exactly one well-formed reply.
 */
import fc from "fast-check";
import { jid } from "@xmpp/client-core";
import { describe, expect, it } from "vitest";
import { RecentHistory } from "../../src/core/history.js";
import { AdhocCommands } from "../../src/xmpp/adhoc-handler.js";
import { COMMANDS_NS } from "../../src/xmpp/adhoc.js";
import { createXmppClient, xml, type Element } from "../../src/xmpp/client.js";
import { registerControl } from "../../src/xmpp/control-handler.js";
import { CONTROL_NS } from "../../src/xmpp/control.js";
import { DATA_FORMS_NS } from "../../src/xmpp/forms.js";
import { registerReadout } from "../../src/xmpp/readout-handler.js";
import { SENSORDATA_NS } from "../../src/xmpp/sensordata.js";
import { STANZA_ERROR_CONDITIONS, STANZA_ERROR_TYPES, STANZAS_NS } from "../../src/xmpp/stanzas.js";
import { ALLOWED, commandWorld, LATEST } from "./fixtures.js";
import { FUZZ_TIMEOUT_MS, fuzzAsync, runs, type ValueOf } from "./runs.js";

const SURFACE = "IQ handlers (XEP-0050/0323/0325)";
const AGENT = "agent@example.org/device";

const from = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.values(ALLOWED)).map((j) => `${j}/c`) },
  { weight: 1, arbitrary: fc.constantFrom("stranger@example.org/c", "example.org", "a@b@c/d") },
);
const text = fc.oneof(
  fc.constantFrom("", "relay", "led", "fan", "temp", "on", "1", "true", "blink", "50", "*"),
  fc.constantFrom("1e309", "-0", "NaN", "0x10", "999999999999999999999", "\u202Eon", "on\u0000"),
  fc.string({ maxLength: 10 }),
);
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const attrs = (entries: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;

const field = fc
  .record({
    var: optional(
      fc.oneof(fc.constantFrom("sensor", "actuator", "value"), fc.string({ maxLength: 5 })),
    ),
    type: optional(fc.constantFrom("boolean", "list-single", "text-single", "jid-multi", "bogus")),
    values: fc.array(text, { maxLength: 3 }),
  })
  .map((f) =>
    xml("field", attrs({ var: f.var, type: f.type }), ...f.values.map((v) => xml("value", {}, v))),
  );
const form = fc
  .record({
    xmlns: fc.constantFrom(DATA_FORMS_NS, DATA_FORMS_NS, "urn:bogus"),
    type: optional(fc.constantFrom("submit", "submit", "form", "result", "cancel", "bogus")),
    fields: fc.array(field, { maxLength: 4 }),
  })
  .map((x) => xml("x", attrs({ xmlns: x.xmlns, type: x.type }), ...x.fields));

/** `session` picks one of the session ids seen so far (or a bogus one) when the IQ is built. */
const adhoc = fc.record({
  node: fc.oneof(
    fc.constantFrom("get", "set", "status", "help", "stats", "ping"),
    fc.string({ maxLength: 6 }),
  ),
  action: optional(fc.constantFrom("execute", "next", "complete", "cancel", "prev", "bogus")),
  session: optional(fc.oneof(fc.nat(), fc.constant("bogus-id"))),
  form: optional(form),
});

const dateTime = fc.oneof(
  fc
    .date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom("2026-13-40T99:99:99Z", "+275760-09-13T00:00:00Z", "-000001-01-01T00:00:00Z"),
  fc.constantFrom("yesterday", "", "2026-11-29", "2026-11-29T10:00:00+25:00", "9".repeat(40)),
);
const readout = fc.record({
  name: fc.constantFrom("req", "req", "cancel"),
  seqnr: optional(
    fc.oneof(fc.integer().map(String), fc.constantFrom("99999999999", "1.5", "", "x", "+7", "-0")),
  ),
  flags: fc.subarray(["momentary", "all", "historical", "historicalDay", "when"]),
  flag: fc.constantFrom("true", "1", "false", "yes"),
  from: optional(dateTime),
  to: optional(dateTime),
  nodes: fc.array(optional(fc.constantFrom("envnode-01", "other", "")), { maxLength: 3 }),
  fields: fc.array(
    optional(fc.oneof(fc.constantFrom("temp", "door", "nope"), fc.string({ maxLength: 4 }))),
    {
      maxLength: 3,
    },
  ),
});
const PARAMETER_NAMES = [
  "boolean",
  "int",
  "long",
  "double",
  "string",
  "color",
  "dateTime",
  "node",
  "x",
  "script",
];
const parameter = fc.record({
  element: fc.constantFrom(...PARAMETER_NAMES),
  name: optional(
    fc.oneof(fc.constantFrom("relay", "led", "fan", "valve"), fc.string({ maxLength: 4 })),
  ),
  value: optional(text),
  nodeId: optional(fc.constantFrom("envnode-01", "other", "")),
});
/** Mostly garbage, sometimes one or two settings the device accepts, so both outcomes occur. */
const goodParameter = fc.record({
  element: fc.constantFrom("boolean", "string", "int"),
  name: fc.constant("relay"),
  value: fc.constantFrom("on", "off", "true", "0"),
  nodeId: fc.constant(undefined),
});
const control = fc.oneof(
  fc.array(parameter, { maxLength: 40 }),
  fc.array(goodParameter, { minLength: 1, maxLength: 2 }),
);

type Request =
  | { kind: "adhoc"; from: string; type: string; req: ValueOf<typeof adhoc> }
  | { kind: "readout"; from: string; type: string; req: ValueOf<typeof readout> }
  | { kind: "control"; from: string; type: string; req: ValueOf<typeof control> }
  | { kind: "odd"; from: string; type: string; children: number };

const iqType = fc.constantFrom("get", "set", "set", "get", "result", "error");
const request: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ kind: fc.constant("adhoc" as const), from, type: iqType, req: adhoc }),
  fc.record({ kind: fc.constant("readout" as const), from, type: iqType, req: readout }),
  fc.record({ kind: fc.constant("control" as const), from, type: iqType, req: control }),
  fc.record({
    kind: fc.constant("odd" as const),
    from,
    type: iqType,
    children: fc.integer({ min: 0, max: 3 }),
  }),
);

const admin = `${ALLOWED.admin}/c`;
type ReadoutRequest = Extract<Request, { kind: "readout" }>["req"];
const noReadout: Omit<ReadoutRequest, "name" | "seqnr"> = {
  flags: [],
  flag: "true",
  from: undefined,
  to: undefined,
  nodes: [],
  fields: [],
};
/** One request per outcome the run must reach, so that even a short run shows both branches. */
const EVERY_OUTCOME: Request[] = [
  {
    kind: "adhoc",
    from: admin,
    type: "set",
    req: { node: "get", action: undefined, session: undefined, form: undefined },
  },
  {
    kind: "adhoc",
    from: admin,
    type: "set",
    req: { node: "ping", action: undefined, session: undefined, form: undefined },
  },
  {
    kind: "adhoc",
    from: admin,
    type: "set",
    req: { node: "x", action: undefined, session: undefined, form: undefined },
  },
  { kind: "readout", from: admin, type: "get", req: { name: "req", seqnr: "1", ...noReadout } },
  { kind: "readout", from: admin, type: "get", req: { name: "req", seqnr: "x", ...noReadout } },
  {
    kind: "control",
    from: admin,
    type: "set",
    req: [{ element: "boolean", name: "relay", value: "on", nodeId: undefined }],
  },
  { kind: "control", from: admin, type: "set", req: [] },
];

function payload(r: Request, sessions: string[]): Element[] {
  switch (r.kind) {
    case "adhoc": {
      const { node, action, session } = r.req;
      const sessionid =
        typeof session === "number"
          ? (sessions[session % Math.max(1, sessions.length)] ?? "none")
          : session;
      const kids = r.req.form ? [r.req.form] : [];
      return [xml("command", attrs({ xmlns: COMMANDS_NS, node, action, sessionid }), ...kids)];
    }
    case "readout": {
      const q = r.req;
      const flags = Object.fromEntries(q.flags.map((f) => [f, q.flag]));
      const a = attrs({ xmlns: SENSORDATA_NS, seqnr: q.seqnr, from: q.from, to: q.to, ...flags });
      const nodes = q.nodes.map((n) => xml("node", attrs({ nodeId: n })));
      const fields = q.fields.map((n) => xml("field", attrs({ name: n })));
      return [xml(q.name, a, ...nodes, ...fields)];
    }
    case "control":
      return [
        xml(
          "set",
          { xmlns: CONTROL_NS },
          ...r.req.map((p) =>
            xml(p.element, attrs({ name: p.name, value: p.value, nodeId: p.nodeId })),
          ),
        ),
      ];
    case "odd":
      return Array.from({ length: r.children }, () =>
        xml("query", { xmlns: "urn:example:unknown" }),
      );
  }
}

/** RFC 6120 §8.3: an error reply carries one <error type> with one defined condition. */
function expectWellFormed(reply: Element, iq: Element): void {
  expect(reply.name).toBe("iq");
  expect(reply.attrs.id).toBe(iq.attrs.id);
  expect(reply.attrs.to).toBe(iq.attrs.from);
  expect(["result", "error"]).toContain(reply.attrs.type);
  expect(reply.toString().length).toBeGreaterThan(0);
  if (reply.attrs.type !== "error") return;
  const error = reply.getChild("error");
  expect((STANZA_ERROR_TYPES as readonly unknown[]).includes(error?.attrs.type)).toBe(true);
  const conditions = (error?.getChildElements() ?? []).filter(
    (c) => c.getNS() === STANZAS_NS && c.name !== "text",
  );
  expect(conditions).toHaveLength(1);
  expect((STANZA_ERROR_CONDITIONS as readonly string[]).includes(conditions[0]?.name ?? "")).toBe(
    true,
  );
}

/** Outcomes seen over the whole run, to show that both branches of each handler were reached. */
const seen = new Map<string, number>();
const see = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);

/** A send that keeps what it is given and completes at once. */
function record(into: Element[], stanza: Element): Promise<void> {
  into.push(stanza);
  return Promise.resolve();
}

async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setImmediate(r));
}

async function runRequests(requests: Request[], capacity: number): Promise<void> {
  const world = commandWorld(capacity);
  const client = createXmppClient({
    service: "xmpp://127.0.0.1:9",
    domain: "example.org",
    username: "agent",
    password: "unused",
  });
  const { entity } = client;
  entity.jid = jid(AGENT);
  const sent: Element[] = [];
  const errors: unknown[] = [];
  // The socket is the only missing piece: what xmpp.js would write goes to `sent`.
  entity.send = (el: Element) => record(sent, el);
  entity.on("error", (e: unknown) => errors.push(e));
  const history = new RecentHistory(5);
  history.add(LATEST);
  const adhocCommands = new AdhocCommands(world);
  adhocCommands.register(client);
  const messages: Element[] = [];
  const source = () => ({
    device: world.device.description,
    latest: history.latest(),
    between: history.between.bind(history),
  });
  registerReadout(client, { ...world, source, send: (m) => record(messages, m) });
  registerControl(client, world);
  const sessions: string[] = [];
  for (const [i, r] of requests.entries()) {
    const iq = xml(
      "iq",
      { from: r.from, to: AGENT, type: r.type, id: `q${i}` },
      ...payload(r, sessions),
    );
    const before = sent.length;
    entity.emit("element", iq);
    const isQuery = r.type === "get" || r.type === "set";
    await settle(() => sent.length > before);
    expect(sent.length - before).toBe(isQuery ? 1 : 0);
    const reply = sent[before];
    if (reply === undefined) continue;
    expectWellFormed(reply, iq);
    const status = reply.getChild("command", COMMANDS_NS)?.attrs.status as string | undefined;
    see(`${r.kind} ${reply.attrs.type as string}${status ? ` ${status}` : ""}`);
    const id = reply.getChild("command", COMMANDS_NS)?.attrs.sessionid as string | undefined;
    if (id !== undefined) sessions.push(id);
  }
  expect(errors).toEqual([]);
  await settle(() => false);
  for (const m of messages) expect(m.toString().length).toBeGreaterThan(0);
}

describe("IQ handler fuzz", () => {
  it(
    "every get/set gets exactly one well-formed reply, and no handler throws",
    async () => {
      await fuzzAsync(
        SURFACE,
        "ad-hoc, readout and control request sequences",
        fc.asyncProperty(
          fc.array(request, { minLength: 1, maxLength: 8 }),
          fc.constantFrom(1, 3, 1000),
          runRequests,
        ),
        { numRuns: runs(0.5), examples: [[EVERY_OUTCOME, 1000]] },
      );
      for (const key of ["adhoc error", "adhoc result completed", "adhoc result executing"]) {
        expect(seen.get(key) ?? 0, key).toBeGreaterThan(0);
      }
      for (const key of ["readout error", "readout result", "control error", "control result"]) {
        expect(seen.get(key) ?? 0, key).toBeGreaterThan(0);
      }
    },
    FUZZ_TIMEOUT_MS,
  );
});
