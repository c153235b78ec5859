// Redis Sentinel: the services find the primary through the sentinels (REDIS_SENTINELS), stream
// through it, and follow it when the sentinel fails over to the replica.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startRedisSentinel, type RedisSentinelSetup } from "../support/redis-sentinel.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { waitUntil } from "../support/wait-until.ts";

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
  });

  it("follows the sentinel's failover to the replica when the primary crashes", async () => {
    const before = await sentinel.primaryPort();
    await sentinel.killPrimary();
    await waitUntil(async () => (await sentinel.primaryPort()) !== before, 30_000, "the sentinel did not fail over");
    // The services reconnect to the new primary; readiness (the workers' heartbeats, read through
    // the ingress's connection) says when they are there.
    const readyUrl = stack.urls[0]!.replace(/\/v1$/, "/ready");
    await waitUntil(async () => (await fetch(readyUrl)).status === 200, 20_000, "the ingress did not become ready on the new primary");
    const answers = await streamAll(20);
    for (const pieces of answers) expect(pieces).toEqual(mockTokens(20));
  }, 60_000);
});
