import { configDefaults, defineConfig } from "vitest/config";

// These test the built bundle (`npm run test:bundle` builds it and sets IOT_AGENT_BIN); a plain
// run tests the sources and leaves them out rather than build or test a stale dist/.
const NEED_BUNDLE = ["test/integration/bundle.test.ts", "test/integration/install.test.ts"];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, ...(process.env.IOT_AGENT_BIN ? [] : NEED_BUNDLE)],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests start real processes (socat, emulators); two cores are the budget.
    maxWorkers: 2,
  },
});
