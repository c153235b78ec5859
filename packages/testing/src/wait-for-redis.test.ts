import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { freePort } from "./free-port.ts";
import { spawnRedisServer } from "./spawn-redis-server.ts";
import { pingRedis, waitForRedis } from "./wait-for-redis.ts";

describe("waiting for a Redis", () => {
  it("waits for a redis-server that starts late, then resolves", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    await expect(pingRedis(url)).rejects.toThrow();
    // Already waiting while the server starts (it refuses connections until it listens).
    const waiting = waitForRedis(url);
    const server = await spawnRedisServer(["--port", String(port), "--bind", "127.0.0.1", "--save", ""]);
    try {
      await expect(waiting).resolves.toBeUndefined();
      await expect(pingRedis(url)).resolves.toBeUndefined();
    } finally {
      server.kill("SIGTERM");
      if (server.exitCode === null) await once(server, "exit");
    }
  });

  it("rejects with the last error once its time is up", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    await expect(waitForRedis(url, 200)).rejects.toBeInstanceOf(Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });
});
