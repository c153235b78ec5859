// One test run for the whole repository: unit tests beside the code, end-to-end tests in test/.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/redis-global-setup.ts"],
    pool: "forks",
    // Two cores: end-to-end files start several processes each.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
