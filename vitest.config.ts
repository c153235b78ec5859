// Every workspace's tests from the repository root (`npx vitest run path/to/file.test.ts`): each
// workspace is a project with its own configuration. `npm test` runs them per workspace through turbo.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "test"],
  },
});
