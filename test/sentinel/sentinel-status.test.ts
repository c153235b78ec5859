// `switchboard status` through Redis Sentinel: given the services' REDIS_SENTINELS (REDIS_URL's host
// ignored, as for the services), it reads the targets' health from the primary the sentinels name,
// and after the primary crashed, from the replica they promoted.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRedisClient, type RedisConnection } from "@switchboard/relay";
import { startRedisSentinel, type RedisSentinelSetup } from "../support/redis-sentinel.ts";
import { uniquePrefix } from "../support/stack.ts";

const cli = fileURLToPath(new URL("../../packages/doctor/src/cli.ts", import.meta.url));
const prefix = uniquePrefix("sentinel-status");

let sentinel: RedisSentinelSetup;
let redis: RedisConnection;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  redis = createRedisClient("redis://ignored:6379/0", "subscriber", "sentinel-status-test", {
    sentinels: sentinel.sentinels,
    sentinelMaster: sentinel.master,
  });
  redis.on("error", () => {});
  // As a worker writes it (services/worker/src/target-health.ts), for one closed target.
  await redis.hset(`${prefix}:health:{primary/model-a}`, {
    firstTokenMs: "120",
    errorRate: "0.25",
    failures: 1,
    state: "closed",
    openUntil: 0,
    probeUntil: 0,
    updatedAt: Date.now(),
  });
  // On the replica too before the primary is killed (replication is asynchronous).
  expect(await redis.wait(1, 5000)).toBe(1);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await sentinel?.stop();
});

async function status(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [cli, "status"], {
    env: {
      PATH: process.env.PATH ?? "",
      // Nothing listens here: only the URL's credentials and database count with sentinels.
      REDIS_URL: "redis://127.0.0.1:1/0",
      REDIS_SENTINELS: sentinel.sentinels,
      REDIS_SENTINEL_MASTER: sentinel.master,
      REDIS_KEY_PREFIX: prefix,
    },
  });
  return stdout;
}

describe("switchboard status through Redis Sentinel", () => {
  it("reads the primary the sentinels name, before and after a failover", async () => {
    const row = /primary\/model-a\s+closed\s+120 ms\s+25\.0 %\s+1/;
    expect(await status()).toMatch(row);
    const killed = await sentinel.killPrimary();
    await vi.waitFor(async () => expect(await sentinel.primaryPort()).not.toBe(killed), {
      timeout: 20_000,
      interval: 50,
    });
    expect(await status()).toMatch(row);
  });
});
