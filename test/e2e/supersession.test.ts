// A conversation's new turn ends its older turn still running: the older upstream call is closed
// (seen at the mock upstream), its client gets a clean finish (finish_reason "stop" after what it
// had, no error), the new turn answers in full. The conversation id comes from the
// x-conversation-id header, elevenlabs_extra_body.conversation_id or the OpenAI user field;
// turns of different conversations, and turns on a route with supersede: false, are untouched. A
// non-streamed older turn gets a normal completion (finish_reason "stop") with what it had.
// The two turns go to different ingresses: the request-to-conversation mapping is in Redis.
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { jobCatalog, type ChatJob } from "@switchboard/protocol";
import { CancelBroadcaster, relayKeys } from "@switchboard/relay";
import { scrape, total } from "@switchboard/testing";
import { startTurn, type TurnOptions } from "../support/conversation-turns.ts";
import { startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;

/** Slow enough to be mid-stream when the next turn arrives: 200 tokens, 20 ms apart. */
const slow = { tokens: 200, tokenDelayMs: 20 };
const quick = { tokens: 5, tokenDelayMs: 1 };

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 5, tokenDelayMs: 1 });
  const { url } = await mock.listen(0);
  stack = await startStack("supersession", {
    ingresses: 2,
    workers: 1,
    routes: {
      providers: { upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" } },
      routes: {
        "*": { provider: "upstream", passFields: ["mock"] },
        "keep-turns": { provider: "upstream", passFields: ["mock"], supersede: false },
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

function uniqueId(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}`;
}

function callTagged(tag: string) {
  const call = mock.stats().recent.find((entry) => entry.tag === tag);
  expect(call).toBeDefined();
  return call as NonNullable<typeof call>;
}

/**
 * Send a slow turn to the first ingress, then, once its first token arrived, a quick turn of the
 * same conversation (the same `conversation` fields) to the second.
 */
async function twoTurns(conversation: (tag: string) => Omit<TurnOptions, "url">) {
  const older = uniqueId("older");
  const newer = uniqueId("newer");
  const first = conversation(older);
  const firstTurn = startTurn({
    ...first,
    url: stack.urls[0] as string,
    body: { ...first.body, mock: { ...slow, tag: older } },
  });
  await firstTurn.firstToken;
  const second = conversation(newer);
  const secondTurn = startTurn({
    ...second,
    url: stack.urls[1] as string,
    body: { ...second.body, mock: { ...quick, tag: newer } },
  });
  return { older, newer, first: await firstTurn.done, second: await secondTurn.done };
}

async function expectSuperseded(result: Awaited<ReturnType<typeof twoTurns>>): Promise<void> {
  // The older client: a clean end after what it had, well short of the whole answer.
  expect(result.first.error).toBeUndefined();
  expect(result.first.finishReason).toBe("stop");
  expect(result.first.chunks).toBeGreaterThan(0);
  expect(result.first.chunks).toBeLessThan(slow.tokens);
  expect(mockText(slow.tokens).startsWith(result.first.text)).toBe(true);
  // The newer turn: the whole answer.
  expect(result.second.error).toBeUndefined();
  expect(result.second.text).toBe(mockText(quick.tokens));
  expect(result.second.finishReason).toBe("stop");
  // The older upstream call was closed by the gateway, not finished.
  await vi.waitFor(() => {
    const call = callTagged(result.older);
    expect(call.abortedAt).toBeDefined();
    expect(call.tokensSent).toBeLessThan(slow.tokens);
  });
  expect(callTagged(result.newer).abortedAt).toBeUndefined();
}

describe("supersession", () => {
  it("ends the older turn named by the x-conversation-id header, and counts it", async () => {
    const metricsUrl = String(stack.ingresses[0]?.readyLine.metricsUrl);
    const workerMetricsUrl = String(stack.workers[0]?.readyLine.metricsUrl);
    const before = total(await scrape(metricsUrl), "switchboard_superseded_total");
    const workerCancels = (reason: string) => async () =>
      total(await scrape(workerMetricsUrl), "switchboard_cancellations_total", { switchboard_cancel_reason: reason });
    const [supersededBefore, goneBefore] = [await workerCancels("superseded")(), await workerCancels("client-gone")()];
    const conversationId = uniqueId("conv-header");
    const result = await twoTurns(() => ({ headers: { "x-conversation-id": conversationId } }));
    await expectSuperseded(result);
    await vi.waitFor(async () => {
      expect(total(await scrape(metricsUrl), "switchboard_superseded_total")).toBe(before + 1);
    });
    // Superseded is not an error and not a client cancellation.
    const samples = await scrape(metricsUrl);
    expect(total(samples, "switchboard_errors_total")).toBe(0);
    // The worker stopped the older job for the same reason: the reason travels with the cancel.
    await vi.waitFor(async () => expect(await workerCancels("superseded")()).toBe(supersededBefore + 1));
    expect(await workerCancels("client-gone")()).toBe(goneBefore);
  });

  it("takes the conversation id from elevenlabs_extra_body.conversation_id", async () => {
    const conversationId = uniqueId("conv-extra");
    await expectSuperseded(
      await twoTurns(() => ({ body: { elevenlabs_extra_body: { conversation_id: conversationId } } })),
    );
  });

  it("takes the conversation id from the OpenAI user field", async () => {
    const user = uniqueId("user");
    await expectSuperseded(await twoTurns(() => ({ body: { user } })));
  });

  it("gives a superseded non-streamed turn a normal completion with what it had", async () => {
    const conversationId = uniqueId("conv-collected");
    const older = uniqueId("older");
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const first = client.chat.completions.create(
      {
        model: "mock-model",
        messages: [{ role: "user", content: "Tell me something." }],
        // @ts-expect-error the mock upstream's own field, passed on by the route
        mock: { ...slow, tag: older },
      },
      { headers: { "x-conversation-id": conversationId } },
    );
    // The older call is at the upstream before the newer turn is sent.
    await vi.waitFor(() => expect(callTagged(older).startedAt).toBeGreaterThan(0));
    const second = await startTurn({
      url: stack.urls[1] as string,
      headers: { "x-conversation-id": conversationId },
      body: { mock: quick },
    }).done;
    const completion = await first;
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(mockText(slow.tokens).startsWith(completion.choices[0]?.message.content ?? "")).toBe(true);
    expect(second.text).toBe(mockText(quick.tokens));
    await vi.waitFor(() => expect(callTagged(older).abortedAt).toBeDefined());
  });

  it("leaves turns of different conversations alone", async () => {
    const result = await twoTurns(() => ({ headers: { "x-conversation-id": uniqueId("conv-own") } }));
    expect(result.first.error).toBeUndefined();
    expect(result.first.text).toBe(mockText(slow.tokens));
    expect(result.second.text).toBe(mockText(quick.tokens));
    expect(callTagged(result.older).abortedAt).toBeUndefined();
  });

  it("leaves a route with supersede: false alone", async () => {
    const conversationId = uniqueId("conv-keep");
    const result = await twoTurns(() => ({ model: "keep-turns", headers: { "x-conversation-id": conversationId } }));
    expect(result.first.error).toBeUndefined();
    expect(result.first.text).toBe(mockText(slow.tokens));
    expect(result.second.text).toBe(mockText(quick.tokens));
    expect(callTagged(result.older).abortedAt).toBeUndefined();
  });

  it("sends the conversation id upstream as prompt_cache_key unless the caller set one", async () => {
    const conversationId = uniqueId("conv-cache");
    const own = uniqueId("own");
    const ownKey = uniqueId("caller-key");
    const [plain, withOwn] = await Promise.all([
      startTurn({
        url: stack.urls[0] as string,
        headers: { "x-conversation-id": conversationId },
        body: { mock: { ...quick, tag: own } },
      }).done,
      startTurn({
        url: stack.urls[0] as string,
        headers: { "x-conversation-id": uniqueId("conv-other") },
        body: { prompt_cache_key: ownKey, mock: { ...quick, tag: `${own}-own` } },
      }).done,
    ]);
    expect(plain.text).toBe(mockText(quick.tokens));
    expect(withOwn.text).toBe(mockText(quick.tokens));
    expect((callTagged(own).body as Record<string, unknown>).prompt_cache_key).toBe(conversationId);
    expect((callTagged(`${own}-own`).body as Record<string, unknown>).prompt_cache_key).toBe(ownKey);
  });

  it("counts a turn superseded before its worker took it as superseded, and never calls the upstream", async () => {
    const workerMetricsUrl = String(stack.workers[0]?.readyLine.metricsUrl);
    const workerCancels = async (reason: string) =>
      total(await scrape(workerMetricsUrl), "switchboard_cancellations_total", { switchboard_cancel_reason: reason });
    const [supersededBefore, queuedBefore] = [await workerCancels("superseded"), await workerCancels("cancelled")];
    const keys = relayKeys(stack.prefix);
    const redis = new Redis(stack.redisUrl);
    const queue = new Queue<ChatJob>(jobCatalog.chat.queue, { connection: redis, prefix: keys.queuePrefix });
    try {
      // The newer turn's cancel reached Redis first (its flag says why); the older turn's job is
      // then taken by a worker that has no memory of the broadcast (the job predates its
      // subscription, as across a reconnect), so the worker reads the flag.
      const requestId = uniqueId("queued-turn");
      await new CancelBroadcaster(redis, keys).cancel(requestId, "superseded");
      const ingressId = String(stack.ingresses[0]?.readyLine.ingressId);
      const now = Date.now();
      await queue.add(
        jobCatalog.chat.name,
        {
          requestId,
          model: "mock-model",
          request: {
            model: "mock-model",
            stream: true,
            messages: [{ role: "user", content: "Hello" }],
            mock: { ...quick, tag: requestId },
          } as ChatJob["request"],
          ingressId,
          replyChannel: keys.replyChannel(ingressId),
          deadlineAt: now + 30_000,
          enqueuedAt: now,
        },
        { jobId: requestId, timestamp: now - 3_600_000, removeOnComplete: true },
      );
      await vi.waitFor(async () => expect(await workerCancels("superseded")).toBe(supersededBefore + 1), {
        timeout: 10_000,
      });
      expect(await workerCancels("cancelled")).toBe(queuedBefore);
      expect(mock.stats().recent.some((entry) => entry.tag === requestId)).toBe(false);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
