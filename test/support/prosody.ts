/**
 * The private Prosody now lives in src/demo/prosody.ts (the demo runs on it); tests import it from
 * here. The helpers below only make sense in tests: they spy on or impersonate a server.
 */
import { once } from "node:events";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, connect, type Socket } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { freePort, type ProsodyServer } from "../../src/demo/prosody.js";

export { freePort, startProsody } from "../../src/demo/prosody.js";
export type { ProsodyOptions, ProsodyServer } from "../../src/demo/prosody.js";

/**
 * Adds a multi-user chat service (XEP-0045) at conference.<domain>. Call before start(): the
 * component is read from the config file when Prosody starts.
 */
export async function addMucComponent(server: ProsodyServer): Promise<string> {
  const host = `conference.${server.domain}`;
  // Unlocked at once: rooms need no owner configuration before others may join.
  const lines = [`Component "${host}" "muc"`, "  muc_room_locking = false", ""];
  await appendFile(join(server.dir, "prosody.cfg.lua"), lines.join("\n"));
  return host;
}

/**
 * Declares an external component (XEP-0114) at `host` with `secret`, for a stand-in service the
 * test runs itself; returns the component port. Call before start(), like addMucComponent.
 */
export async function addExternalComponent(
  server: ProsodyServer,
  host: string,
  secret: string,
): Promise<number> {
  const file = join(server.dir, "prosody.cfg.lua");
  let text = await readFile(file, "utf8");
  // One listening port serves every component; the first one declared opens it.
  let port = Number(/^component_ports = \{ (\d+) \}$/m.exec(text)?.[1] ?? 0);
  if (!port) {
    port = await freePort();
    text = text.replace(/^component_ports = \{ \}$/m, `component_ports = { ${port} }`);
  }
  text += [`Component "${host}"`, `  component_secret = "${secret}"`, ""].join("\n");
  await writeFile(file, text);
  return port;
}

/**
 * Makes the server answer `<enable/>` (XEP-0198) with `<failed/>`, half a second late, as a
 * server short of resources for stream management may: stanzas sent in between were queued for
 * acks that never come. Call before start().
 */
export async function refuseStreamManagement(server: ProsodyServer): Promise<void> {
  const plugins = join(server.dir, "plugins");
  await mkdir(plugins, { recursive: true });
  const lua = [
    'local st = require "util.stanza";',
    'module:hook("stanza/urn:xmpp:sm:3:enable", function (event)',
    "  local origin = event.origin;",
    "  module:add_timer(0.5, function ()",
    '    origin.send(st.stanza("failed", { xmlns = "urn:xmpp:sm:3" })',
    '      :tag("unexpected-request", { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" }));',
    "  end);",
    "  return true;",
    "end, 1000);",
    "",
  ];
  await writeFile(join(plugins, "mod_refuse_smacks.lua"), lua.join("\n"));
  const file = join(server.dir, "prosody.cfg.lua");
  const text = await readFile(file, "utf8");
  const enabled = `plugin_paths = { "${plugins}" }\nmodules_enabled = { "refuse_smacks"; `;
  await writeFile(file, text.replace(/^modules_enabled = \{ /m, enabled));
}

/** A TCP relay to `targetPort` that records what clients send, to see what reached the wire. */
export async function recordingProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let sent = "";
  const proxy = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => (client.destroy(), upstream.destroy()));
    }
    client.on("data", (d: Buffer) => (sent += d.toString()));
    client.pipe(upstream).pipe(client);
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  const address = proxy.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    service: `xmpp://127.0.0.1:${port}`,
    sent: () => sent,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

/**
 * A TLS server presenting Prosody's certificate for any name (Prosody itself would refuse an
 * unknown SNI name before the client could check the certificate).
 */
export async function impostorTls(server: ProsodyServer) {
  const key = await readFile(join(server.dir, "certs", "localhost.key"));
  const impostor = createTlsServer({ cert: await readFile(server.caFile), key }, (s) => s.end());
  impostor.listen(0, "127.0.0.1");
  await once(impostor, "listening");
  const address = impostor.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { service: `xmpps://127.0.0.1:${port}`, close: () => impostor.close() };
}
