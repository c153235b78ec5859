// Latency-aware routing, end to end: a route whose health picks by latency, over two targets whose
// first tokens come 250 ms and 5 ms after the call, served by two worker processes. Each target is
// measured (a target never measured is tried first), the first-token estimates are shared through
// Redis, and from then on both workers start the route's requests on the faster target, although
// the route lists the slower one first. A route that picks in order keeps calling its first target.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { scrape, total } from "@switchboard/testing";
import { startStack, type Stack } from "../support/stack.ts";

let slow: MockUpstream;
let fast: MockUpstream;
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  slow = createMockUpstream({ tokens: 3, firstTokenDelayMs: 250 });
  fast = createMockUpstream({ tokens: 3, firstTokenDelayMs: 5 });
  const upstream = async (mock: MockUpstream) => ({
    type: "openai",
    baseUrl: (await mock.listen(0)).url,
    apiKeyEnv: "UPSTREAM_API_KEY",
  });
  const targets = { provider: "slow", fallbacks: [{ provider: "fast" }] };
  stack = await startStack("latency-routing", {
    workers: 2,
    routes: {
      providers: { slow: await upstream(slow), fast: await upstream(fast) },
      routes: {
        quickest: { ...targets, health: { pick: "latency" } },
        ordered: { ...targets, health: { pick: "order" } },
      },
    },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await slow?.close();
  await fast?.close();
});

async function ask(model: string): Promise<void> {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Hi" }],
    stream: true,
  });
  for await (const _chunk of stream);
}

describe("a route that picks its target by latency", () => {
  it("starts its requests on the faster target once both are measured, on every worker", async () => {
    // Until each worker has seen both estimates, some requests try the slow target.
    let inARow = 0;
    let sent = 0;
    while (inARow < 12 && sent < 40) {
      const before = fast.stats().recent.length;
      await ask("quickest");
      sent++;
      inARow = fast.stats().recent.length > before ? inARow + 1 : 0;
    }
    expect(inARow, `requests sent: ${sent}`).toBe(12);
    // Measuring the slow target took a call or two per worker, not a share of the traffic.
    expect(slow.stats().recent.length).toBeLessThanOrEqual(4);
    expect(fast.stats().recent.length + slow.stats().recent.length).toBe(sent);
    // Both workers took part: each made upstream calls.
    for (const worker of stack.workers) {
      const samples = await scrape(String(worker.readyLine.metricsUrl));
      expect(total(samples, "gen_ai_client_operation_duration_seconds_count")).toBeGreaterThan(0);
    }
  }, 60_000);

  it("leaves a route that picks in order on its first target", async () => {
    slow.reset();
    fast.reset();
    for (let index = 0; index < 4; index++) await ask("ordered");
    expect(slow.stats().recent).toHaveLength(4);
    expect(fast.stats().recent).toHaveLength(0);
  }, 30_000);
});
