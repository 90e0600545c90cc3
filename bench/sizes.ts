/**
 * What installing the agent costs on disk: the bundle and the dist/ folder (when built), and the
 * production dependency closure as npm resolves it here (`npm ci --omit=dev` cannot run offline
 * on this machine, so the closure is measured in the existing node_modules).
 */
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { promisify } from "node:util";
import { REPO } from "./support/agent-process.js";
import { round, type Result } from "./support/proc.js";

const run = promisify(execFile);
const MB = 2 ** 20;

/** Apparent size in bytes of each path, nested paths counted once (inside their parent). */
async function duBytes(paths: string[]): Promise<number> {
  if (paths.length === 0) return 0;
  const { stdout } = await run("du", ["-sbc", ...paths], { maxBuffer: 16 * MB });
  const total = /^(\d+)\s+total$/m.exec(stdout);
  if (!total) throw new Error(`du gave no total for ${paths.length} paths`);
  return Number(total[1]);
}

function outermost(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  const kept: string[] = [];
  for (const p of sorted) {
    const last = kept[kept.length - 1];
    if (last === undefined || !p.startsWith(last + sep)) kept.push(p);
  }
  return kept;
}

async function productionClosure(): Promise<{ packages: number; bytes: number }> {
  // npm ls exits 1 on extraneous or invalid packages but still lists the tree.
  const { stdout } = await run("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
    cwd: REPO,
    maxBuffer: 16 * MB,
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
  const paths = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(join(REPO, "node_modules") + sep));
  return { packages: new Set(paths).size, bytes: await duBytes(outermost(paths)) };
}

export async function benchSizes(): Promise<Result[]> {
  const results: Result[] = [];
  const bundle = join(REPO, "dist", "iot-agent.mjs");
  if (existsSync(bundle)) {
    results.push({
      bench: "bundle-size",
      bundle_mb: round(statSync(bundle).size / MB),
      dist_mb: round((await duBytes([join(REPO, "dist")])) / MB),
    });
  } else {
    process.stderr.write("note: dist/iot-agent.mjs missing (npm run build): bundle size skipped\n");
  }
  const closure = await productionClosure();
  results.push({
    bench: "production-dependencies",
    packages: closure.packages,
    installed_mb: round(closure.bytes / MB),
  });
  return results;
}
