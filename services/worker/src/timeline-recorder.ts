// The worker's part of a conversation's timeline (packages/relay/src/timeline.ts): one record per
// upstream attempt, written when the attempt ends (never per token), only for a job that names a
// conversation. An attempt stopped by a cancel says why (job-telemetry.ts): a cancel whose reason is
// "superseded" (a newer turn of the conversation replaced the request; the reason travels with the
// cancel broadcast) is recorded as superseded, not cancelled.
import { appendTimeline, type AttemptRecord, type RedisConnection, type RelayKeys } from "@switchboard/relay";
import type { Logger } from "@switchboard/telemetry";

export class TimelineRecorder {
  private readonly redis: RedisConnection;
  private readonly keys: RelayKeys;
  private readonly ttlMs: number;
  private readonly log: Logger;

  constructor(redis: RedisConnection, keys: RelayKeys, ttlMs: number, log: Logger) {
    this.redis = redis;
    this.keys = keys;
    this.ttlMs = ttlMs;
    this.log = log;
  }

  /** Record an ended attempt; in the background, and a failed write is only logged. */
  attemptEnded(conversationId: string, record: AttemptRecord): void {
    this.write(conversationId, record).catch((error: unknown) =>
      this.log.debug("timeline write failed", { requestId: record.requestId, error }),
    );
  }

  private async write(conversationId: string, record: AttemptRecord): Promise<void> {
    await appendTimeline(this.redis, this.keys, conversationId, record, this.ttlMs);
  }
}
