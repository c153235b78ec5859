// Redis Sentinel: the services find the primary through the sentinels (REDIS_SENTINELS), stream
// through it, and follow the sentinels' failover when the primary crashes under load.
import OpenAI from "openai";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockTokens, type MockUpstream } from "@switchboard/mock-upstream";
import { startRedisSentinel, type RedisSentinelSetup } from "../support/redis-sentinel.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";
import { startSteadyLoad, type LoadOutcome } from "../support/steady-load.ts";

/** Short enough that a request hanging until its deadline shows within the test. */
const requestTimeoutMs = 10_000;

let sentinel: RedisSentinelSetup;
let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  // Answers of about half a second, as a voice agent's: long enough to be cut by the failover, and
  // for the relay to notice a reply channel nobody listens on.
  mock = createMockUpstream({ tokens: 20, tokenDelayMs: 25 });
  const { url } = await mock.listen(0);
  // The URL's host is ignored with sentinels; its credentials and database would apply.
  stack = await startStack("sentinel", {
    redisUrl: "redis://ignored:6379/0",
    env: {
      REDIS_SENTINELS: sentinel.sentinels,
      REDIS_SENTINEL_MASTER: sentinel.master,
      REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    },
    routes: routesTo(url),
    workers: 2,
  });
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
      const stream = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: `s${index}` }],
        stream: true,
      });
      const pieces: string[] = [];
      for await (const chunk of stream)
        if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
      return pieces;
    }),
  );
}

/**
 * A wait that failed says what the clients saw since the kill and what every service logged last:
 * this test has failed once in a full-suite run (the promotion had happened), with nothing to tell
 * which connection did not follow it.
 */
async function explained(wait: Promise<void>, outcomes: readonly LoadOutcome[], killedAt: number): Promise<void> {
  try {
    await wait;
  } catch (error) {
    const since = outcomes.filter((entry) => entry.sentAt > killedAt);
    const counts: Record<string, number> = {};
    for (const entry of since) counts[entry.outcome] = (counts[entry.outcome] ?? 0) + 1;
    const logs = [...stack.ingresses, ...stack.workers].map(
      (service, index) => `--- ${service.name} ${index}:\n${service.output.slice(-15).join("\n")}`,
    );
    throw new Error(
      `${(error as Error).message}; outcomes sent after the kill: ${JSON.stringify(counts)}\n${logs.join("\n")}`,
      { cause: error },
    );
  }
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

  it("follows the sentinels' failover when the primary is killed under load: every request ends explicitly, new ones succeed", async () => {
    const load = startSteadyLoad(stack.urls[0]!, 16, requestTimeoutMs + 5000);
    const done = () => load.outcomes.filter((entry) => entry.outcome === "done");
    await vi.waitFor(() => expect(done().length >= 40, "the load did not get going").toBe(true), {
      timeout: 10_000,
      interval: 25,
    });
    const killedAt = Date.now();
    const before = await sentinel.killPrimary();
    await vi.waitFor(
      async () => expect((await sentinel.primaryPort()) !== before, "the sentinels did not fail over").toBe(true),
      { timeout: 15_000, interval: 25 },
    );
    const promotedAt = Date.now();
    await explained(
      vi.waitFor(
        () =>
          expect(
            done().some((entry) => entry.sentAt > killedAt),
            "no request succeeded after the failover",
          ).toBe(true),
        { timeout: 15_000, interval: 25 },
      ),
      load.outcomes,
      killedAt,
    );
    const firstSuccessAt = Math.min(
      ...done()
        .filter((entry) => entry.sentAt > killedAt)
        .map((entry) => entry.endedAt),
    );
    await explained(
      vi.waitFor(
        () =>
          expect(
            done().filter((entry) => entry.sentAt > firstSuccessAt).length >= 48,
            "the load did not go on after the failover",
          ).toBe(true),
        { timeout: 15_000, interval: 25 },
      ),
      load.outcomes,
      killedAt,
    );
    const outcomes = await load.stop();

    // Per outcome: how many, and when the first and last of them were sent (ms after the kill).
    const summary: Record<string, [number, number, number]> = {};
    for (const entry of outcomes) {
      const sent = entry.sentAt - killedAt;
      const [count, first, last] = summary[entry.outcome] ?? [0, sent, sent];
      summary[entry.outcome] = [count + 1, Math.min(first, sent), Math.max(last, sent)];
    }
    console.log(
      `sentinel failover: promoted ${promotedAt - killedAt} ms after the kill, first success ${firstSuccessAt - killedAt} ms after it; outcomes [count, first sent, last sent] ${JSON.stringify(summary)}`,
    );
    // Every request ended explicitly, none at its deadline.
    expect(
      outcomes.filter((entry) => !entry.outcome.startsWith("done") && !entry.outcome.startsWith("error:")),
    ).toEqual([]);
    expect(
      outcomes.filter(
        (entry) => entry.outcome === "error:deadline_exceeded" || entry.endedAt - entry.sentAt >= requestTimeoutMs,
      ),
    ).toEqual([]);
    // Once the services are on the new primary, every request succeeds, without a restart.
    expect(outcomes.filter((entry) => entry.sentAt > firstSuccessAt && entry.outcome !== "done")).toEqual([]);
  }, 60_000);
});
