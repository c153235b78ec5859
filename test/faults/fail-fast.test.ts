// The ingress's fail-fast premise, checked against the real libraries: BullMQ's Queue.add on a
// command connection (offline queue off, command timeout) rejects at once while Redis is down and
// at the command timeout while it hangs — never waits for Redis to come back.
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRedisClient } from "@switchboard/relay";
import { startPrivateRedis, type PrivateRedis } from "../support/private-redis.ts";

let redis: PrivateRedis;

beforeAll(async () => {
  redis = await startPrivateRedis();
});
afterAll(async () => {
  redis.resume();
  await redis.stop();
});

/** "added", or the message Queue.add rejected with (the message says which mechanism answered). */
async function timeAdd(queue: Queue): Promise<{ error: string }> {
  const error = await queue.add("chat", { probe: true }).then(
    () => "added",
    (caught: unknown) => (caught as Error).message,
  );
  return { error };
}

describe("Queue.add on the ingress's command connection", () => {
  it("rejects at once when Redis is down, and at the command timeout when it hangs", async () => {
    const client = createRedisClient(redis.url, "command", "fail-fast-test", {}, { commandTimeoutMs: 300 });
    client.on("error", () => {});
    const queue = new Queue("chat", { connection: client, prefix: "failfast" });
    queue.on("error", () => {});
    // The first add also loads BullMQ's scripts, which a busy machine may take longer than the
    // command timeout to do: retried until it lands, so the timings below are of a warm connection.
    await vi.waitFor(async () => expect((await timeAdd(queue)).error).toBe("added"), { timeout: 5000, interval: 25 });

    redis.pause();
    const hung = await timeAdd(queue);
    expect(hung.error).toMatch(/timed out/i);
    redis.resume();
    expect((await timeAdd(queue)).error).toBe("added");

    await redis.kill();
    // Either the connection is already known closed (offline queue off) or the command was in
    // flight when it closed (one retry, then rejected): both fail instead of waiting for Redis.
    const down = await timeAdd(queue);
    expect(down.error).toMatch(/enableOfflineQueue|max retries per request/);
    await queue.close().catch(() => {});
    client.disconnect();
  }, 30_000);
});
