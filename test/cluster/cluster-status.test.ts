// `switchboard status` on a real 3-master Redis Cluster: the targets' health hashes (one hash tag
// per target, so spread over the masters) are all listed, whichever master holds each, when the
// command is given the services' REDIS_CLUSTER=true and any one node as REDIS_URL.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisConnection } from "@switchboard/relay";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { uniquePrefix } from "../support/stack.ts";

const cli = fileURLToPath(new URL("../../packages/doctor/src/cli.ts", import.meta.url));
const prefix = uniquePrefix("cluster-status");
/** Enough targets that their slots fall on every master (checked below, not assumed). */
const targets = Array.from({ length: 12 }, (_, index) => `target-${index}/model`);

let cluster: RedisCluster;
let redis: RedisConnection;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedisClient(cluster.url, "subscriber", "cluster-status-test", { cluster: true });
  redis.on("error", () => {});
  // As the workers write them (services/worker/src/target-health.ts): the first target's breaker
  // open for a minute after three failures, the others closed with their estimates.
  for (const [index, target] of targets.entries())
    await redis.hset(`${prefix}:health:{${target}}`, {
      firstTokenMs: String(100 + index),
      errorRate: index === 0 ? "0.5" : "0",
      failures: index === 0 ? 3 : 0,
      state: index === 0 ? "open" : "closed",
      openUntil: index === 0 ? Date.now() + 60_000 : 0,
      probeUntil: 0,
      updatedAt: Date.now(),
    });
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

async function status(env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [cli, "status"], {
    env: { PATH: process.env.PATH ?? "", REDIS_KEY_PREFIX: prefix, ...env },
  });
  return stdout;
}

describe("switchboard status on a Redis Cluster", () => {
  it("lists every target, from every master", async () => {
    const perNode = await Promise.all(cluster.nodes.map((node) => node.keys(`${prefix}:health:*`)));
    expect(
      perNode.every((keys) => keys.length > 0),
      "each master holds some of the targets",
    ).toBe(true);
    // Seeded with each node in turn: the answer is the same whichever node REDIS_URL names.
    for (const port of cluster.ports) {
      const table = await status({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER: "true" });
      const listed = table
        .split("\n")
        .slice(1)
        .filter((line) => line !== "")
        .map((line) => line.split(/\s+/)[0]);
      expect(listed).toEqual([...targets].sort((a, b) => a.localeCompare(b)));
      expect(table).toMatch(/target-0\/model\s+open \(probe in \d+ s\)\s+100 ms\s+50\.0 %\s+3/);
      expect(table).toMatch(/target-11\/model\s+closed\s+111 ms\s+0\.0 %\s+0/);
    }
  });
});
