// Acceptance 6: ten times the capacity offered. Admission control must answer the excess fast,
// with Retry-After; accepted requests must still meet their deadline; memory must stay bounded.
import { chatBody } from "@switchboard/testing";
import { streamChat, type ChatResult } from "../support/chat-client.ts";
import { residentMb, startFaultStack } from "../support/fault-stack.ts";
import { clock, countBy, summary } from "../support/figures.ts";

export interface OverloadFigures {
  capacityPerSecond: number;
  offeredPerSecond: number;
  requests: number;
  outcomes: Record<string, number>;
  /** Time to a 429/503 answer (ms). */
  rejectionLatency: ReturnType<typeof summary>;
  rejectionsWithoutRetryAfter: number;
  /** Request start -> complete answer, for accepted requests (ms). */
  acceptedDuration: ReturnType<typeof summary>;
  /** Accepted requests that ended later than queue wait + answer time + 1 s (must be 0). */
  acceptedLate: number;
  unexplained: number;
  ingressMemoryMb: { before: number; peak: number; after: number };
  workerMemoryMb: { before: number; peak: number; after: number };
}

export async function measureOverload(durationMs: number): Promise<OverloadFigures> {
  const concurrency = 20;
  const tokens = 20;
  const tokenDelayMs = 25;
  const answerMs = tokens * tokenDelayMs;
  const queueMaxWaitMs = 1000;
  const capacityPerSecond = (concurrency * 1000) / answerMs;
  const offeredPerSecond = capacityPerSecond * 10;
  const stack = await startFaultStack({
    workerEnv: { WORKER_CONCURRENCY: String(concurrency) },
    ingressEnv: {
      MAX_QUEUED_REQUESTS: String(concurrency),
      QUEUE_MAX_WAIT_MS: String(queueMaxWaitMs),
      QUEUE_DEPTH_REFRESH_MS: "100",
    },
    mock: { tokens, tokenDelayMs },
  });
  try {
    const ingressPid = stack.ingresses[0]!.child.pid;
    const workerPid = stack.workers[0]!.child.pid;
    const ingressMemory = { before: residentMb(ingressPid), peak: 0, after: 0 };
    const workerMemory = { before: residentMb(workerPid), peak: 0, after: 0 };
    const sampler = setInterval(() => {
      ingressMemory.peak = Math.max(ingressMemory.peak, residentMb(ingressPid));
      workerMemory.peak = Math.max(workerMemory.peak, residentMb(workerPid));
    }, 100);
    // Open loop: arrivals at the offered rate whatever the answers, as real traffic does.
    const pending: Array<Promise<ChatResult>> = [];
    const started = clock();
    let sent = 0;
    while (clock() - started < durationMs) {
      const due = Math.floor(((clock() - started) / 1000) * offeredPerSecond);
      for (; sent < due; sent++)
        pending.push(streamChat(stack.urls[0]!, chatBody({ stream: true }), { patienceMs: 15_000 }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const results = await Promise.all(pending);
    clearInterval(sampler);
    ingressMemory.after = residentMb(ingressPid);
    workerMemory.after = residentMb(workerPid);
    const rejected = results.filter((result) => result.status === 429 || result.status === 503);
    const accepted = results.filter((result) => result.outcome === "completed");
    return {
      capacityPerSecond,
      offeredPerSecond,
      requests: results.length,
      outcomes: countBy(results, (result) => `${result.outcome}${result.code ? `:${result.code}` : ""}`),
      rejectionLatency: summary(rejected.map((result) => result.endedAt - result.startedAt)),
      rejectionsWithoutRetryAfter: rejected.filter((result) => !result.retryAfter).length,
      acceptedDuration: summary(accepted.map((result) => result.endedAt - result.startedAt)),
      acceptedLate: accepted.filter((result) => result.endedAt - result.startedAt > queueMaxWaitMs + answerMs + 1000)
        .length,
      unexplained: results.filter((result) => !["completed", "stream-error", "http-error"].includes(result.outcome))
        .length,
      ingressMemoryMb: ingressMemory,
      workerMemoryMb: workerMemory,
    };
  } finally {
    await stack.stop();
  }
}

export interface KeyLimitFigures {
  /** Concurrent streams accepted across two ingresses with a limit of `limit`. */
  concurrentAccepted: number;
  concurrentRejected: number;
  /** Requests accepted in a burst across two ingresses with `perMinute` per minute. */
  burstAccepted: number;
  burstRejected: number;
  rejectionsWithoutRetryAfter: number;
}

export async function measureKeyLimits(limit: number, perMinute: number, burst: number): Promise<KeyLimitFigures> {
  const stack = await startFaultStack({
    ingresses: 2,
    // Limits are per authenticated key: the two keys below are the gateway's API keys.
    ingressEnv: {
      RATE_LIMIT_CONCURRENT_STREAMS: String(limit),
      RATE_LIMIT_REQUESTS_PER_MINUTE: String(perMinute),
      API_KEYS: "key-under-test,another-key",
    },
    mock: { tokens: 5, tokenDelayMs: 5 },
  });
  try {
    const key = { Authorization: "Bearer key-under-test" };
    // Long streams from one key, through both ingresses at once: only `limit` may run.
    const controllers = Array.from({ length: limit * 3 }, () => new AbortController());
    const concurrent = controllers.map((controller, index) =>
      fetch(`${stack.urls[index % 2]!}/chat/completions`, {
        method: "POST",
        signal: controller.signal,
        headers: { "content-type": "application/json", ...key },
        body: JSON.stringify(
          chatBody({ stream: true, mock: { firstTokenDelayMs: 0, tokens: 1000, tokenDelayMs: 10 } }),
        ),
      }),
    );
    const responses = await Promise.all(concurrent);
    const concurrentAccepted = responses.filter((response) => response.status === 200).length;
    const concurrentRejected = responses.filter((response) => response.status === 429).length;
    let withoutRetryAfter = responses.filter(
      (response) => response.status === 429 && !response.headers.get("retry-after"),
    ).length;
    for (const controller of controllers) controller.abort();
    // A burst of short requests from another key, one at a time (the stream limit is not what is
    // measured here): only about `perMinute` of them pass.
    const other = { Authorization: "Bearer another-key" };
    const burstResponses: Response[] = [];
    for (let index = 0; index < burst; index++) {
      const response = await fetch(`${stack.urls[index % 2]!}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...other },
        body: JSON.stringify(chatBody({ stream: true })),
      });
      await response.arrayBuffer();
      burstResponses.push(response);
    }
    withoutRetryAfter += burstResponses.filter(
      (response) => response.status === 429 && !response.headers.get("retry-after"),
    ).length;
    return {
      concurrentAccepted,
      concurrentRejected,
      burstAccepted: burstResponses.filter((response) => response.status === 200).length,
      burstRejected: burstResponses.filter((response) => response.status === 429).length,
      rejectionsWithoutRetryAfter: withoutRetryAfter,
    };
  } finally {
    await stack.stop();
  }
}
