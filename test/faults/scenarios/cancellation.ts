// A client that goes away stops the upstream call, fast; a request cancelled while
// still queued never reaches the upstream at all.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Redis } from "ioredis";
import { chatBody } from "@switchboard/testing";
import { streamChat } from "../support/chat-client.ts";
import { startFaultStack, waitFor } from "../support/fault-stack.ts";
import { clock, countBy, summary } from "../support/figures.ts";

/**
 * When each stream is cancelled:
 * - "from-start": after a random 1–100 of its 150 tokens, counted from its own first token. Many of
 *   these cancels land while the 200 requests are still being started (queued, picked up, sent to
 *   the upstream), when every process on the machine is busy with that burst.
 * - "all-streaming": after a random 1–100 tokens counted from the moment every stream has had its
 *   first token, so all of them are streaming concurrently when the cancels come. The answers are
 *   longer (400 tokens) so that none ends before the last one has started.
 */
export type CancelPoint = "from-start" | "all-streaming";

export interface CancellationFigures {
  streams: number;
  cancelPoint: CancelPoint;
  /** Client disconnect -> upstream connection closed (ms). */
  closeLatency: ReturnType<typeof summary>;
  latencies: number[];
  /** Cancelled streams whose upstream answer had already ended when the cancel arrived. */
  finishedFirst: number;
  /** Cancelled streams whose upstream call neither ended nor was closed (must be 0). */
  notClosed: number;
  /** Upstream calls still open after everything settled (must be 0). */
  upstreamLeftOpen: number;
  /**
   * Event-loop delay of the measuring process (the clients), p99 (ms): a cancel is sent when this
   * loop gets to it, after cancelAt was taken. The mock runs in its own process.
   */
  harnessLoopDelayP99: number;
  /** First request sent -> every stream has had its first token (ms): the start-up burst. */
  allStreamingAfterMs: number;
  /** How the client saw each stream end ("aborted" for every cancelled one). */
  outcomes: Record<string, number>;
}

export async function measureActiveCancellation(
  streams: number,
  cancelPoint: CancelPoint = "from-start",
): Promise<CancellationFigures> {
  const tokens = cancelPoint === "from-start" ? 150 : 400;
  const stack = await startFaultStack({
    mockProcess: true,
    workers: 2,
    workerEnv: { WORKER_CONCURRENCY: String(streams) },
    mock: { tokens, tokenDelayMs: 20, firstTokenDelayMs: 20 },
  });
  try {
    const cancelAt = new Map<string, number>();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const sentAt = clock();
    let allStreamingAt = Number.NaN;
    // Per stream: tokens received so far, and the count at which it is cancelled.
    const received = new Array<number>(streams).fill(0);
    const cancelAfter = Array.from({ length: streams }, () => 1 + Math.floor(Math.random() * 100));
    const cancelAtCount =
      cancelPoint === "from-start" ? [...cancelAfter] : new Array<number>(streams).fill(Number.POSITIVE_INFINITY);
    let streaming = 0;
    const controllers = Array.from({ length: streams }, () => new AbortController());
    // A stream counts as started at its first token, or when it ended without any (an error): the
    // cancels are not held back by a request that failed.
    const started = () => {
      if (++streaming !== streams) return;
      allStreamingAt = clock();
      // Every stream is streaming now: each is cancelled a random number of tokens from here.
      if (cancelPoint === "all-streaming")
        for (let other = 0; other < streams; other++) cancelAtCount[other] = received[other]! + cancelAfter[other]!;
    };
    const cancel = (index: number) => {
      cancelAt.set(`active-${index}`, clock());
      controllers[index]!.abort();
    };
    const results = await Promise.all(
      Array.from({ length: streams }, async (_, index) => {
        const result = await streamChat(stack.urls[0]!, chatBody({ stream: true, mock: { tag: `active-${index}` } }), {
          signal: controllers[index]!.signal,
          onToken: (count) => {
            received[index] = count;
            if (count === 1) started();
            if (count === cancelAtCount[index]) cancel(index);
          },
        });
        if (result.tokens === 0) started();
        return result;
      }),
    );
    loopDelay.disable();
    await waitFor(async () => (await stack.stats()).active === 0, 15_000, "every upstream call to close");
    const stats = await stack.stats();
    const records = new Map(stats.recent.map((record) => [record.tag ?? "", record]));
    const latencies: number[] = [];
    let notClosed = 0;
    let finishedFirst = 0;
    for (const [tag, at] of cancelAt) {
      const record = records.get(tag);
      if (record?.abortedAt !== undefined) latencies.push(record.abortedAt - at);
      else if (record?.endedAt !== undefined) finishedFirst++;
      else notClosed++;
    }
    return {
      streams,
      cancelPoint,
      closeLatency: summary(latencies),
      latencies: latencies.sort((a, b) => a - b),
      finishedFirst,
      notClosed,
      upstreamLeftOpen: stats.active,
      harnessLoopDelayP99: loopDelay.percentile(99) / 1e6,
      allStreamingAfterMs: allStreamingAt - sentAt,
      outcomes: countBy(results, (result) => (result.code ? `${result.outcome}:${result.code}` : result.outcome)),
    };
  } finally {
    await stack.stop();
  }
}

export interface QueuedCancellationFigures {
  queued: number;
  /** Upstream calls made for the cancelled queued requests (must be 0). */
  upstreamCalls: number;
}

export async function measureQueuedCancellation(queued: number): Promise<QueuedCancellationFigures> {
  // One worker slot, held by a blocker, so every other request waits in the queue.
  const stack = await startFaultStack({
    workerEnv: { WORKER_CONCURRENCY: "1", UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "60000" },
    ingressEnv: { QUEUE_MAX_WAIT_MS: "60000" },
    mock: { tokens: 5 },
  });
  const admin = new Redis(stack.redis.url);
  try {
    const blocker = new AbortController();
    const blocking = streamChat(
      stack.urls[0]!,
      chatBody({ stream: true, mock: { tag: "blocker", fail: { kind: "never-respond" } } }),
      {
        signal: blocker.signal,
      },
    );
    await waitFor(() => stack.mock.stats().active === 1, 10_000, "the blocker to reach the upstream");
    const controllers = Array.from({ length: queued }, () => new AbortController());
    const requests = controllers.map((controller, index) =>
      streamChat(stack.urls[0]!, chatBody({ stream: true, mock: { tag: `queued-${index}` } }), {
        signal: controller.signal,
      }),
    );
    await waitFor(
      async () => (await admin.llen(`{${stack.prefix}}:chat:wait`)) === queued,
      10_000,
      "the requests to be queued",
    );
    for (const controller of controllers) controller.abort();
    await Promise.all(requests);
    // The cancels have taken effect once the queue is empty: cancelled while still queued.
    await waitFor(
      async () => (await admin.llen(`{${stack.prefix}}:chat:wait`)) === 0,
      10_000,
      "the cancelled requests to leave the queue",
    );
    // Free the worker; nothing cancelled may reach the upstream now.
    blocker.abort();
    await blocking;
    await waitFor(
      async () =>
        (await admin.llen(`{${stack.prefix}}:chat:wait`)) === 0 &&
        (await admin.llen(`{${stack.prefix}}:chat:active`)) === 0,
      10_000,
      "the queue to drain",
    );
    const upstreamCalls = stack.mock.stats().recent.filter((record) => record.tag?.startsWith("queued-")).length;
    return { queued, upstreamCalls };
  } finally {
    admin.disconnect();
    await stack.stop();
  }
}
