// Acceptance 1: a client that goes away stops the upstream call, fast; a request cancelled while
// still queued never reaches the upstream at all.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Redis } from "ioredis";
import { chatBody, streamChat } from "../support/chat-client.ts";
import { startFaultStack, waitFor } from "../support/fault-stack.ts";
import { clock, summary } from "../support/figures.ts";

export interface CancellationFigures {
  streams: number;
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
}

export async function measureActiveCancellation(streams: number): Promise<CancellationFigures> {
  const stack = await startFaultStack({ mockProcess: true, workers: 2, workerEnv: { WORKER_CONCURRENCY: String(streams) }, mock: { tokens: 150, tokenDelayMs: 20, firstTokenDelayMs: 20 } });
  try {
    const cancelAt = new Map<string, number>();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // Each stream is cancelled after a random number of tokens (1 to 100 of 150): mid-answer, where
    // the upstream is being paid for.
    await Promise.all(
      Array.from({ length: streams }, async (_, index) => {
        const tag = `active-${index}`;
        const controller = new AbortController();
        const cancelAfter = 1 + Math.floor(Math.random() * 100);
        await streamChat(stack.urls[0]!, chatBody({ tag }), {
          signal: controller.signal,
          onToken: (count) => {
            if (count !== cancelAfter) return;
            cancelAt.set(tag, clock());
            controller.abort();
          },
        });
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
    return { streams, closeLatency: summary(latencies), latencies: latencies.sort((a, b) => a - b), finishedFirst, notClosed, upstreamLeftOpen: stats.active, harnessLoopDelayP99: loopDelay.percentile(99) / 1e6 };
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
  const stack = await startFaultStack({ workerEnv: { WORKER_CONCURRENCY: "1", UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "60000" }, ingressEnv: { QUEUE_MAX_WAIT_MS: "60000" }, mock: { tokens: 5 } });
  const admin = new Redis(stack.redis.url);
  try {
    const blocker = new AbortController();
    const blocking = streamChat(stack.urls[0]!, chatBody({ tag: "blocker", fail: { kind: "never-respond" } }), { signal: blocker.signal });
    await waitFor(() => stack.mock.stats().active === 1, 10_000, "the blocker to reach the upstream");
    const controllers = Array.from({ length: queued }, () => new AbortController());
    const requests = controllers.map((controller, index) => streamChat(stack.urls[0]!, chatBody({ tag: `queued-${index}` }), { signal: controller.signal }));
    await waitFor(async () => (await admin.llen("{faults}:chat:wait")) === queued, 10_000, "the requests to be queued");
    for (const controller of controllers) controller.abort();
    await Promise.all(requests);
    // The cancels have taken effect once the queue is empty: cancelled while still queued.
    await waitFor(async () => (await admin.llen("{faults}:chat:wait")) === 0, 10_000, "the cancelled requests to leave the queue");
    // Free the worker; nothing cancelled may reach the upstream now.
    blocker.abort();
    await blocking;
    await waitFor(async () => (await admin.llen("{faults}:chat:wait")) === 0 && (await admin.llen("{faults}:chat:active")) === 0, 10_000, "the queue to drain");
    const upstreamCalls = stack.mock.stats().recent.filter((record) => record.tag?.startsWith("queued-")).length;
    return { queued, upstreamCalls };
  } finally {
    admin.disconnect();
    await stack.stop();
  }
}
