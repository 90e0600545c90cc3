/**
 * The part of the agent that cannot live inside the bundle: @serialport/bindings-cpp finds its
 * compiled `.node` file through node-gyp-build, relative to its own package directory, so it
 * stays a real package. This copies it and the packages it needs at run time into
 * `dist/node_modules`, in the same nesting as in `node_modules`, so Node resolves them from the
 * bundle exactly as it does from the sources.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { Plugin } from "rollup";

export const NATIVE_PACKAGE = "@serialport/bindings-cpp";

/** Prebuilt binaries kept: a Raspberry Pi (64-bit and 32-bit OS) and x86-64 Linux. */
export const PREBUILD_PLATFORMS = ["linux-arm64", "linux-arm", "linux-x64"];

/** Needed only to compile the addon, never at run time. */
const BUILD_ONLY = new Set(["node-addon-api"]);

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
}

export class NativeClosureError extends Error {
  override name = "NativeClosureError";
}

/** Node's lookup for a bare name: node_modules/<name> in `from` and each directory above it. */
function findPackageDir(name: string, from: string, root: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root || dirname(dir) === dir) break;
  }
  throw new NativeClosureError(`cannot find package ${name} (needed from ${from})`);
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
}

/** Every package directory the native package needs at run time, itself first. */
export function runtimeClosure(root: string, name = NATIVE_PACKAGE): string[] {
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(readPackage(dir).dependencies ?? {})) {
      if (!BUILD_ONLY.has(dep)) visit(findPackageDir(dep, dir, root));
    }
  };
  visit(findPackageDir(name, root, root));
  return [...seen];
}

/** Files a package needs to be loaded: its code and manifest, not types, docs or sources. */
function runtimeFile(path: string): boolean {
  const base = path.split(sep).pop() ?? "";
  if (/\.(d\.ts|d\.mts|d\.cts|map|md|ts|cc|cpp|h|gyp)$/.test(base) && !/^LICENSE/i.test(base)) {
    return false;
  }
  return true;
}

/** What to copy of one package dir: everything runtime, minus nested packages and foreign prebuilds. */
function copyFilter(packageDir: string) {
  return (source: string): boolean => {
    const rel = relative(packageDir, source);
    if (rel === "") return true;
    const [top, second] = rel.split(sep);
    if (top === "node_modules") return false; // nested packages are copied on their own
    if (["test", "tests", "docs"].includes(top ?? "")) return false;
    if (top === "prebuilds" && second !== undefined && !PREBUILD_PLATFORMS.includes(second)) {
      return false;
    }
    // A local compile leaves objects and makefiles in build/; only the addon itself is loaded.
    if (top === "build" && second !== undefined && second !== "Release") return false;
    if (top === "build" && rel.split(sep).length > 2 && !source.endsWith(".node")) return false;
    return statSync(source).isDirectory() || runtimeFile(source);
  };
}

/** Removes directories left empty by the filter (bindings-cpp's C++ src/, for one). */
function pruneEmpty(dir: string): boolean {
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && pruneEmpty(path)) rmSync(path, { recursive: true });
    else empty = false;
  }
  return empty;
}

/** Copies the closure into `outDir/node_modules`, replacing what an earlier build left. */
export function copyNativeClosure(root: string, outDir: string): string[] {
  const modules = join(root, "node_modules");
  const target = join(outDir, "node_modules");
  rmSync(target, { recursive: true, force: true });
  const dirs = runtimeClosure(root);
  const native = dirs[0] ?? "";
  const hasBinary =
    existsSync(join(native, "build", "Release")) ||
    PREBUILD_PLATFORMS.some((p) => existsSync(join(native, "prebuilds", p)));
  if (!hasBinary) throw new NativeClosureError(`${native} has no prebuilds and no build/Release`);
  for (const dir of dirs) {
    const dest = join(target, relative(modules, dir));
    mkdirSync(dest, { recursive: true });
    cpSync(dir, dest, { recursive: true, filter: copyFilter(dir) });
  }
  pruneEmpty(target);
  return dirs.map((dir) => relative(modules, dir));
}

/** Rollup plugin: after the bundle is written, lay the native package beside it. */
export function nativeClosure(root: string, outDir: string): Plugin {
  return {
    name: "native-closure",
    writeBundle() {
      const copied = copyNativeClosure(root, outDir);
      this.info(`copied to ${join(outDir, "node_modules")}: ${copied.join(", ")}`);
    },
  };
}
