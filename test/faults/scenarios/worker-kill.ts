// Acceptance 3: a worker killed with SIGKILL while it holds requests. Those that had not sent a
// token yet must complete on another worker after a short takeover; those already streaming must
// end with an explicit error, fast; none may hang.
import { chatBody } from "@switchboard/testing";
import { streamChat, type ChatResult } from "../support/chat-client.ts";
import { startFaultStack, waitFor } from "../support/fault-stack.ts";
import { clock, countBy, summary } from "../support/figures.ts";

export interface WorkerKillFigures {
  requests: number;
  /** Requests with no token yet at the kill: how they ended. */
  beforeFirstToken: Record<string, number>;
  /** Kill -> upstream call restarted by another worker (ms). */
  takeover: ReturnType<typeof summary>;
  /** Upstream call restarted minus first upstream call started: the delay the client sees (ms). */
  addedDelay: ReturnType<typeof summary>;
  /** Requests already streaming at the kill: how they ended. */
  afterFirstToken: Record<string, number>;
  /** Kill -> explicit error at the client (ms). */
  errorLatency: ReturnType<typeof summary>;
  hung: number;
}

export async function measureWorkerKill(requests: number): Promise<WorkerKillFigures> {
  const stack = await startFaultStack({
    workers: 1,
    workerEnv: { UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: "60000" },
    mock: { tokens: 1000, tokenDelayMs: 20 },
  });
  try {
    const half = Math.floor(requests / 2);
    const waiting = (index: number) => index >= half;
    const results: Array<Promise<ChatResult>> = Array.from({ length: requests }, (_, index) =>
      // A waiting request's first upstream call never answers (however long the survivor takes to
      // start); the call after the takeover answers at once.
      streamChat(
        stack.urls[0]!,
        chatBody({
          stream: true,
          mock: waiting(index)
            ? { tag: `waiting-${index}`, tokens: 5, fail: { kind: "never-respond", times: 1 } }
            : { tag: `streaming-${index}` },
        }),
        { patienceMs: 20_000 },
      ),
    );
    await waitFor(
      () => {
        const stats = stack.mock.stats();
        return stats.active === requests && stats.recent.filter((record) => record.tokensSent > 0).length === half;
      },
      15_000,
      "every request to reach the upstream through the first worker",
    );
    // The survivor starts only now, so the first worker holds every request when it dies.
    await stack.startWorker();
    const killedAt = clock();
    await stack.workers[0]!.stop("SIGKILL");
    const ended = await Promise.all(results);
    const calls = stack.mock.stats().recent;
    const takeover: number[] = [];
    const addedDelay: number[] = [];
    for (let index = half; index < requests; index++) {
      const mine = calls
        .filter((record) => record.tag === `waiting-${index}`)
        .sort((a, b) => a.startedAt - b.startedAt);
      if (mine.length >= 2) {
        takeover.push(mine[1]!.startedAt - killedAt);
        addedDelay.push(mine[1]!.startedAt - mine[0]!.startedAt);
      }
    }
    const streaming = ended.slice(0, half);
    const waitingResults = ended.slice(half);
    return {
      requests,
      beforeFirstToken: countBy(waitingResults, (result) =>
        result.outcome === "completed" && result.tokens === 5 ? "completed" : `${result.outcome}:${result.code ?? ""}`,
      ),
      takeover: summary(takeover),
      addedDelay: summary(addedDelay),
      afterFirstToken: countBy(streaming, (result) => `${result.outcome}${result.code ? `:${result.code}` : ""}`),
      errorLatency: summary(
        streaming.filter((result) => result.outcome === "stream-error").map((result) => result.endedAt - killedAt),
      ),
      hung: ended.filter((result) => result.outcome === "hung").length,
    };
  } finally {
    await stack.stop();
  }
}
