/** loadConfig: files, file modes and the password, which must never leak (src/config/load.ts). */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, type LoadedConfig } from "../../src/config/load.js";

// Distinctive, so that finding it anywhere but in `password` cannot be a coincidence.
const SECRET = "Zebra-7f3c-Quokka-Secret!";
const ENV = { IOT_AGENT_XMPP_PASSWORD: SECRET };
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-agent-config-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function yaml(password: string, extra: string[] = []): string {
  return [
    "xmpp:",
    "  domain: example.org",
    "  username: sensor1",
    `  password: ${password}`,
    ...extra,
    "device:",
    "  port: /dev/ttyACM0",
    "access:",
    "  allow: [{ jid: owner@example.org, role: admin }]",
    "outbox: { dir: /var/lib/iot-agent/outbox }",
    "",
  ].join("\n");
}

/** Writes `text` as `name` in the test directory with `mode`, whatever the umask. */
async function file(name: string, text: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

async function loadError(path: string, env: NodeJS.ProcessEnv = ENV): Promise<ConfigError> {
  const error: unknown = await loadConfig(path, env).catch((e: unknown) => e);
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

/** Everything derived from a load that might be printed or logged, except `password`. */
function printable(loaded: LoadedConfig): string {
  const { password: _password, ...rest } = loaded;
  return JSON.stringify(rest);
}

describe("loadConfig", () => {
  it("resolves the password from the environment and keeps it out of config", async () => {
    const path = await file("env.yaml", yaml("{ env: IOT_AGENT_XMPP_PASSWORD }"));
    const loaded = await loadConfig(path, ENV);
    expect(loaded.password).toBe(SECRET);
    expect(loaded.warnings).toEqual([]);
    expect(printable(loaded)).not.toContain(SECRET);
  });

  it("reads and trims a password file", async () => {
    const secretFile = await file("password", `  ${SECRET}\n`);
    const path = await file("file.yaml", yaml(`{ file: ${secretFile} }`));
    const loaded = await loadConfig(path, {});
    expect(loaded.password).toBe(SECRET);
    expect(loaded.config.xmpp.password).toEqual({ file: secretFile });
  });

  it("warns, naming the file, when the config or password file is open to others", async () => {
    const secretFile = await file("open-password", SECRET, 0o640);
    const path = await file("open.yaml", yaml(`{ file: ${secretFile} }`), 0o644);
    const loaded = await loadConfig(path, {});
    expect(loaded.warnings).toEqual([
      `${path} is accessible to group or others (mode 0644) and says who may command the ` +
        `device: run chmod 600 ${path}`,
      `${secretFile} is accessible to group or others (mode 0640) and holds the XMPP ` +
        `password: run chmod 600 ${secretFile}`,
    ]);
    expect(printable(loaded)).not.toContain(SECRET);
  });

  it("rejects a missing or empty password file at its key's position", async () => {
    const missing = await file("missing.yaml", yaml(`{ file: ${join(dir, "nope")} }`));
    expect((await loadError(missing)).problems).toEqual([
      `${missing}:4:21 xmpp.password.file: expected a readable file holding the XMPP ` +
        "password, found no such file",
    ]);
    const empty = await file("empty-password", " \n");
    const path = await file("empty.yaml", yaml(`{ file: ${empty} }`));
    expect((await loadError(path)).message).toContain("found an empty file");
  });

  it("checks that the CA file exists and holds a certificate", async () => {
    const pem = await file("ca.pem", PEM, 0o644);
    const good = await file("ca.yaml", yaml("{ env: IOT_AGENT_XMPP_PASSWORD }", tls(pem)));
    expect((await loadConfig(good, ENV)).config.xmpp.tls.caFile).toBe(pem);
    const notPem = await file("ca.txt", "hello\n");
    const bad = await file("ca-bad.yaml", yaml("{ env: IOT_AGENT_XMPP_PASSWORD }", tls(notPem)));
    expect((await loadError(bad)).problems).toEqual([
      `${bad}:5:18 xmpp.tls.caFile: expected a readable PEM file of CA certificates, found no ` +
        `BEGIN CERTIFICATE line in ${notPem}`,
    ]);
  });

  it("rejects a configuration file that does not exist", async () => {
    const path = join(dir, "absent.yaml");
    expect((await loadError(path)).problems).toEqual([
      `${path}: expected a readable configuration file, found no such file`,
    ]);
  });
});

function tls(caFile: string): string[] {
  return [`  tls: { caFile: ${caFile} }`];
}

describe("the password never appears in a message", () => {
  it.each([
    ["a literal password", SECRET],
    ["a quoted literal password", JSON.stringify(SECRET)],
    ["the password as env name", `{ env: "${SECRET}" }`],
    ["the password as file name", `{ file: "${SECRET}" }`],
    ["the password under a wrong key", `{ value: "${SECRET}" }`],
    ["an unterminated quoted password", `"${SECRET}`],
  ])("%s", async (_name, password) => {
    const path = await file("leak.yaml", yaml(password));
    const error = await loadError(path);
    expect(error.problems.length).toBeGreaterThan(0);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain("Quokka");
  });

  it("not in the URL when credentials were put in service", async () => {
    const extra = [`  service: "xmpp://sensor1:${SECRET}@xmpp.example.org:5222"`];
    const path = await file("url.yaml", yaml("{ env: IOT_AGENT_XMPP_PASSWORD }", extra));
    const error = await loadError(path);
    expect(error.message).toContain("xmpp.service: expected an xmpp:// or xmpps:// URL");
    expect(error.message).toContain("drop the user:password@");
    expect(error.message).not.toContain("Quokka");
  });

  it("not in errors or warnings when the rest of the file is wrong", async () => {
    const extra = ["  tls: { allowPlaintext: true, caFile: relative.pem }", "  resourse: x"];
    const path = await file("wrong.yaml", yaml("{ env: IOT_AGENT_XMPP_PASSWORD }", extra), 0o666);
    const error = await loadError(path);
    expect(error.problems).toHaveLength(2);
    expect(error.message).not.toContain(SECRET);
    const labConfig = yaml("{ env: IOT_AGENT_XMPP_PASSWORD }", ["  tls: { allowPlaintext: true }"]);
    const lab = await file("lab.yaml", labConfig, 0o666);
    const { warnings } = await loadConfig(lab, ENV);
    expect(warnings).toHaveLength(2); // the file mode, and plaintext allowed
    expect(warnings.join("\n")).not.toContain(SECRET);
  });
});
