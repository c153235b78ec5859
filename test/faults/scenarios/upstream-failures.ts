// Acceptance 5: every kind of upstream failure, each with its documented outcome. Before the
// first token: retries with backoff, then the route's fallbacks, then an HTTP error; after it: an
// explicit in-stream error, never a truncated answer that looks complete.
import { chatBody } from "@switchboard/testing";
import { streamChat } from "../support/chat-client.ts";
import { startFaultStack } from "../support/fault-stack.ts";
import { summary } from "../support/figures.ts";
import { freePort } from "@switchboard/testing";

export interface FailureCase {
  name: string;
  model: string;
  fail?: Record<string, unknown>;
  /** The documented outcome: "completed", or "<outcome>:<code>". */
  expected: string;
  /** Upstream calls the case should cost. */
  expectedCalls: number;
}

/**
 * Settings the cases are written for (the defaults are 5 s). Not shorter: on a loaded CI host a
 * healthy stream's gap between two chunks can approach half a second, and a timeout that fires on
 * it turns a good answer into upstream_interrupted (seen once at 500 ms).
 */
export const failureTimeouts = {
  UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "1000",
  UPSTREAM_IDLE_TIMEOUT_MS: "1000",
  UPSTREAM_RETRIES: "1",
  UPSTREAM_RETRY_BACKOFF_MS: "50",
};

export const failureCases: FailureCase[] = [
  { name: "connection refused, fallback healthy", model: "refused-then-mock", expected: "completed", expectedCalls: 1 },
  {
    name: "connection refused, no fallback",
    model: "refused-only",
    expected: "http-error:upstream_unavailable",
    expectedCalls: 0,
  },
  {
    name: "HTTP 500 once, retry succeeds",
    model: "solo",
    fail: { kind: "http", status: 500, times: 1 },
    expected: "completed",
    expectedCalls: 2,
  },
  {
    name: "HTTP 503 always, retry + fallback exhausted",
    model: "mock-then-mock",
    fail: { kind: "http", status: 503 },
    expected: "http-error:upstream_unavailable",
    expectedCalls: 4,
  },
  {
    name: "HTTP 429 (Retry-After 0) once, retry succeeds",
    model: "solo",
    fail: { kind: "http", status: 429, retryAfterSeconds: 0, times: 1 },
    expected: "completed",
    expectedCalls: 2,
  },
  {
    name: "HTTP 429 twice, fallback succeeds",
    model: "mock-then-mock",
    fail: { kind: "http", status: 429, retryAfterSeconds: 0, times: 2 },
    expected: "completed",
    expectedCalls: 3,
  },
  {
    name: "HTTP 429 (Retry-After 30), no fallback",
    model: "solo",
    fail: { kind: "http", status: 429, retryAfterSeconds: 30 },
    expected: "http-error:upstream_rate_limited",
    expectedCalls: 1,
  },
  {
    name: "no first token once, retry succeeds",
    model: "solo",
    fail: { kind: "never-respond", times: 1 },
    expected: "completed",
    expectedCalls: 2,
  },
  {
    name: "no first token ever, fallback too",
    model: "mock-then-mock",
    fail: { kind: "never-respond" },
    expected: "http-error:upstream_timeout",
    expectedCalls: 4,
  },
  {
    name: "headers, then silence (stall at 0 tokens)",
    model: "solo",
    fail: { kind: "stall", afterTokens: 0, times: 1 },
    expected: "completed",
    expectedCalls: 2,
  },
  {
    name: "stall after 5 tokens",
    model: "solo",
    fail: { kind: "stall", afterTokens: 5 },
    expected: "stream-error:upstream_interrupted",
    expectedCalls: 1,
  },
  {
    name: "connection reset after 5 tokens",
    model: "solo",
    fail: { kind: "reset", afterTokens: 5 },
    expected: "stream-error:upstream_interrupted",
    expectedCalls: 1,
  },
  {
    name: "in-stream error after 5 tokens",
    model: "solo",
    fail: { kind: "in-stream-error", afterTokens: 5 },
    expected: "stream-error:upstream_interrupted",
    expectedCalls: 1,
  },
  {
    name: "HTTP 400 (not retryable)",
    model: "mock-then-mock",
    fail: { kind: "http", status: 400 },
    expected: "http-error:upstream_bad_request",
    expectedCalls: 1,
  },
];

export interface FailureCaseFigures {
  name: string;
  expected: string;
  outcomes: Record<string, number>;
  /** Upstream calls per request (all runs agree, or the list shows each). */
  calls: number[];
  /** Request start -> the client had its answer or its error (ms). */
  duration: ReturnType<typeof summary>;
  /** Every run ended as documented, at the documented number of upstream calls. */
  asExpected: boolean;
}

export async function measureUpstreamFailures(runsPerCase: number): Promise<FailureCaseFigures[]> {
  const refusedUrl = `http://127.0.0.1:${await freePort()}/v1`;
  const stack = await startFaultStack({
    workerEnv: failureTimeouts,
    mock: { tokens: 10, tokenDelayMs: 10 },
    routes: (mockUrl) => ({
      providers: {
        mock: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" },
        refused: { type: "openai", baseUrl: refusedUrl, apiKeyEnv: "UPSTREAM_API_KEY" },
      },
      routes: {
        solo: { provider: "mock", model: "mock-model", passFields: ["mock"] },
        "mock-then-mock": {
          provider: "mock",
          model: "mock-model",
          fallbacks: [{ provider: "mock", model: "mock-model-fallback" }],
          passFields: ["mock"],
        },
        "refused-then-mock": {
          provider: "refused",
          model: "mock-model",
          fallbacks: [{ provider: "mock", model: "mock-model" }],
          passFields: ["mock"],
        },
        "refused-only": { provider: "refused", model: "mock-model", passFields: ["mock"] },
      },
    }),
  });
  try {
    const figures: FailureCaseFigures[] = [];
    for (const [caseIndex, failure] of failureCases.entries()) {
      const runs = await Promise.all(
        Array.from({ length: runsPerCase }, (_, run) => {
          const tag = `case-${caseIndex}-${run}`;
          return streamChat(
            stack.urls[0]!,
            chatBody({
              stream: true,
              mock: { tag, ...(failure.fail ? { fail: failure.fail } : {}) },
              model: failure.model,
            }),
            { patienceMs: 20_000 },
          ).then((result) => ({ tag, result }));
        }),
      );
      const recent = stack.mock.stats().recent;
      const calls = runs.map(({ tag }) => recent.filter((record) => record.tag === tag).length);
      const outcomes: Record<string, number> = {};
      for (const { result } of runs) {
        const key = result.outcome === "completed" ? "completed" : `${result.outcome}:${result.code ?? ""}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }
      figures.push({
        name: failure.name,
        expected: failure.expected,
        outcomes,
        calls: [...new Set(calls)],
        duration: summary(runs.map(({ result }) => result.endedAt - result.startedAt)),
        asExpected:
          outcomes[failure.expected] === runsPerCase && calls.every((count) => count === failure.expectedCalls),
      });
    }
    return figures;
  } finally {
    await stack.stop();
  }
}
