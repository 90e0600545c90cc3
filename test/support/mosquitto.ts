/**
 * A private Mosquitto for tests: its own config, password file and certificate in a temp dir, on
 * a free loopback port, started and stopped by the test (a broker restart is stop + start).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, makeCertificate } from "../../src/demo/prosody.js";
import { serverProcess } from "../../src/demo/server-process.js";

const run = promisify(execFile);

export interface MosquittoOptions {
  /** Require this username and password (no anonymous access). */
  auth?: { username: string; password: string };
  /** TLS listener with a self-signed certificate for localhost (mqtts://). */
  tls?: boolean;
  /** With tls: clients must present a certificate; its CN is their username. */
  clientCertificates?: boolean;
  /** Keep sessions and queued messages across a clean restart, as a production broker does. */
  persistence?: boolean;
}

export interface MosquittoBroker {
  /** mqtt://127.0.0.1:PORT or mqtts://localhost:PORT */
  readonly url: string;
  readonly caFile: string | undefined;
  /** The client certificate and key the broker accepts, with `clientCertificates`. */
  readonly client: { certFile: string; keyFile: string } | undefined;
  start(): Promise<void>;
  /** SIGTERM (a clean stop) or, with `hard`, SIGKILL; waits for the exit. */
  stop(hard?: boolean): Promise<void>;
  /** SIGSTOP: the broker freezes with its connections open, so nothing is ever acknowledged. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  destroy(): Promise<void>;
  log(): string;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const dir = await mkdtemp(join(tmpdir(), "iot-mosquitto-"));
  const port = await freePort();
  await mkdir(join(dir, "certs"));
  const caFile = options.tls ? await makeCertificate(dir) : undefined;
  const lines = [
    `listener ${port} 127.0.0.1`,
    ...(options.persistence
      ? ["persistence true", `persistence_location ${dir}/`]
      : ["persistence false"]),
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    // Started as root, mosquitto drops to user "mosquitto" unless told otherwise.
    ...(process.getuid?.() === 0 ? ["user root"] : []),
  ];
  if (options.tls) {
    lines.push(`certfile ${join(dir, "certs", "localhost.crt")}`);
    lines.push(`keyfile ${join(dir, "certs", "localhost.key")}`);
  }
  const client = options.clientCertificates ? await clientCertificate(dir) : undefined;
  if (client) {
    // A self-signed client certificate is its own CA.
    lines.push(
      `cafile ${client.certFile}`,
      "require_certificate true",
      "use_identity_as_username true",
    );
  }
  if (options.auth) {
    const passwords = join(dir, "passwords");
    await writeFile(passwords, "");
    await run("mosquitto_passwd", ["-b", passwords, options.auth.username, options.auth.password]);
    lines.push("allow_anonymous false", `password_file ${passwords}`);
  } else {
    lines.push(`allow_anonymous ${client ? "false" : "true"}`);
  }
  const config = join(dir, "mosquitto.conf");
  await writeFile(config, lines.join("\n") + "\n");
  const server = serverProcess("mosquitto", ["-c", config], () => [port]);
  const broker: MosquittoBroker = {
    url: options.tls ? `mqtts://localhost:${port}` : `mqtt://127.0.0.1:${port}`,
    caFile,
    client,
    start: () => server.start(),
    stop: (hard) => server.stop(hard),
    pause: () => server.signal("SIGSTOP"),
    resume: () => server.signal("SIGCONT"),
    async destroy() {
      await broker.stop(true);
      await rm(dir, { recursive: true, force: true });
    },
    log: () => server.log(),
  };
  return broker;
}

async function clientCertificate(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, "certs", "client.crt");
  const keyFile = join(dir, "certs", "client.key");
  const subject = ["-subj", "/CN=agent", "-days", "1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    ...subject,
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  return { certFile, keyFile };
}
