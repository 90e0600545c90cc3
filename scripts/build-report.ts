/**
 * After the build: make the bundle executable (it carries a shebang) and print what a Pi's SD card
 * is asked to hold, so a dependency that balloons the bundle shows up in the build's own output.
 */
import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import type { Plugin } from "rollup";

const MIB = 1024 * 1024;

export function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(2)} MiB`;
}

/** Bytes of every regular file under `dir`. */
export function treeSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) total += treeSize(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

export interface BuildSizes {
  bundle: number;
  gzip: number;
  sourceMap: number;
  total: number;
}

export function measure(bundleFile: string, outDir: string): BuildSizes {
  const code = readFileSync(bundleFile);
  let sourceMap = 0;
  try {
    sourceMap = statSync(`${bundleFile}.map`).size;
  } catch {
    // Built without a source map: nothing to count.
  }
  return {
    bundle: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    sourceMap,
    total: treeSize(outDir),
  };
}

export function formatSizes(bundleFile: string, outDir: string, sizes: BuildSizes): string {
  const name = relative(process.cwd(), bundleFile);
  const dir = `${relative(process.cwd(), outDir)}/`;
  return (
    `${name} ${mib(sizes.bundle)} (gzip ${mib(sizes.gzip)}); ` +
    `${dir} total ${mib(sizes.total)} (source map ${mib(sizes.sourceMap)})`
  );
}

/** Rollup plugin, last in the list: runs once the bundle and the native closure are on disk. */
export function buildReport(bundleFile: string, outDir: string): Plugin {
  return {
    name: "build-report",
    writeBundle: {
      sequential: true,
      order: "post",
      handler() {
        chmodSync(bundleFile, 0o755);
        const line = formatSizes(bundleFile, outDir, measure(bundleFile, outDir));
        process.stdout.write(`${line}\n`);
      },
    },
  };
}
