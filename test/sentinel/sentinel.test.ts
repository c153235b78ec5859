// Redis Sentinel: the services find the primary through the sentinels (REDIS_SENTINELS) and stream
// through it. Failover is not checked here: see "Redis deployments" in README.md.
import OpenAI from "openai";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startRedisSentinel, type RedisSentinelSetup } from "../support/redis-sentinel.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

let sentinel: RedisSentinelSetup;
let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  mock = createMockUpstream({ tokens: 20, tokenDelayMs: 2 });
  const { url } = await mock.listen(0);
  // The URL's host is ignored with sentinels; its credentials and database would apply.
  stack = await startStack("sentinel", { redisUrl: "redis://ignored:6379/0", env: { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_MASTER: sentinel.master }, routes: routesTo(url) });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  await sentinel?.stop();
});

async function streamAll(count: number): Promise<string[][]> {
  const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const stream = await client.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: `s${index}` }], stream: true });
      const pieces: string[] = [];
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
      return pieces;
    }),
  );
}

describe("Redis Sentinel", () => {
  it("streams through the primary the sentinel names", async () => {
    const answers = await streamAll(20);
    for (const pieces of answers) expect(pieces).toEqual(mockTokens(20));
    const primary = new Redis(await sentinel.primaryPort(), "127.0.0.1");
    try {
      expect(await primary.keys(`${stack.prefix}:req:*:log`)).toHaveLength(20);
    } finally {
      primary.disconnect();
    }
  });
});
