// The requests this ingress is answering right now, so that something outside one request can end
// them all explicitly: a Redis outage (redis_unavailable) or the end of a shutdown grace
// (shutting_down), or a newer turn of its conversation (supersession). Without it such streams
// would just stop, or hang until their deadline.
import type { GatewayError } from "@switchboard/protocol";

export interface OpenRequest {
  /** End the answer with this error (in-stream if it already started) and cancel its job. */
  fail(error: GatewayError): void;
  /** A newer turn of its conversation replaced it: end the answer cleanly and cancel its job. */
  supersede?(): void;
}

export class OpenRequests {
  private readonly open = new Map<string, OpenRequest>();
  private emptied: Array<() => void> = [];

  get size(): number {
    return this.open.size;
  }

  add(requestId: string, request: OpenRequest): void {
    this.open.set(requestId, request);
  }

  delete(requestId: string): void {
    if (!this.open.delete(requestId) || this.open.size > 0) return;
    const waiting = this.emptied;
    this.emptied = [];
    for (const resolve of waiting) resolve();
  }

  /** Supersede the request if it is open here; false if it is not (another ingress's, or ended). */
  supersede(requestId: string): boolean {
    const request = this.open.get(requestId);
    if (!request?.supersede) return false;
    request.supersede();
    return true;
  }

  failAll(error: GatewayError): number {
    const requests = [...this.open.values()];
    for (const request of requests) request.fail(error);
    return requests.length;
  }

  /** Resolves true when no request is open any more, false if timeoutMs passed first. */
  waitUntilEmpty(timeoutMs: number): Promise<boolean> {
    if (this.open.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.emptied.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
