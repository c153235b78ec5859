// prompt_cache_key and a provider with promptCacheKey: false, seen at the mock upstream. The mock
// sits behind two openai providers: "takes" (the default) and "rejects" (promptCacheKey: false, as
// for an OpenAI-compatible server that answers 400 to body fields it does not know). A conversation's
// id goes upstream as prompt_cache_key to "takes"; no call to "rejects" carries the field, whether it
// is the route's first target, its fallback or its hedge, and whoever set the field (the ingress or
// the caller). A route whose first target is "rejects" does not add the conversation id at all.
import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { mockText } from "@switchboard/mock-upstream";
import { startTurn } from "../support/conversation-turns.ts";
import { stackTest } from "../support/stack-test.ts";

const tokens = 5;
/** The first call carrying the tag fails with a retryable 500; the next one (the fallback) answers. */
const failOnce = { kind: "http", status: 500, times: 1 };

const it = stackTest("prompt-cache-key", {
  mock: { tokens, tokenDelayMs: 1 },
  // No retry of the same target: a failed first call goes straight to the route's fallback.
  workerEnv: { UPSTREAM_RETRIES: "0" },
  routes: (mockUrl) => {
    const provider = { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" };
    return {
      providers: { takes: provider, rejects: { ...provider, promptCacheKey: false } },
      routes: {
        "*": { provider: "takes", passFields: ["mock"] },
        strict: { provider: "rejects", passFields: ["mock"] },
        "takes-then-rejects": { provider: "takes", fallbacks: [{ provider: "rejects" }], passFields: ["mock"] },
        "rejects-then-takes": { provider: "rejects", fallbacks: [{ provider: "takes" }], passFields: ["mock"] },
        "hedged-on-rejects": {
          provider: "takes",
          fallbacks: [{ provider: "rejects" }],
          hedge: { afterMs: 100, budgetPercent: 100 },
          passFields: ["mock"],
        },
      },
    };
  },
});

function uniqueId(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}`;
}

/** Send one streamed turn of a new conversation; the mock's calls for it, oldest first, once it answered in full. */
async function turn(url: string, model: string, mock: Record<string, unknown>, body: Record<string, unknown> = {}) {
  const conversationId = uniqueId("conv");
  const tag = uniqueId(model);
  const end = await startTurn({
    url,
    model,
    headers: { "x-conversation-id": conversationId },
    body: { ...body, mock: { ...mock, tag } },
  }).done;
  expect(end.error).toBeUndefined();
  expect(end.text).toBe(mockText(tokens));
  return { conversationId, tag, end };
}

describe("prompt_cache_key", () => {
  it("reaches a provider that takes it as the conversation id", async ({ stack, mock }) => {
    const { conversationId, tag } = await turn(stack.urls[0] as string, "mock-model", {});
    const calls = mock.stats().recent.filter((call) => call.tag === tag);
    expect(calls).toHaveLength(1);
    expect((calls[0]?.body as Record<string, unknown>).prompt_cache_key).toBe(conversationId);
  });

  it("never reaches a provider with promptCacheKey: false, even when the caller sends one", async ({ stack, mock }) => {
    const [added, own] = await Promise.all([
      turn(stack.urls[0] as string, "strict", {}),
      turn(stack.urls[0] as string, "strict", {}, { prompt_cache_key: uniqueId("caller-key") }),
    ]);
    for (const { tag } of [added, own]) {
      const calls = mock.stats().recent.filter((call) => call.tag === tag);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.body).not.toHaveProperty("prompt_cache_key");
    }
  });

  it("is withheld from such a provider as a fallback, after the first target got it", async ({ stack, mock }) => {
    const { conversationId, tag } = await turn(stack.urls[0] as string, "takes-then-rejects", { fail: failOnce });
    const calls = mock.stats().recent.filter((call) => call.tag === tag);
    expect(calls.map((call) => call.status)).toEqual([500, 200]);
    expect((calls[0]?.body as Record<string, unknown>).prompt_cache_key).toBe(conversationId);
    expect(calls[1]?.body).not.toHaveProperty("prompt_cache_key");
  });

  it("is withheld from such a provider as a hedge", async ({ stack, mock }) => {
    // The first call stalls before any token; the hedge to "rejects" answers and wins.
    const { conversationId, tag } = await turn(stack.urls[0] as string, "hedged-on-rejects", {
      fail: { kind: "stall", times: 1 },
    });
    const calls = mock.stats().recent.filter((call) => call.tag === tag);
    expect(calls).toHaveLength(2);
    expect((calls[0]?.body as Record<string, unknown>).prompt_cache_key).toBe(conversationId);
    expect(calls[1]?.body).not.toHaveProperty("prompt_cache_key");
  });

  it("is not added for a route whose first target does not take it; a caller's own reaches a fallback that does", async ({
    stack,
    mock,
  }) => {
    const callerKey = uniqueId("caller-key");
    const [added, own] = await Promise.all([
      turn(stack.urls[0] as string, "rejects-then-takes", { fail: failOnce }),
      turn(stack.urls[0] as string, "rejects-then-takes", { fail: failOnce }, { prompt_cache_key: callerKey }),
    ]);
    const addedCalls = mock.stats().recent.filter((call) => call.tag === added.tag);
    expect(addedCalls.map((call) => call.status)).toEqual([500, 200]);
    for (const call of addedCalls) expect(call.body).not.toHaveProperty("prompt_cache_key");
    const ownCalls = mock.stats().recent.filter((call) => call.tag === own.tag);
    expect(ownCalls.map((call) => call.status)).toEqual([500, 200]);
    expect(ownCalls[0]?.body).not.toHaveProperty("prompt_cache_key");
    expect((ownCalls[1]?.body as Record<string, unknown>).prompt_cache_key).toBe(callerKey);
  });
});
