// The unit tests beside this workspace's sources against a real Redis.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
// Brings in the ProvidedContext it declares: the tests' inject("redisUrl") is typed by it.
import type {} from "@switchboard/testing/redis-global-setup";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: [fileURLToPath(import.meta.resolve("@switchboard/testing/redis-global-setup"))],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
