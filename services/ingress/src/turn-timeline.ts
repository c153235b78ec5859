// The ingress's record of one conversation turn for the conversation's timeline
// (packages/relay/src/timeline.ts): when it arrived, how long it waited for a worker, its first
// token, how it ended. Written once, when the answer ends; per token it only notes the first.
import type { TurnRecord } from "@switchboard/relay";

export interface TurnFacts {
  requestId: string;
  route: string;
  model: string;
  stream: boolean;
  traceId: string | undefined;
}

export class TurnTimeline {
  private readonly facts: TurnFacts;
  private readonly arrivedAt = Date.now();
  private readonly startedAt = performance.now();
  private workerStartedAt: number | undefined;
  private firstTokenAt: number | undefined;

  constructor(facts: TurnFacts) {
    this.facts = facts;
  }

  /** A worker started the request (its first relayed event). */
  started(): void {
    this.workerStartedAt ??= performance.now();
  }

  /** A delta reached the client. */
  delta(): void {
    this.firstTokenAt ??= performance.now();
  }

  /** The record for an answer that ended with this outcome (finish, superseded, client-gone, or an error code). */
  ended(outcome: string): TurnRecord {
    const since = (at: number | undefined) => (at === undefined ? undefined : Math.round(at - this.startedAt));
    const queueWaitMs = since(this.workerStartedAt);
    const firstTokenMs = since(this.firstTokenAt);
    const known = outcome === "finish" || outcome === "superseded" || outcome === "client-gone";
    return {
      kind: "turn",
      requestId: this.facts.requestId,
      arrivedAt: this.arrivedAt,
      ...(queueWaitMs === undefined ? {} : { queueWaitMs }),
      route: this.facts.route,
      model: this.facts.model,
      stream: this.facts.stream,
      ...(firstTokenMs === undefined ? {} : { firstTokenMs }),
      durationMs: Math.round(performance.now() - this.startedAt),
      outcome: known ? outcome : "error",
      ...(known ? {} : { errorCode: outcome }),
      ...(this.facts.traceId ? { traceId: this.facts.traceId } : {}),
    };
  }
}
