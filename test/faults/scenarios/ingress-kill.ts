// Acceptance 2: an ingress killed with SIGKILL mid-stream; its workers must notice that nobody
// listens any more and stop the upstream calls, both of streams already flowing and of requests
// still waiting for their first token (which publish nothing, so only the listener watch sees it).
import { chatBody } from "@switchboard/testing";
import { streamChat } from "../support/chat-client.ts";
import { startFaultStack, waitFor } from "../support/fault-stack.ts";
import { clock, summary } from "../support/figures.ts";

export interface IngressKillFigures {
  streams: number;
  /** SIGKILL -> upstream connection closed, for every call (ms). */
  abortLatency: ReturnType<typeof summary>;
  streamingAbortLatency: ReturnType<typeof summary>;
  waitingAbortLatency: ReturnType<typeof summary>;
  /** Upstream calls still open 5 s after the kill (must be 0). */
  stillOpen: number;
}

export async function measureIngressKill(streams: number): Promise<IngressKillFigures> {
  const stack = await startFaultStack({ mock: { tokens: 2000, tokenDelayMs: 20 } });
  try {
    const half = Math.floor(streams / 2);
    const requests = Array.from({ length: streams }, (_, index) =>
      streamChat(
        stack.urls[0]!,
        chatBody({
          stream: true,
          mock: index < half ? { tag: `streaming-${index}` } : { tag: `waiting-${index}`, firstTokenDelayMs: 60_000 },
        }),
      ),
    );
    await waitFor(
      () => {
        const stats = stack.mock.stats();
        return stats.active === streams && stats.recent.filter((record) => record.tokensSent > 0).length === half;
      },
      15_000,
      "every upstream call to be open",
    );
    const killedAt = clock();
    await stack.ingresses[0]!.stop("SIGKILL");
    await Promise.all(requests);
    let stillOpen = 0;
    try {
      await waitFor(() => stack.mock.stats().active === 0, 5000, "the upstream calls to close");
    } catch {
      stillOpen = stack.mock.stats().active;
    }
    const records = stack.mock.stats().recent.filter((record) => record.abortedAt !== undefined);
    const latency = (prefix: string) =>
      records
        .filter((record) => record.tag?.startsWith(prefix))
        .map((record) => (record.abortedAt as number) - killedAt);
    return {
      streams,
      abortLatency: summary(records.map((record) => (record.abortedAt as number) - killedAt)),
      streamingAbortLatency: summary(latency("streaming-")),
      waitingAbortLatency: summary(latency("waiting-")),
      stillOpen,
    };
  } finally {
    await stack.stop();
  }
}
