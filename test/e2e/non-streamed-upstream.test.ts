// A client that asks for one answer gets one from one non-streamed upstream call. Such a call's
// headers come only with the whole answer, so neither the header timeout (UPSTREAM_TIMEOUT_MS) nor
// the first-token clock may cut it: the request's deadline bounds it, and an upstream that never
// answers ends the request there with an explicit error, not a hang.
import OpenAI, { APIError } from "openai";
import { describe, expect, vi } from "vitest";
import { mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { stackTest } from "../support/stack-test.ts";

const requestTimeoutMs = 3000;

const it = stackTest("whole", {
  mock: { tokens: 5 },
  ingressEnv: { REQUEST_TIMEOUT_MS: String(requestTimeoutMs) },
  workerEnv: { UPSTREAM_TIMEOUT_MS: "300", UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "300", UPSTREAM_IDLE_TIMEOUT_MS: "300" },
}).extend(
  "client",
  { scope: "file" },
  ({ stack }) => new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 }),
);

function callsTagged(mock: MockUpstream, tag: string) {
  return mock.stats().recent.filter((entry) => entry.tag === tag);
}

describe("a non-streamed request", () => {
  it("waits for an answer slower than the header and first-token timeouts, in one upstream call", async ({
    client,
    mock,
  }) => {
    const tag = "slow";
    const completion = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi" }],
      mock: { firstTokenDelayMs: 1000, tag },
    } as never);
    expect(completion.choices[0]!.message.content).toBe(mockText(5));
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ completion_tokens: 5 });
    const calls = callsTagged(mock, tag);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ stream: false, status: 200 });
  });

  it("ends at the request's deadline with deadline_exceeded when the upstream never answers, and closes the call", async ({
    client,
    mock,
  }) => {
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
    await vi.waitFor(() => expect(callsTagged(mock, tag)[0]?.abortedAt).toBeDefined(), { timeout: 5000 });
    expect(callsTagged(mock, tag)).toHaveLength(1);
  });
});
