// Finds a real Redis for the test run, in this order, and never skips silently:
//   1. REDIS_URL, if set;
//   2. a container started by testcontainers, where a Docker engine answers;
//   3. a private `redis-server` on a free loopback port, where the binary is installed;
//   4. otherwise the run fails, saying how to provide one.
import { once } from "node:events";
import type { TestProject } from "vitest/node";
import { freePort } from "./free-port.ts";
import { spawnRedisServer } from "./spawn-redis-server.ts";
import { pingRedis, waitForRedis } from "./wait-for-redis.ts";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    await checkRedisUrl(process.env.REDIS_URL);
    project.provide("redisUrl", process.env.REDIS_URL);
    return async () => {};
  }
  const container = await startContainer();
  if (container) {
    project.provide("redisUrl", container.url);
    return container.stop;
  }
  const local = await startLocalRedisServer();
  project.provide("redisUrl", local.url);
  return local.stop;
}

async function checkRedisUrl(url: string): Promise<void> {
  try {
    await pingRedis(url, 2000);
  } catch (error) {
    throw new Error(
      `REDIS_URL=${url} does not answer (${(error as Error).message}). Start Redis there, or unset REDIS_URL to let the tests start their own.`,
    );
  }
}

async function startContainer(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no Docker engine here: fall through to a local redis-server
  }
  const { RedisContainer } = await import("@testcontainers/redis");
  const container = await new RedisContainer("redis:7").start();
  return { url: container.getConnectionUrl(), stop: async () => void (await container.stop()) };
}

async function startLocalRedisServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const server = await spawnRedisServer(args).catch(() => {
    throw new Error(
      "No Redis for the tests: set REDIS_URL, run a Docker engine (testcontainers), or install redis-server (apt-get install redis-server).",
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitForRedis(url);
  return {
    url,
    stop: async () => {
      server.kill("SIGTERM");
      if (server.exitCode === null) await once(server, "exit");
    },
  };
}
