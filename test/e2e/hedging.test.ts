// Hedged first token, end to end: two worker processes, the mock upstream behind two provider keys
// (each call of a request is one record in its stats, the primary's first), and openai SDK clients.
// A primary that sends no useful token within the hedge delay is raced by the route's next target;
// the first useful token wins, the other call is closed at once, and the client hears one answer.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockRequestRecord, type MockUpstream } from "@switchboard/mock-upstream";
import { scrape, total, type Sample } from "@switchboard/testing";
import { startStack, type Stack } from "../support/stack.ts";

const hedgeAfterMs = 300;
const text = "One clean answer from whichever call won.";
let mock: MockUpstream;
let roleOnly: Server;
let roleOnlyClosed: Promise<number>;
let stack: Stack;
let client: OpenAI;

/** An upstream that sends the role, an empty content delta and a keep-alive, then nothing: not an answer. */
function startRoleOnlyUpstream(): Promise<string> {
  let closed: (at: number) => void = () => {};
  roleOnlyClosed = new Promise((resolve) => {
    closed = resolve;
  });
  roleOnly = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (delta: object) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    response.write([chunk({ role: "assistant" }), chunk({ content: "" }), ": keep-alive\n\n"].join(""));
    response.on("close", () => closed(Date.now()));
  });
  return new Promise((resolve) =>
    roleOnly.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(roleOnly.address() as AddressInfo).port}/v1`)),
  );
}

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 8 });
  const mockUrl = (await mock.listen(0)).url;
  const roleOnlyUrl = await startRoleOnlyUpstream();
  const upstream = (baseUrl: string) => ({ type: "openai", baseUrl, apiKeyEnv: "UPSTREAM_API_KEY" });
  const hedged = (provider: string, hedge: object) => ({
    provider,
    model: "primary-model",
    fallbacks: [{ provider: "backup", model: "hedge-model" }],
    passFields: ["mock"],
    hedge,
  });
  stack = await startStack("hedging", {
    workers: 2,
    routes: {
      providers: { primary: upstream(mockUrl), backup: upstream(mockUrl), "role-only": upstream(roleOnlyUrl) },
      routes: {
        hedged: hedged("primary", { afterMs: hedgeAfterMs, budgetPercent: 100 }),
        "role-only": hedged("role-only", { afterMs: hedgeAfterMs, budgetPercent: 100 }),
        budget: hedged("primary", { afterMs: 200, budgetPercent: 50 }),
        adaptive: hedged("primary", {
          afterMs: 3000,
          adaptive: { percentile: 50, minMs: 20, maxMs: 3000 },
          budgetPercent: 100,
        }),
      },
    },
    // At most 5 jobs each: a burst of 10 is shared by both workers.
    workerEnv: { WORKER_CONCURRENCY: "5", UPSTREAM_RETRIES: "0", UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "1500" },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  roleOnly?.closeAllConnections();
  roleOnly?.close();
});

function callsTagged(tag: string): MockRequestRecord[] {
  return mock.stats().recent.filter((call) => call.tag === tag);
}

/** Streams one request; returns its text, tool-call names and when its first useful chunk came. */
async function stream(model: string, mockOptions: object) {
  const started = performance.now();
  const response = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Hi" }],
    stream: true,
    mock: mockOptions,
  } as never as OpenAI.ChatCompletionCreateParamsStreaming);
  let content = "";
  const toolCalls: string[] = [];
  let firstTokenMs: number | undefined;
  for await (const chunk of response) {
    const delta = chunk.choices[0]?.delta;
    if (!delta?.content && !delta?.tool_calls) continue;
    firstTokenMs ??= performance.now() - started;
    content += delta.content ?? "";
    for (const call of delta.tool_calls ?? []) if (call.function?.name) toolCalls.push(call.function.name);
  }
  return { content, toolCalls, firstTokenMs: firstTokenMs ?? Number.NaN };
}

async function workerSamples(): Promise<Sample[][]> {
  return Promise.all(stack.workers.map((worker) => scrape(String(worker.readyLine.metricsUrl))));
}

function sum(samples: Sample[][], name: string, labels: Record<string, string> = {}): number {
  return samples.reduce((all, worker) => all + total(worker, name, labels), 0);
}

/** The primary's call and the hedge's, once both have ended (the primary is closed by the win). */
async function settledPair(tag: string): Promise<[MockRequestRecord, MockRequestRecord]> {
  return vi.waitFor(
    () => {
      const calls = callsTagged(tag);
      expect(calls).toHaveLength(2);
      for (const call of calls) expect(call.endedAt ?? call.abortedAt).toBeDefined();
      return calls as [MockRequestRecord, MockRequestRecord];
    },
    { timeout: 5000 },
  );
}

describe("hedged first token", () => {
  it("answers from the hedge after about the hedge delay when the primary stalls, and closes the primary within 50 ms of the win", async () => {
    const tag = "stalled-primary";
    const before = await workerSamples();
    const answer = await stream("hedged", { text, tag, fail: { kind: "stall", times: 1 } });
    expect(answer.content).toBe(text);
    expect(answer.firstTokenMs).toBeGreaterThanOrEqual(hedgeAfterMs);
    expect(answer.firstTokenMs).toBeLessThan(hedgeAfterMs + 1000);
    const [primary, hedge] = await settledPair(tag);
    expect(primary).toMatchObject({ model: "primary-model", tokensSent: 0 });
    expect(hedge).toMatchObject({ model: "hedge-model", status: 200 });
    // The hedge came second (how long after is the client's first-token time above: the mock's clock
    // also counts the primary's connection set-up, slow on a loaded machine).
    expect(hedge.startedAt).toBeGreaterThan(primary.startedAt);
    expect(hedge.endedAt).toBeDefined();
    // The primary's socket closed at once: the mock saw it go within 50 ms of the hedge's first token.
    expect(primary.abortedAt).toBeDefined();
    expect((primary.abortedAt as number) - (hedge.firstByteAt as number)).toBeLessThan(50);
    const after = await workerSamples();
    const metric = (samples: Sample[][], name: string, labels: Record<string, string> = {}) =>
      sum(samples, name, labels) - sum(before, name, labels);
    expect(metric(after, "switchboard_hedges_started_total", { switchboard_provider: "primary" })).toBe(1);
    expect(
      metric(after, "switchboard_hedges_wins_total", {
        switchboard_provider: "backup",
        switchboard_hedge_role: "hedge",
      }),
    ).toBe(1);
  });

  it("does not slow a primary that answers before the hedge delay, and starts no hedge", async () => {
    const tag = "fast-primary";
    const answer = await stream("hedged", { text, tag });
    expect(answer.content).toBe(text);
    expect(answer.firstTokenMs).toBeLessThan(hedgeAfterMs);
    await vi.waitFor(() => expect(callsTagged(tag)[0]?.endedAt).toBeDefined());
    expect(callsTagged(tag)).toHaveLength(1);
  });

  it("keeps the primary when it answers a little after the hedge delay, and closes the hedge", async () => {
    const tag = "slightly-slow";
    const before = await workerSamples();
    const answer = await stream("hedged", { text, tag, firstTokenDelayMs: hedgeAfterMs + 150 });
    expect(answer.content).toBe(text);
    const [primary, hedge] = await settledPair(tag);
    expect(primary).toMatchObject({ model: "primary-model", status: 200 });
    expect(primary.endedAt).toBeDefined();
    expect(primary.abortedAt).toBeUndefined();
    expect(hedge).toMatchObject({ model: "hedge-model", tokensSent: 0 });
    expect(hedge.abortedAt).toBeDefined();
    const after = await workerSamples();
    expect(
      sum(after, "switchboard_hedges_wins_total", { switchboard_hedge_role: "primary" }) -
        sum(before, "switchboard_hedges_wins_total", { switchboard_hedge_role: "primary" }),
    ).toBe(1);
  });

  it("does not count role-only, empty and keep-alive chunks as an answer: the hedge answers", async () => {
    const tag = "role-only";
    const answer = await stream("role-only", { text, tag });
    expect(answer.content).toBe(text);
    expect(answer.firstTokenMs).toBeGreaterThanOrEqual(hedgeAfterMs);
    const [hedge] = await vi.waitFor(() => {
      const calls = callsTagged(tag);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.endedAt).toBeDefined();
      return calls;
    });
    expect(hedge).toMatchObject({ model: "hedge-model", status: 200 });
    // The role-only upstream's connection was closed when the hedge won.
    const closedAt = await roleOnlyClosed;
    expect(closedAt - (hedge?.firstByteAt as number)).toBeLessThan(50);
  });

  it("hedges a tool-call stream the same way: the hedge's call reaches the client, once", async () => {
    const tag = "tool-call";
    const answer = await stream("hedged", {
      tag,
      toolCalls: [{ name: "lookup_order", arguments: '{"order":"A1"}' }],
      fail: { kind: "stall", times: 1 },
    });
    expect(answer.toolCalls).toEqual(["lookup_order"]);
    expect(answer.content).toBe("");
    const [primary, hedge] = await settledPair(tag);
    expect(primary.abortedAt).toBeDefined();
    expect(primary.tokensSent).toBe(0);
    expect(hedge.endedAt).toBeDefined();
  });

  it("follows the target's first-token time with the adaptive delay", async () => {
    // Bursts of 10: at most 5 jobs per worker, so each worker sees half of every burst.
    const burst = (firstTokenDelayMs: number) =>
      Promise.all(Array.from({ length: 10 }, () => stream("adaptive", { text, firstTokenDelayMs })));
    const hedges = async () => sum(await workerSamples(), "switchboard_hedges_started_total");
    const start = await hedges();
    // A fast target: with too few samples the fixed 3 s applies (no hedge), then the median is ~100 ms.
    await burst(100);
    await burst(100);
    expect(await hedges()).toBe(start);
    // So a call at 300 ms is hedged...
    await burst(300);
    expect(await hedges()).toBe(start + 10);
    // ...until the target has slowed down to 600 ms: then the delay is ~600 ms, and 300 ms is not hedged.
    for (let round = 0; round < 4; round++) await burst(600);
    const afterSlow = await hedges();
    await burst(300);
    expect(await hedges()).toBe(afterSlow);
  });

  it("refuses hedges beyond the route's budget, counted across both worker processes", async () => {
    const requests = 10;
    const before = await workerSamples();
    const answers = await Promise.all(
      Array.from({ length: requests }, (_, index) =>
        stream("budget", { text, tag: `budget-${index}`, fail: { kind: "stall", times: 1 } }),
      ),
    );
    for (const answer of answers) expect(answer.content).toBe(text);
    const after = await workerSamples();
    const perWorker = (name: string) =>
      after.map((samples, index) => total(samples, name) - total(before[index] as Sample[], name));
    const started = perWorker("switchboard_hedges_started_total");
    const refused = perWorker("switchboard_hedges_budget_refusals_total");
    // 50 % of 10 requests: 5 hedges, wherever they ran; the rest waited for the first-token timeout.
    expect(started.reduce((a, b) => a + b)).toBe(requests / 2);
    expect(refused.reduce((a, b) => a + b)).toBe(requests / 2);
    // Both workers took part (at most 5 jobs each), so the budget was shared, not per process.
    for (let index = 0; index < started.length; index++)
      expect((started[index] as number) + (refused[index] as number)).toBeGreaterThan(0);
    const hedgedFast = answers.filter((answer) => answer.firstTokenMs < 1500).length;
    expect(hedgedFast).toBe(requests / 2);
  });
});
