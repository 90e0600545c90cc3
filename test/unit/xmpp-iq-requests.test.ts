/** IQ requests and the replies that may settle them (src/xmpp/iq-requests.ts). */
import { describe, expect, it } from "vitest";
import { xml, type Element } from "../../src/xmpp/client.js";
import { IqErrorReply, IqRequestError, IqRequests } from "../../src/xmpp/iq-requests.js";
import { STANZAS_NS } from "../../src/xmpp/stanzas.js";

const ACCOUNT = "agent@example.org";

/** A request in flight: what was sent, and how it ended (once it has). */
function ask(requests: IqRequests, to?: string, timeoutMs = 60_000) {
  const sent: Element[] = [];
  const iq = xml("iq", { type: "set", ...(to ? { to } : {}) }, xml("pubsub"));
  let outcome: { ok: Element } | { error: Error } | undefined;
  const done = requests
    .request(iq, (s) => Promise.resolve(void sent.push(s)), timeoutMs)
    .then(
      (ok) => (outcome = { ok }),
      (error: Error) => (outcome = { error }),
    );
  const id = String(sent[0]?.attrs.id);
  return { id, done, outcome: () => outcome };
}

const result = (id: string, from?: string) =>
  xml("iq", { type: "result", id, ...(from ? { from } : {}) });

describe("IqRequests", () => {
  it("gives every request a random UUID", () => {
    const requests = new IqRequests(ACCOUNT);
    const ids = [ask(requests).id, ask(requests).id];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("takes a service's answer only from the service", async () => {
    const requests = new IqRequests(ACCOUNT);
    const publish = ask(requests, "pubsub.example.org");
    for (const from of ["mallory@example.org/x", "example.org", ACCOUNT, undefined]) {
      expect(requests.route(result(publish.id, from))).toBe("wrong sender");
    }
    expect(requests.route(result(publish.id, "PubSub.Example.org"))).toBe("answered");
    await publish.done;
    expect(publish.outcome()).toMatchObject({ ok: { attrs: { from: "PubSub.Example.org" } } });
  });

  it("takes the account's answer (PEP) from its bare JID or without from, RFC 6120 §8.1.2.1", () => {
    const requests = new IqRequests(ACCOUNT);
    const [bare, none, forged] = [ask(requests), ask(requests), ask(requests)];
    expect(requests.route(result(forged.id, "mallory@example.org"))).toBe("wrong sender");
    expect(requests.route(result(forged.id, `${ACCOUNT}/phone`))).toBe("wrong sender");
    expect(requests.route(result(bare.id, ACCOUNT))).toBe("answered");
    expect(requests.route(result(none.id))).toBe("answered");
    expect(requests.pending).toBe(1);
  });

  it("takes the server's answer from its domain or without from", () => {
    const requests = new IqRequests(ACCOUNT);
    const [named, none] = [ask(requests, "example.org"), ask(requests, "example.org")];
    expect(requests.route(result(named.id, "example.org"))).toBe("answered");
    expect(requests.route(result(none.id))).toBe("answered");
  });

  it("turns an error answer into IqErrorReply, even a malformed one", async () => {
    const requests = new IqRequests(ACCOUNT);
    const [refused, malformed] = [ask(requests, "ps.example.org"), ask(requests, "ps.example.org")];
    const condition = xml("resource-constraint", { xmlns: STANZAS_NS });
    const text = xml("text", { xmlns: STANZAS_NS }, "Unknown field");
    const error = xml("error", { type: "wait" }, condition, text);
    requests.route(xml("iq", { type: "error", id: refused.id, from: "ps.example.org" }, error));
    requests.route(xml("iq", { type: "error", id: malformed.id, from: "ps.example.org" }));
    await Promise.all([refused.done, malformed.done]);
    const first = (refused.outcome() as { error: IqErrorReply }).error;
    expect(first).toBeInstanceOf(IqErrorReply);
    expect(first).toMatchObject({ condition: "resource-constraint", text: "Unknown field" });
    expect(first.message).toBe("ps.example.org answered resource-constraint (Unknown field)");
    expect((malformed.outcome() as { error: IqErrorReply }).error).toMatchObject({
      condition: "undefined-condition",
    });
  });

  it("settles an answer that comes before its write completed, without an unheard rejection", async () => {
    const requests = new IqRequests(ACCOUNT);
    let written = () => undefined as void;
    const iq = xml("iq", { type: "set", to: "ps.example.org" });
    // Awaited at once, as every caller does: what must not exist is a rejection inside.
    const answer = requests
      .request(iq, () => new Promise((r) => (written = r)), 60_000)
      .catch((e: unknown) => e);
    const error = xml("error", { type: "wait" }, xml("resource-constraint", { xmlns: STANZAS_NS }));
    requests.route(
      xml("iq", { type: "error", id: String(iq.attrs.id), from: "ps.example.org" }, error),
    );
    await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would surface here
    written();
    expect(await answer).toBeInstanceOf(IqErrorReply);
  });

  it("ends every request: timeout, failed send, closed session, too many waiting", async () => {
    const requests = new IqRequests(ACCOUNT);
    const late = ask(requests, "ps.example.org", 20);
    const iq = xml("iq", { type: "get", to: "ps.example.org" });
    const unsent = requests.request(iq, () => Promise.reject(new Error("socket gone")), 60_000);
    await expect(unsent).rejects.toThrow("IQ to ps.example.org: not sent: socket gone");
    await late.done;
    expect((late.outcome() as { error: Error }).error).toBeInstanceOf(IqRequestError);
    const waiting = Array.from({ length: 256 }, () => ask(requests));
    const refused = ask(requests);
    await refused.done;
    expect(refused.outcome()).toMatchObject({ error: { message: /256 requests already waiting/ } });
    requests.failAll(new Error("the session was closed"));
    await Promise.all(waiting.map((w) => w.done));
    expect(waiting.every((w) => "error" in (w.outcome() ?? {}))).toBe(true);
    expect(requests.pending).toBe(0);
  });
});
