// A client that asks for one answer gets one from one non-streamed upstream call. Such a call's
// headers come only with the whole answer, so neither the header timeout (UPSTREAM_TIMEOUT_MS) nor
// the first-token clock may cut it: the request's deadline bounds it, and an upstream that never
// answers ends the request there with an explicit error, not a hang.
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

const requestTimeoutMs = 3000;
let mock: MockUpstream;
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 5 });
  const { url } = await mock.listen(0);
  stack = await startStack("whole", {
    routes: routesTo(url),
    ingressEnv: { REQUEST_TIMEOUT_MS: String(requestTimeoutMs) },
    workerEnv: { UPSTREAM_TIMEOUT_MS: "300", UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "300", UPSTREAM_IDLE_TIMEOUT_MS: "300" },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

function callsTagged(tag: string) {
  return mock.stats().recent.filter((entry) => entry.tag === tag);
}

describe("a non-streamed request", () => {
  it("waits for an answer slower than the header and first-token timeouts, in one upstream call", async () => {
    const tag = "slow";
    const completion = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi" }],
      mock: { firstTokenDelayMs: 1000, tag },
    } as never);
    expect(completion.choices[0]!.message.content).toBe(mockText(5));
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ completion_tokens: 5 });
    const calls = callsTagged(tag);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ stream: false, status: 200 });
  });

  it("ends at the request's deadline with deadline_exceeded when the upstream never answers, and closes the call", async () => {
    const tag = "silent";
    const started = Date.now();
    const caught = await client.chat.completions
      .create({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        mock: { fail: { kind: "never-respond" }, tag },
      } as never)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(caught).toBeInstanceOf(APIError);
    expect((caught as APIError).status).toBe(504);
    expect((caught as APIError).code).toBe("deadline_exceeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
    // Not retried: the one call waited for the whole answer until the deadline, then was closed.
    await vi.waitFor(() => expect(callsTagged(tag)[0]?.abortedAt).toBeDefined(), { timeout: 5000 });
    expect(callsTagged(tag)).toHaveLength(1);
  });
});
