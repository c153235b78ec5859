// Cancel under load: `streams` callers hang up at once, mid-stream, and the benchmark measures how
// long the target keeps the upstream working for nobody: from the last hang-up to the last upstream
// socket the mock saw close. A voice agent's caller interrupts all the time (barge-in), and every
// answer the gateway keeps pulling after that costs upstream tokens. The mock (services/mock-upstream)
// records when each response's connection closed (`abortedAt` in GET /_mock/stats, wall-clock ms
// comparable across processes); the mock here answers 200 tokens 20 ms apart (4 s), so an upstream
// call that is not cancelled shows up as one that ended (`endedAt`) instead.
import { openStream, type Target } from "./load-client.ts";
import type { MockRequestRecord, MockStats } from "@switchboard/mock-upstream";

export interface CancelRow {
  target: string;
  streams: number;
  /** Streams that failed before the hang-up (not measured), and the first one's message. */
  errors: number;
  firstError?: string;
  /** Upstream calls that ran to their end although the caller had hung up. */
  notCancelled: number;
  /**
   * Upstream calls that ended before the first hang-up (their whole answer came before every other
   * caller had its 5 tokens: a machine too slow for the load); left out of the times.
   */
  endedBeforeHangUp: number;
  /** Upstream calls the mock saw in this run (should equal streams). */
  upstreamCalls: number;
  /** From the last hang-up to the last upstream connection closed (ms). */
  lastHangUpToLastCloseMs: number;
  /** From the last hang-up to the median upstream connection closed (ms; negative: before the last hang-up). */
  lastHangUpToMedianCloseMs: number;
}

export interface CancelOptions {
  /** The mock's base URL (…/v1); its stats are reset before the run. */
  mockUrl: string;
  body: string;
  /** Tokens each caller receives before it hangs up. */
  tokensBeforeHangUp: number;
  /** How long to wait for the upstream calls to close before giving up (ms). */
  timeoutMs: number;
}

async function mockStats(mockUrl: string): Promise<MockStats> {
  const response = await fetch(new URL("../_mock/stats", `${mockUrl}/`));
  return (await response.json()) as MockStats;
}

export async function measureCancel(
  label: string,
  target: Target,
  streams: number,
  options: CancelOptions,
): Promise<CancelRow> {
  await fetch(new URL("../_mock/reset", `${options.mockUrl}/`), { method: "POST" });
  const open = Array.from({ length: streams }, () => openStream(target, options.body, options.tokensBeforeHangUp));
  const reached = await Promise.allSettled(open.map((stream) => stream.reached));
  const failures = reached.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as Error] : []));
  const errors = failures.length;
  // All at once, in one loop: the callers hang up within the same millisecond or two.
  const hangUps = open.map((stream) => stream.hangUp());
  const firstHangUp = Math.min(...hangUps);
  const lastHangUp = Math.max(...hangUps);
  const deadline = performance.now() + options.timeoutMs;
  let stats = await mockStats(options.mockUrl);
  while (stats.active > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    stats = await mockStats(options.mockUrl);
  }
  const closedAt = (record: MockRequestRecord) => record.abortedAt ?? record.endedAt;
  const before = stats.recent.filter((record) => (closedAt(record) ?? Number.POSITIVE_INFINITY) < firstHangUp);
  const atHangUp = stats.recent.filter((record) => !before.includes(record));
  const closes = atHangUp
    .map(closedAt)
    .filter((at): at is number => at !== undefined)
    .sort((a, b) => a - b);
  const stillOpen = atHangUp.length - closes.length;
  return {
    target: label,
    streams,
    errors,
    ...(failures[0] ? { firstError: failures[0].message } : {}),
    notCancelled: atHangUp.filter((record) => record.abortedAt === undefined).length,
    endedBeforeHangUp: before.length,
    upstreamCalls: stats.recent.length,
    // Calls still open at the deadline count as closing at it.
    lastHangUpToLastCloseMs:
      stillOpen > 0
        ? options.timeoutMs
        : closes.length === 0
          ? Number.NaN
          : (closes[closes.length - 1] as number) - lastHangUp,
    lastHangUpToMedianCloseMs:
      closes.length === 0 ? Number.NaN : (closes[Math.floor(closes.length / 2)] as number) - lastHangUp,
  };
}
