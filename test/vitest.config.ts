// The end-to-end tests: real processes, real Redis, real clients.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    globalSetup: ["support/redis-global-setup.ts"],
    pool: "forks",
    // Two cores: end-to-end files start several processes each.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
