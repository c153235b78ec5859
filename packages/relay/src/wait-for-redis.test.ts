// Waiting for a connection to be ready, for many callers at once (a worker's jobs after a failover).
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { waitForRedis } from "./redis-client.ts";

describe("waitForRedis", () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  it("lets many waiters share one listener and resolves them all when the connection is ready", async () => {
    const client = new Redis(inject("redisUrl"), { lazyConnect: true });
    clients.push(client);
    const before = client.listenerCount("ready");
    const waiters = Array.from({ length: 100 }, () => waitForRedis(client, inject("redisUrl"), 5000));
    expect(client.listenerCount("ready") - before).toBe(1);
    await client.connect();
    await expect(Promise.all(waiters)).resolves.toHaveLength(100);
    await expect(waitForRedis(client, inject("redisUrl"), 0)).resolves.toBeUndefined();
  });

  it("gives up at each waiter's own time, saying what to do", async () => {
    const client = new Redis(inject("redisUrl"), { lazyConnect: true });
    clients.push(client);
    await expect(waitForRedis(client, "redis://:secret@127.0.0.1:6379", 20)).rejects.toThrow(
      "Cannot reach Redis at redis://***@127.0.0.1:6379 within 20 ms",
    );
  });
});
