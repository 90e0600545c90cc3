/**
 * scripts/install.sh --root: the tree it lays, its modes, a user's configuration kept on a second
 * run, a unit that systemd-analyze accepts, and the installed agent checking the installed
 * configuration. Needs the built dist/ (npm run test:bundle builds it first).
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT_DIR = join(import.meta.dirname, "..", "..");
const INSTALL = join(ROOT_DIR, "scripts", "install.sh");
const PASSWORD_FILE = "/etc/iot-agent/xmpp-password";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd: tmpdir() }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

let root: string;
let first: Result;

beforeAll(async () => {
  if (!existsSync(join(ROOT_DIR, "dist", "iot-agent.mjs"))) {
    throw new Error("no dist/iot-agent.mjs: run 'npm run test:bundle' (it builds first)");
  }
  root = await mkdtemp(join(tmpdir(), "iot-install-"));
  first = await run("sh", [INSTALL, "--root", root]);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("scripts/install.sh --root", () => {
  it("lays the bundle, the link, the unit, the configuration and the udev rules with their modes", () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/installed \/etc\/iot-agent\/agent.yaml \(mode 0600\)/);
    const at = (p: string) => join(root, p);
    expect(mode(at("opt/iot-agent/iot-agent.mjs"))).toBe("0755");
    expect(readFileSync(at("opt/iot-agent/iot-agent.mjs"), "utf8")).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
    const binding = at("opt/iot-agent/node_modules/@serialport/bindings-cpp");
    expect(mode(join(binding, "package.json"))).toBe("0644");
    expect(existsSync(join(binding, "prebuilds", "linux-arm64"))).toBe(true);
    expect(lstatSync(at("usr/local/bin/iot-agent")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(at("usr/local/bin/iot-agent"))).toBe(
      "../../../opt/iot-agent/iot-agent.mjs",
    );
    expect(mode(at("etc/systemd/system/iot-agent.service"))).toBe("0644");
    // The service's user, made by systemd-sysusers in the root's own /etc/passwd, in dialout.
    expect(mode(at("usr/lib/sysusers.d/iot-agent.conf"))).toBe("0644");
    const user = /^iot-agent:x:(\d+):(\d+):[^:]*:\/var\/lib\/iot-agent:/m.exec(
      readFileSync(at("etc/passwd"), "utf8"),
    );
    expect(user).not.toBeNull();
    const [uid, gid] = [Number(user?.[1]), Number(user?.[2])];
    expect(readFileSync(at("etc/group"), "utf8")).toMatch(/^dialout:x:\d+:(.*,)?iot-agent(,.*)?$/m);
    // The configuration is the service's alone; root keeps the directory, the service may enter.
    expect(mode(at("etc/iot-agent"))).toBe("0750");
    expect(statSync(at("etc/iot-agent"))).toMatchObject({ uid: 0, gid });
    for (const file of ["etc/iot-agent/agent.yaml", "etc/iot-agent/xmpp-password"]) {
      expect(mode(at(file))).toBe("0600");
      expect(statSync(at(file))).toMatchObject({ uid, gid });
    }
    expect(readFileSync(at("etc/iot-agent/xmpp-password"), "utf8")).toBe("");
    expect(mode(at("etc/udev/rules.d/99-iot-agent-serial.rules"))).toBe("0644");
    const config = readFileSync(at("etc/iot-agent/agent.yaml"), "utf8");
    expect(config).toContain(`password: { file: ${PASSWORD_FILE} }`);
    expect(config).toMatch(/^ {2}port: \/dev\/iot-agent-device$/m);
    const unit = readFileSync(at("etc/systemd/system/iot-agent.service"), "utf8");
    expect(unit).toContain(`ExecStart=${process.execPath} /opt/iot-agent/iot-agent.mjs run`);
    // Nothing staged or left over from the swap.
    expect(existsSync(at("opt/iot-agent.new")) || existsSync(at("opt/iot-agent.old"))).toBe(false);
  });

  it("keeps an existing agent.yaml and udev rules on a second run, and replaces the bundle", async () => {
    const config = join(root, "etc/iot-agent/agent.yaml");
    const mine = `${await readFile(config, "utf8")}\n# edited by the owner\n`;
    await writeFile(config, mine);
    await writeFile(join(root, "opt/iot-agent/stale-file"), "from an older version");
    const again = await run("sh", [INSTALL, "--root", root]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/kept the existing \/etc\/iot-agent\/agent.yaml/);
    expect(again.stdout).toMatch(/kept the existing \/etc\/udev\/rules.d\/99-iot-agent-serial/);
    expect(await readFile(config, "utf8")).toBe(mine);
    expect(existsSync(join(root, "opt/iot-agent/stale-file"))).toBe(false);
  });

  it("installs a unit that systemd-analyze verifies without a warning, rated OK by security", async () => {
    const unit = join(root, "etc/systemd/system/iot-agent.service");
    const verify = await run("systemd-analyze", ["verify", "--man=no", unit]);
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);
    const security = await run("systemd-analyze", ["security", "--offline=yes", unit]);
    const exposure = /Overall exposure level for iot-agent.service: ([\d.]+)/.exec(security.stdout);
    expect(Number(exposure?.[1] ?? 10), security.stdout).toBeLessThan(3);
  });

  it("runs the installed agent on the installed configuration", async () => {
    const agent = join(root, "usr/local/bin/iot-agent");
    const config = join(root, "etc/iot-agent/agent.yaml");
    // The configuration as the Pi sees it: its password file inside the root.
    const password = join(root, PASSWORD_FILE);
    const inside = join(root, "as-the-pi-sees-it.yaml");
    const text = (await readFile(config, "utf8")).replace(PASSWORD_FILE, password);
    await writeFile(inside, text, { mode: 0o600 });
    // The password file is installed empty, and that is the only problem.
    const empty = await run(agent, ["check-config", inside]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/1 problem/);
    expect(empty.stderr).toMatch(/xmpp\.password\.file: .*empty/);
    await writeFile(password, "secret\n");
    const ok = await run(agent, ["check-config", inside]);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/ok\n\s+server: +xmpp:\/\/xmpp.example.org:5222/);
    expect(ok.stdout).toMatch(/device: +\/dev\/iot-agent-device/);
    expect(ok.code).toBe(0);
  });

  it("refuses a Node.js older than the agent needs, and bad arguments", async () => {
    const fakeBin = join(root, "fake-bin");
    await mkdir(fakeBin);
    await writeFile(join(fakeBin, "node"), "#!/bin/sh\necho 18.19.1\n");
    await chmod(join(fakeBin, "node"), 0o755);
    const target = await mkdtemp(join(tmpdir(), "iot-install-old-"));
    try {
      const env = { ...process.env, PATH: `${fakeBin}:/usr/bin:/bin` };
      const old = await run("sh", [INSTALL, "--root", target], env);
      expect(old.code).toBe(1);
      expect(old.stderr).toMatch(/is Node.js 18.19.1; the agent needs 20.19 or newer/);
      expect(existsSync(join(target, "opt"))).toBe(false);
      const relative = await run("sh", [INSTALL, "--root", target, "--prefix", "opt/x"]);
      expect(relative.code).toBe(2);
      expect(relative.stderr).toMatch(/--prefix opt\/x: expected an absolute path/);
      const unknown = await run("sh", [INSTALL, "--frobnicate"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/unknown argument '--frobnicate'/);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it("installs to another --prefix, with the unit and the link following it", async () => {
    const target = await mkdtemp(join(tmpdir(), "iot-install-prefix-"));
    try {
      const result = await run("sh", [INSTALL, "--root", target, "--prefix", "/srv/agent"]);
      expect(result.code, result.stderr).toBe(0);
      expect(mode(join(target, "srv/agent/iot-agent.mjs"))).toBe("0755");
      expect(readlinkSync(join(target, "usr/local/bin/iot-agent"))).toBe(
        "../../../srv/agent/iot-agent.mjs",
      );
      const unit = readFileSync(join(target, "etc/systemd/system/iot-agent.service"), "utf8");
      expect(unit).toMatch(
        /^ExecStart=\S+ \/srv\/agent\/iot-agent.mjs run --config \/etc\/iot-agent\/agent.yaml$/m,
      );
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });
});

describe("config/99-iot-agent-serial.rules", () => {
  it("gives every board rule the tty subsystem, ids, the link and the dialout group", () => {
    const text = readFileSync(join(ROOT_DIR, "config", "99-iot-agent-serial.rules"), "utf8");
    const rules = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const rule of rules) {
      expect(rule).toMatch(
        /^SUBSYSTEM=="tty", ATTRS\{idVendor\}=="[0-9a-f]{4}", ATTRS\{idProduct\}=="[0-9a-f]{4}", SYMLINK\+="iot-agent-device", GROUP="dialout", MODE="0660"$/,
      );
    }
  });
});
