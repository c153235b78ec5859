import { once } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { freePort } from "./free-port.ts";
import { spawnRedisServer } from "./spawn-redis-server.ts";
import { pingRedis, waitForRedis } from "./wait-for-redis.ts";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("spawning a redis-server", () => {
  it("resolves with the running process, started with the given arguments", async () => {
    const port = await freePort();
    const server = await spawnRedisServer(["--port", String(port), "--bind", "127.0.0.1", "--save", ""]);
    try {
      expect(server.pid).toBeTypeOf("number");
      await expect(waitForRedis(`redis://127.0.0.1:${port}`)).resolves.toBeUndefined();
    } finally {
      server.kill("SIGTERM");
      if (server.exitCode === null) await once(server, "exit");
    }
    await expect(pingRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow();
  });

  it("rejects with the spawn's error when there is no redis-server to run", async () => {
    vi.stubEnv("PATH", "/nonexistent");
    await expect(spawnRedisServer(["--port", "0"])).rejects.toMatchObject({ code: "ENOENT" });
  });
});
