// Admission by queue depth, without a Redis call per request: the ingress re-reads the queue's
// waiting count every QUEUE_DEPTH_REFRESH_MS and adds what it enqueued itself since. Other
// ingresses' enqueues since the last refresh are not seen, so the bound can be overshot by at
// most (replicas - 1) × one refresh interval's arrivals; it holds memory and latency, not an exact count.
import type { Queue } from "bullmq";
import { GatewayError } from "@switchboard/protocol";

export class QueueAdmission {
  private readonly queue: Queue;
  private readonly maxQueued: number;
  private readonly timer: NodeJS.Timeout;
  private waiting = 0;
  private enqueuedSinceRefresh = 0;
  private refreshing = false;

  constructor(queue: Queue, maxQueued: number, refreshMs: number) {
    this.queue = queue;
    this.maxQueued = maxQueued;
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  /** The estimated number of requests waiting for a worker. */
  get estimatedWaiting(): number {
    return this.waiting + this.enqueuedSinceRefresh;
  }

  /** An error to answer with when the queue is full, else undefined (and the request is counted). */
  admit(): GatewayError | undefined {
    if (this.estimatedWaiting >= this.maxQueued) {
      return new GatewayError("overloaded", {
        retryAfterSeconds: 1,
        message: `The gateway is at capacity (${this.maxQueued} requests waiting); retry after the indicated time.`,
      });
    }
    this.enqueuedSinceRefresh++;
    return undefined;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const enqueuedBefore = this.enqueuedSinceRefresh;
    try {
      this.waiting = await this.queue.getWaitingCount();
      this.enqueuedSinceRefresh -= enqueuedBefore;
    } catch {
      // Redis unreachable: enqueueing fails fast anyway; keep the last figure.
    } finally {
      this.refreshing = false;
    }
  }
}
