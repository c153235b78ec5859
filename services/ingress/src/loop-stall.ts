// Was this process's own event loop stalled? A Redis command times out by a timer; after a long
// stall (a burst of hundreds of requests on a busy machine) timers run before the socket is read,
// so a reply that has already arrived can still "time out". A timeout that overlapped a stall says
// nothing about Redis, and must not turn a busy moment into refused requests.
export class LoopStallWatch {
  private lastBeat = performance.now();
  private lastStallEndedAt = Number.NEGATIVE_INFINITY;
  private readonly thresholdMs: number;
  private readonly timer: NodeJS.Timeout;

  /** A gap of more than thresholdMs between two 20 ms heartbeats counts as a stall. */
  constructor(thresholdMs: number) {
    this.thresholdMs = thresholdMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      if (now - this.lastBeat > this.thresholdMs) this.lastStallEndedAt = now;
      this.lastBeat = now;
    }, 20);
    this.timer.unref();
  }

  /** performance.now(), for stalledSince. */
  now(): number {
    return performance.now();
  }

  /** Did the loop stall since `since` (a performance.now() time), or is it in a stall right now? */
  stalledSince(since: number): boolean {
    return this.lastStallEndedAt >= since || performance.now() - this.lastBeat > this.thresholdMs;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
