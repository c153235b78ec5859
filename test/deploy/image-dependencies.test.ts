// The images copy only the root node_modules from their dependency stage (infra/docker/Dockerfile),
// so a production dependency npm could not hoist — installed under a workspace's own node_modules
// because another version sits at the root — would be missing in the image and the service would
// not start. The lockfile says where each package lands; none may land there.
import { describe, expect, it } from "vitest";
import { readRepoFile } from "../support/deploy-files.ts";

describe("the images' dependencies", () => {
  it("are all hoisted to the root node_modules, the only one the images copy", () => {
    const lock = JSON.parse(readRepoFile("package-lock.json")) as {
      packages: Record<string, { dev?: boolean; link?: boolean }>;
    };
    const nested = Object.entries(lock.packages)
      .filter(([path, entry]) => /^(?:packages|services)\/[^/]+\/node_modules\//.test(path) && entry.dev !== true)
      .map(([path]) => path);
    expect(nested).toEqual([]);
    // The check sees production dependencies at all: the telemetry package's logger is one.
    expect(lock.packages["node_modules/pino"]?.dev).toBeUndefined();
    expect(lock.packages["node_modules/eventsource-parser"]?.dev).toBeUndefined();
  });
});
