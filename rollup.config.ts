import { defineConfig, type RollupLog } from "rollup";
import commonjs from "@rollup/plugin-commonjs";
import json from "@rollup/plugin-json";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import typescript from "@rollup/plugin-typescript";
import { builtinModules } from "node:module";
import { resolve } from "node:path";
import { buildReport } from "./scripts/build-report.js";
import { NATIVE_PACKAGE, nativeClosure } from "./scripts/native-closure.js";

const ROOT = resolve(".");
const OUT_DIR = resolve("dist");
const BUNDLE = resolve(OUT_DIR, "iot-agent.mjs");

/**
 * Warnings known to be harmless, each with why. Anything else is printed (and a new kind of
 * warning deserves a look before it joins this list).
 */
function harmless(log: RollupLog): boolean {
  const inNodeModules = (id: string | undefined) => id?.includes("/node_modules/") ?? false;
  // Dependencies' own module cycles (zod's locales, readable-stream's duplex/writable) work in
  // their npm form and keep working bundled: rollup preserves their evaluation order.
  if (log.code === "CIRCULAR_DEPENDENCY") return log.ids?.every(inNodeModules) ?? false;
  // TypeScript's down-levelled helpers in dependencies test `this` at module level, where it is
  // undefined in ESM as it would be under any ESM loader.
  if (log.code === "THIS_IS_UNDEFINED") return inNodeModules(log.id);
  // zod explains its pure-call marks in comments placed where rollup looks for such marks;
  // rollup drops only those comments, and the code is the same.
  if (log.code === "INVALID_ANNOTATION") return inNodeModules(log.id);
  return false;
}

export default defineConfig({
  input: "src/cli/main.ts",
  output: {
    file: BUNDLE,
    format: "es",
    sourcemap: true,
    // Positions map to file:line for stack traces (node --enable-source-maps); the sources'
    // text would more than double what a device stores for no run-time use.
    sourcemapExcludeSources: true,
    banner: "#!/usr/bin/env node",
    // One file: dynamic imports in dependencies are inlined instead of split into chunks.
    inlineDynamicImports: true,
    // CommonJS dependencies name builtins bare ("fs"); the prefix makes every builtin import
    // say what it is, so a scan of the bundle's imports can tell builtins from packages.
    paths: (id) => (builtinModules.includes(id) ? `node:${id}` : id),
  },
  // Builtins stay imports; the native serial binding is found relative to its own package
  // directory by node-gyp-build, so it stays a package, copied beside the bundle.
  external: (id) =>
    id.startsWith("node:") ||
    builtinModules.includes(id) ||
    id === NATIVE_PACKAGE ||
    id.startsWith(`${NATIVE_PACKAGE}/`),
  onLog(level, log, handler) {
    if (level === "warn" && harmless(log)) return;
    handler(level, log);
  },
  plugins: [
    typescript({ tsconfig: "./tsconfig.build.json" }),
    nodeResolve({ preferBuiltins: true, exportConditions: ["node"] }),
    // A require() inside try/catch is a dependency probing for an optional package
    // (bufferutil, utf-8-validate, supports-color): left as is, it throws in the ES module and
    // the dependency does without, as when the package is not installed. Builtins are bundled.
    commonjs({ ignoreTryCatch: (id) => !builtinModules.includes(id) }),
    json(),
    nativeClosure(ROOT, OUT_DIR),
    buildReport(BUNDLE, OUT_DIR),
  ],
});
