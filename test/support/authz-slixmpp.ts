/**
 * The matrix's command paths driven by slixmpp (Debian's python3-slixmpp), for accounts the
 * agent's own client cannot log in as: xmpp.js base64-encodes SASL with btoa, which throws on a
 * username outside Latin-1 such as the Cyrillic look-alike "оwner".
 */
import { execFile } from "node:child_process";
import type { ProsodyServer } from "./prosody.js";
import type { Seen } from "./authz-paths.js";

function python(server: ProsodyServer, script: string, args: string[]): Promise<unknown[]> {
  const common = ["--server", `127.0.0.1:${server.port}`, "--ca", server.caFile];
  return new Promise((resolve) =>
    execFile("/usr/bin/python3", [script, ...args, ...common], (_error, stdout) => {
      // A timeout (exit 1) is an answer too: nothing came back.
      const lines = stdout.trim().split("\n").filter(Boolean);
      resolve(lines.map((l) => JSON.parse(l) as unknown));
    }),
  );
}

interface ChatLine {
  type: string;
  body: string | null;
  receipt: string | null;
  error: { condition: string | null } | null;
}

/** `text` as a chat message to `to`; the first stanza back decides. */
export async function slixChat(
  server: ProsodyServer,
  jid: string,
  password: string,
  to: string,
  text: string,
): Promise<Seen> {
  const args = [jid, password, "--send", to, text, "--expect", "1", "--timeout", "8"];
  const [line] = (await python(server, "test/support/xmpp_probe.py", args)) as ChatLine[];
  if (!line) return { reply: "none", detail: "no reply" };
  if (line.type === "error") {
    const condition = line.error?.condition ?? "none";
    return { reply: condition === "forbidden" ? "forbidden" : "other-error", detail: condition };
  }
  const body = line.body ?? `receipt ${line.receipt ?? ""}`;
  return { reply: /needs the \w+ role/.test(body) ? "role-refusal" : "answer", detail: body };
}

interface AdhocResult {
  runs?: Array<{ stages: Array<{ error?: string[]; notes?: string[][] }> }>;
}

/** XEP-0050 `set` of the relay through slixmpp's xep_0050 plugin. */
export async function slixAdhocSet(
  server: ProsodyServer,
  jid: string,
  password: string,
  agent: string,
  on: boolean,
): Promise<Seen> {
  const run = ["--run", "set", "actuator=relay", "/", `value=${on ? "1" : "0"}`];
  const args = [jid, password, "--agent", agent, "--timeout", "15", ...run];
  const [result] = (await python(server, "test/support/adhoc_probe.py", args)) as AdhocResult[];
  const last = result?.runs?.[0]?.stages.at(-1);
  if (!last) return { reply: "none", detail: "no answer" };
  if (last.error) {
    const forbidden = last.error.includes("forbidden");
    return { reply: forbidden ? "forbidden" : "other-error", detail: last.error.join(" ") };
  }
  const [type, text = ""] = last.notes?.[0] ?? [];
  return { reply: type === "info" ? "answer" : "other-error", detail: text };
}

/** XEP-0325 `<set>` of the relay through slixmpp's xep_0325 plugin. */
export async function slixControlSet(
  server: ProsodyServer,
  jid: string,
  password: string,
  agent: string,
  on: boolean,
): Promise<Seen> {
  const set = ["--set", "relay", "boolean", on ? "true" : "false"];
  const args = [jid, password, "--agent", agent, "--timeout", "10", ...set];
  const [line] = (await python(server, "test/support/control_probe.py", args)) as Array<{
    result: string;
    error: string | null;
  }>;
  if (!line) return { reply: "none", detail: "no answer" };
  if (line.result === "OK") return { reply: "answer", detail: "OK" };
  const denied = /InsufficientPrivileges|Access denied|forbidden/.test(
    `${line.result} ${line.error}`,
  );
  return { reply: denied ? "forbidden" : "other-error", detail: `${line.result}: ${line.error}` };
}
