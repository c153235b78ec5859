// The end-to-end tests: real processes, real Redis, real clients.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
// Brings in the ProvidedContext it declares: the tests' inject("redisUrl") is typed by it.
import type {} from "@switchboard/testing/redis-global-setup";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    globalSetup: [fileURLToPath(import.meta.resolve("@switchboard/testing/redis-global-setup"))],
    pool: "forks",
    // Two cores: end-to-end files start several processes each.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
