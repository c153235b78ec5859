// Acceptance 7: every worker and every ingress replaced, one at a time with SIGTERM, under a
// steady streaming load. Nothing may be lost or hang. The client acts as a load balancer does:
// it sends to the ingresses that are in rotation, drops one as soon as it is told to stop, and
// retries elsewhere a request that was refused before any answer (503 shutting_down, or a refused
// connection) — never one that had started.
import { chatBody } from "@switchboard/testing";
import { streamChat, type ChatResult } from "../support/chat-client.ts";
import { startFaultStack } from "../support/fault-stack.ts";
import { countBy, summary } from "../support/figures.ts";

export interface RollingRestartFigures {
  streams: number;
  requests: number;
  outcomes: Record<string, number>;
  /** Requests refused before any answer by a stopping ingress and retried elsewhere. */
  retriedElsewhere: number;
  /** Lost (truncated, connection dropped mid-answer) or hung: must be 0. */
  lostOrHung: number;
  /** Time to first token over the whole run (ms). */
  timeToFirstToken: ReturnType<typeof summary>;
  restartMs: number;
}

export async function measureRollingRestart(streams: number): Promise<RollingRestartFigures> {
  const stack = await startFaultStack({
    ingresses: 2,
    workers: 2,
    workerEnv: { WORKER_CONCURRENCY: String(streams) },
    mock: { tokens: 20, tokenDelayMs: 25 },
  });
  try {
    const inRotation = [...stack.urls];
    const results: ChatResult[] = [];
    let retriedElsewhere = 0;
    let running = true;
    let next = 0;
    const send = async (): Promise<ChatResult> => {
      for (let tries = 0; ; tries++) {
        const url = inRotation[next++ % inRotation.length]!;
        const result = await streamChat(url, chatBody({ stream: true }), { patienceMs: 30_000 });
        const refusedBeforeAnswer =
          result.outcome === "connection-error" || (result.outcome === "http-error" && result.code === "shutting_down");
        if (!refusedBeforeAnswer || tries >= 5) return result;
        retriedElsewhere++;
      }
    };
    const loops = Array.from({ length: streams }, async () => {
      while (running) results.push(await send());
    });
    const startedAt = Date.now();
    for (const old of [...stack.workers]) {
      await stack.startWorker();
      await old.stop("SIGTERM");
    }
    for (const old of [...stack.ingresses]) {
      const replacement = await stack.startIngress();
      inRotation.push(stack.urlOf(replacement));
      inRotation.splice(inRotation.indexOf(stack.urlOf(old)), 1);
      await old.stop("SIGTERM");
    }
    const restartMs = Date.now() - startedAt;
    running = false;
    await Promise.all(loops);
    return {
      streams,
      requests: results.length,
      outcomes: countBy(results, (result) => `${result.outcome}${result.code ? `:${result.code}` : ""}`),
      retriedElsewhere,
      lostOrHung: results.filter(
        (result) =>
          result.outcome !== "completed" && result.outcome !== "http-error" && result.outcome !== "stream-error",
      ).length,
      timeToFirstToken: summary(
        results
          .filter((result) => result.firstTokenAt !== undefined)
          .map((result) => (result.firstTokenAt as number) - result.startedAt),
      ),
      restartMs,
    };
  } finally {
    await stack.stop();
  }
}
