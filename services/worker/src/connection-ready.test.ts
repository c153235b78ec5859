import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ConnectionReady } from "./connection-ready.ts";

describe("ConnectionReady", () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  it("lets many waiters share one listener and resolves them all when the connection is ready", async () => {
    const client = new Redis(inject("redisUrl"), { lazyConnect: true });
    clients.push(client);
    const ready = new ConnectionReady(client, "the test connection");
    const before = client.listenerCount("ready");
    const waiters = Array.from({ length: 100 }, () => ready.wait(5000));
    expect(client.listenerCount("ready") - before).toBe(1);
    await client.connect();
    await expect(Promise.all(waiters)).resolves.toHaveLength(100);
    await expect(ready.wait(0)).resolves.toBeUndefined();
  });

  it("gives up at each waiter's own time, saying which connection", async () => {
    const client = new Redis(inject("redisUrl"), { lazyConnect: true });
    clients.push(client);
    const ready = new ConnectionReady(client, "the test connection");
    await expect(ready.wait(20)).rejects.toThrow("the test connection to Redis was not back within 20 ms");
  });
});
