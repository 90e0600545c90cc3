/**
 * A private Prosody: its own config, certificate and data in a temp dir, listening on a free
 * loopback port. Accounts are made with `prosodyctl --config`, as an operator would. The demo
 * runs on it, and so do the integration tests (through test/support/prosody.ts).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { serverProcess } from "./server-process.js";

const run = promisify(execFile);

export interface ProsodyServer {
  readonly domain: string;
  readonly port: number;
  readonly service: string;
  /** `xmpps://` service of the direct-TLS port, when started with `directTls`. */
  readonly directTlsService: string | undefined;
  /** The self-signed certificate clients must trust (NODE_EXTRA_CA_CERTS, slixmpp ca_certs). */
  readonly caFile: string;
  readonly dir: string;
  register(user: string, password: string): Promise<void>;
  start(): Promise<void>;
  /** SIGTERM and wait; `hard` sends SIGKILL instead. */
  stop(hard?: boolean): Promise<void>;
  /** Stop, remove everything. */
  destroy(): Promise<void>;
  log(): string;
}

export interface ProsodyOptions {
  /** false: no certificate, no STARTTLS, plaintext allowed (for testing TLS enforcement). */
  tls?: boolean;
  /** Also listen for direct TLS (XEP-0368, `xmpps://`) on a second port. */
  directTls?: boolean;
  /**
   * Keep messages for an account with no session (mod_offline), as a production server does.
   * Off by default: then a message to an offline account bounces, which tests rely on.
   */
  offline?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function config(
  dir: string,
  port: number,
  options: { tls: boolean; offline: boolean; directTlsPort?: number },
): string {
  const { tls, offline, directTlsPort } = options;
  const modules = ["roster", "saslauth", ...(tls ? ["tls"] : []), "disco", "ping", "posix"];
  modules.push("carbons", "pep", "smacks", "admin_shell", ...(offline ? ["offline"] : []));
  // run_as_root: the demo may run as root on a fresh machine (and tests do in containers);
  // without it Prosody refuses to start. Everything stays in `dir` on 127.0.0.1 anyway.
  return `
run_as_root = true
data_path = "${dir}/data"
pidfile = "${dir}/prosody.pid"
admin_socket = "${dir}/prosody.sock"
interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { ${directTlsPort ?? ""} }
s2s_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
allow_registration = false
c2s_require_encryption = ${tls}
authentication = "internal_hashed"
default_iteration_count = 4096
log = { { levels = { min = "info" }, to = "console" } }
modules_enabled = { ${modules.map((m) => `"${m}"`).join("; ")} }
modules_disabled = { "s2s"${offline ? "" : `; "offline"`} }
${tls ? `ssl = { certificate = "${dir}/certs/localhost.crt"; key = "${dir}/certs/localhost.key" }` : ""}
VirtualHost "localhost"
Component "pubsub.localhost" "pubsub"
`;
}

/** A self-signed certificate for `localhost`, which is also the CA clients are told to trust. */
export async function makeCertificate(dir: string): Promise<string> {
  const caFile = join(dir, "certs", "localhost.crt");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "3650",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost",
    "-keyout",
    join(dir, "certs", "localhost.key"),
    "-out",
    caFile,
  ]);
  return caFile;
}

export async function startProsody(options: ProsodyOptions = {}): Promise<ProsodyServer> {
  const { tls = true, directTls = false, offline = false } = options;
  const dir = await mkdtemp(join(tmpdir(), "iot-prosody-"));
  const port = await freePort();
  const directTlsPort = directTls ? await freePort() : undefined;
  await mkdir(join(dir, "data"));
  await mkdir(join(dir, "certs"));
  const cfg = join(dir, "prosody.cfg.lua");
  await writeFile(cfg, config(dir, port, { tls, offline, directTlsPort }));
  const caFile = await makeCertificate(dir);
  const ports = [port, ...(directTlsPort ? [directTlsPort] : [])];
  const process_ = serverProcess("prosody", ["--config", cfg, "-F"], () => ports);
  const server: ProsodyServer = {
    domain: "localhost",
    port,
    service: `xmpp://127.0.0.1:${port}`,
    directTlsService: directTlsPort ? `xmpps://127.0.0.1:${directTlsPort}` : undefined,
    caFile,
    dir,
    async register(user, password) {
      await run("prosodyctl", ["--config", cfg, "register", user, "localhost", password]);
    },
    start: () => process_.start(),
    stop: (hard) => process_.stop(hard),
    async destroy() {
      await server.stop(true);
      await rm(dir, { recursive: true, force: true });
    },
    log: () => process_.log(),
  };
  return server;
}
