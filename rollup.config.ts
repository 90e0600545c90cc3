import { defineConfig } from "rollup";
import typescript from "@rollup/plugin-typescript";
import { builtinModules } from "node:module";
import { readFileSync } from "node:fs";

interface PackageJson {
  dependencies?: Record<string, string>;
}
const pkg = JSON.parse(readFileSync("./package.json", "utf8")) as PackageJson;
// Runtime dependencies stay external: serialport's native binding is found by
// node-gyp-build relative to its own package directory, so it cannot be inlined.
const external = [...builtinModules, ...Object.keys(pkg.dependencies ?? {})];

export default defineConfig({
  input: "src/cli/main.ts",
  output: {
    file: "dist/iot-agent.mjs",
    format: "es",
    sourcemap: true,
    banner: "#!/usr/bin/env node",
  },
  external: (id) =>
    id.startsWith("node:") || external.some((d) => id === d || id.startsWith(`${d}/`)),
  plugins: [typescript({ tsconfig: "./tsconfig.build.json" })],
});
