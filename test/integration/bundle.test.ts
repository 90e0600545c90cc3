/**
 * The built bundle on its own: dist/ copied into an empty directory with no node_modules above
 * it runs `--help`, `check-config`, `emulate` and `run` against a private Prosody, and imports
 * nothing but Node's builtins and the native serial binding that the build copies beside it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SENSORDATA_NS } from "../../src/xmpp/sensordata.js";
import { agentBundle } from "../support/agent-command.js";
import { startProsody, type ProsodyServer } from "../support/prosody.js";
import { until } from "../support/wait.js";
import { startPeer } from "../support/xmpp-peer.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BUNDLE = agentBundle() ?? join(ROOT, "dist", "iot-agent.mjs");
const NATIVE = "@serialport/bindings-cpp";
// Under test:bundle a missing bundle is a failure (beforeAll throws); run directly, a skip.
const skip = agentBundle() === undefined && !existsSync(BUNDLE);
if (skip) console.warn(`bundle tests skipped: no ${BUNDLE}; run 'npm run test:bundle'`);

/**
 * Optional packages that dependencies probe with require() in a try/catch; in the ES module
 * `require` is undefined, the probe throws and they do without, as when the package is missing.
 */
const OPTIONAL_PROBES = ["bufferutil", "utf-8-validate", "supports-color"];

const specifiers = (code: string, patterns: RegExp[]) => [
  ...new Set(patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1] ?? ""))),
];

/** Every module the bundle imports: static imports, re-exports and import(). */
export function importedSpecifiers(code: string): string[] {
  return specifiers(code, [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]);
}

/** require() calls left in code (not in comments). */
export function requiredSpecifiers(code: string): string[] {
  return specifiers(code, [/^(?![ \t]*(?:\*|\/\/)).*?\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm]);
}

interface Run {
  code: number | null;
  out: string;
}

let dir: string;
let bin: string;
const children: ChildProcess[] = [];

/** Runs the copied bundle as its own executable (shebang and mode), from the empty directory. */
function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { NODE_PATH: _, ...inherited } = process.env;
  const child = spawn(bin, args, { cwd: dir, env: { ...inherited, ...env } });
  children.push(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, output: () => out, exited };
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const p = start(args, env);
  const code = await p.exited;
  return { code, out: p.output() };
}

beforeAll(() => {
  if (skip) return;
  if (!existsSync(BUNDLE)) throw new Error(`IOT_AGENT_BIN=${BUNDLE}: no such file`);
  return (async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-bundle-"));
    for (let d = dir; dirname(d) !== d; d = dirname(d)) {
      if (existsSync(join(dirname(d), "node_modules"))) {
        throw new Error(`${dirname(d)}/node_modules would be reachable from ${dir}`);
      }
    }
    cpSync(dirname(BUNDLE), join(dir, "dist"), { recursive: true });
    bin = join(dir, "dist", "iot-agent.mjs");
  })();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)("the bundle", () => {
  it("imports only node: builtins and the native serial binding", () => {
    const specifiers = importedSpecifiers(readFileSync(bin, "utf8"));
    const foreign = specifiers.filter((s) => !s.startsWith("node:") && s !== NATIVE);
    expect(foreign).toEqual([]);
    // The scan sees imports at all: the binding and some builtins are among them.
    expect(specifiers).toContain(NATIVE);
    expect(specifiers).toContain("node:fs");
    expect(existsSync(join(dir, "dist", "node_modules", NATIVE, "package.json"))).toBe(true);
  });

  it("leaves require() only for optional packages probed in try/catch", () => {
    const code = readFileSync(bin, "utf8");
    expect(requiredSpecifiers(code).filter((s) => !OPTIONAL_PROBES.includes(s))).toEqual([]);
    // ...which holds only while nothing defines a module-level `require`.
    expect(code).not.toMatch(/^(?:const|let|var|function)\s+require\s*[=(;]/m);
  });

  it("prints its help, and its version when it has a --version", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: iot-agent <command>/);
    expect(help.out).toMatch(/check-config FILE/);
    if (!help.out.includes("--version")) return;
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const version = await run(["--version"]);
    expect(version.code).toBe(0);
    expect(version.out).toContain(pkg.version);
  });

  it("checks the example configuration", async () => {
    const config = join(dir, "agent.yaml");
    await copyFile(join(ROOT, "config", "agent.example.yaml"), config);
    const ok = await run(["check-config", config], { IOT_AGENT_XMPP_PASSWORD: "x" });
    expect(ok.out).toMatch(/agent\.yaml: ok/);
    expect(ok.code).toBe(0);
    const bad = await run(["check-config", config]);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/xmpp\.password\.env: .*IOT_AGENT_XMPP_PASSWORD not set/);
  });

  it("emulates a board that `run` reads through the native binding, and delivers a reading", async () => {
    let server: ProsodyServer | undefined;
    try {
      server = await startProsody();
      await server.register("agent", "agent-pass");
      await server.register("owner", "owner-pass");
      await server.start();
      const owner = await startPeer(
        server,
        "owner",
        "owner-pass",
        await readFile(server.caFile, "utf8"),
      );
      const link = join(dir, "ttyBUNDLE");
      const device = start(["emulate", "--link", link, "--rate", "10"]);
      await until(() => device.output().includes("device ready"), "the emulator", 15_000);
      const config = join(dir, "run.yaml");
      await writeFile(
        config,
        `xmpp:
  service: ${server.service}
  domain: localhost
  username: agent
  password: { env: AGENT_PASSWORD }
  tls: { caFile: ${server.caFile} }
device: { port: ${link} }
outbox: { dir: ${join(dir, "outbox")} }
telemetry: { subscribers: [owner@localhost] }
`,
        { mode: 0o600 },
      );
      const agent = start(["run", "--config", config], { AGENT_PASSWORD: "agent-pass" });
      try {
        const telemetry = await owner.next(
          (s) => s.is("message") && s.getChild("fields", SENSORDATA_NS) !== undefined,
          30_000,
        );
        expect(String(telemetry.attrs.from)).toMatch(/^agent@localhost\//);
      } finally {
        agent.child.kill("SIGTERM");
        device.child.kill("SIGTERM");
        await owner.stop();
      }
      expect(await agent.exited, agent.output()).toBe(0);
      expect(await device.exited, device.output()).toBe(0);
      expect(agent.output()).toMatch(/device envnode-emu online/);
    } finally {
      await server?.destroy();
    }
  }, 60_000);
});

describe("importedSpecifiers", () => {
  it("finds static, side-effect, dynamic and require imports", () => {
    const code = [
      "import a, { b } from 'node:fs';",
      "import 'node:stream';",
      'export { c } from "pkg-a";',
      "const d = await import('pkg-b');",
      'const e = require("pkg-c");',
      " * - `const f = require('pkg-d')` in a comment",
      "const text = 'not an import';",
    ].join("\n");
    expect(importedSpecifiers(code).sort()).toEqual(["node:fs", "node:stream", "pkg-a", "pkg-b"]);
    expect(requiredSpecifiers(code)).toEqual(["pkg-c"]);
  });
});
