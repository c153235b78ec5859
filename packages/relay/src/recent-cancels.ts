// Cancel broadcasts a worker has heard, remembered for a while, so a starting job can be checked
// against them without a Redis round trip on the way to its first token. Redis's cancel flag stays
// the source of truth wherever the broadcast may not have been heard: a job older than the current
// subscription (enqueued before this worker listened, or across a subscriber reconnect) and any
// attempt after the first.
import type { Redis } from "ioredis";

export class RecentCancels {
  /** When each request's cancel was heard, and why (client-gone, superseded). */
  private readonly cancelledAt = new Map<string, { at: number; reason: string }>();
  private readonly keepMs: number;
  private listeningSince = Number.POSITIVE_INFINITY;

  constructor(keepMs: number) {
    this.keepMs = keepMs;
  }

  /** The cancel subscription is (again) live from now on. */
  listening(now = Date.now()): void {
    this.listeningSince = now;
  }

  /** Broadcasts may be missed: until the subscription is back, memory cannot answer. */
  deaf(): void {
    this.listeningSince = Number.POSITIVE_INFINITY;
  }

  /**
   * Follow a subscriber connection that is already subscribed to the cancel channel: deaf while it
   * is down, listening again once ioredis has re-subscribed (a PING queued after the re-subscribe
   * answers then).
   */
  follow(subscriber: Redis): void {
    this.listening();
    subscriber.on("close", () => this.deaf());
    subscriber.on("ready", () => {
      subscriber.ping().then(
        () => this.listening(),
        () => {},
      );
    });
  }

  add(requestId: string, reason: string, now = Date.now()): void {
    this.cancelledAt.set(requestId, { at: now, reason });
    // Entries are added in time order, so the oldest come first.
    for (const [id, { at }] of this.cancelledAt) {
      if (now - at <= this.keepMs) break;
      this.cancelledAt.delete(id);
    }
  }

  /**
   * The cancel's reason: cancelled; false: certainly not cancelled before now; undefined: cannot
   * tell from memory (ask Redis, cancelReason). enqueuedAt is the job's timestamp; clockSlackMs
   * covers clock skew between the ingress that enqueued it and this worker.
   */
  cancelled(requestId: string, enqueuedAt: number, attempt: number, clockSlackMs = 1000): string | false | undefined {
    const heard = this.cancelledAt.get(requestId);
    if (heard) return heard.reason;
    if (attempt > 1 || enqueuedAt - clockSlackMs <= this.listeningSince) return undefined;
    return false;
  }
}
