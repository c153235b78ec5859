// Graceful shutdown past its grace: what SIGTERM does to work that cannot finish in time. A worker
// hands back the jobs that have not sent a token (another worker answers them) and ends the
// streaming ones with an explicit error; an ingress ends its open streams with shutting_down.
import { chatBody } from "@switchboard/testing";
import { streamChat } from "../support/chat-client.ts";
import { startFaultStack, waitFor } from "../support/fault-stack.ts";
import { countBy } from "../support/figures.ts";

export interface ShutdownFigures {
  /** Worker SIGTERM: requests with no token yet when the grace ran out. */
  workerHandedBack: Record<string, number>;
  /** Worker SIGTERM: requests streaming when the grace ran out. */
  workerStreaming: Record<string, number>;
  /** Ingress SIGTERM: streams still open when the grace ran out. */
  ingressStreaming: Record<string, number>;
  /** Ingress SIGTERM: a new request sent during the grace. */
  ingressNewRequest: string;
  /** Ingress SIGTERM: /ready during the grace. */
  ingressReadyStatus: number;
}

export async function measureGracefulShutdown(requests: number): Promise<ShutdownFigures> {
  const stack = await startFaultStack({
    workerEnv: { WORKER_SHUTDOWN_GRACE_MS: "300", UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "30000" },
    ingressEnv: { SHUTDOWN_GRACE_MS: "1000" },
    mock: { tokens: 1000, tokenDelayMs: 20 },
  });
  try {
    const url = stack.urls[0]!;
    // Their first upstream call never answers; the second (after the hand-back) answers at once.
    const waiting = Array.from({ length: requests }, (_, index) =>
      streamChat(
        url,
        chatBody({
          stream: true,
          mock: { tag: `waiting-${index}`, tokens: 3, fail: { kind: "never-respond", times: 1 } },
        }),
      ),
    );
    const streaming = Array.from({ length: requests }, (_, index) =>
      streamChat(url, chatBody({ stream: true, mock: { tag: `streaming-${index}` } })),
    );
    await waitFor(
      () =>
        stack.mock.stats().active === requests * 2 &&
        stack.mock.stats().recent.filter((record) => record.tokensSent > 0).length === requests,
      10_000,
      "every request at the upstream",
    );
    await stack.startWorker();
    await stack.workers[0]!.stop("SIGTERM");
    const handedBack = await Promise.all(waiting);
    const cut = await Promise.all(streaming);

    // The ingress: long streams through the surviving worker, then SIGTERM with a short grace.
    const open = Array.from({ length: requests }, () => streamChat(url, chatBody({ stream: true })));
    await waitFor(() => stack.mock.stats().active === requests, 10_000, "the streams to flow");
    const ingress = stack.ingresses[0]!;
    ingress.child.kill("SIGTERM");
    await waitFor(
      () => ingress.output.some((line) => line.includes('"shutting down"')),
      5000,
      "the ingress to begin its shutdown",
    );
    const refused = await streamChat(url, chatBody({ stream: true }));
    const ready = await fetch(url.replace(/\/v1$/, "/ready"));
    await ready.arrayBuffer();
    const ended = await Promise.all(open);
    await ingress.exited;
    const label = (result: { outcome: string; code?: string | undefined; tokens: number }) =>
      result.outcome === "completed" ? `completed (${result.tokens} tokens)` : `${result.outcome}:${result.code ?? ""}`;
    return {
      workerHandedBack: countBy(handedBack, label),
      workerStreaming: countBy(cut, label),
      ingressStreaming: countBy(ended, label),
      ingressNewRequest: label(refused),
      ingressReadyStatus: ready.status,
    };
  } finally {
    await stack.stop();
  }
}
