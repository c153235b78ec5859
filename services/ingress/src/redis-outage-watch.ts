// Ends open requests explicitly when Redis goes away. While Redis is unreachable no event can reach
// a request, so an open stream would otherwise sit silent until its deadline (60 s) — for a voice
// user, a hang. After REDIS_OUTAGE_GRACE_MS without a usable command connection (a blip such as a
// reconnecting connection is shorter) every open request ends with redis_unavailable.
// A closed connection is noticed at once; a Redis that hangs (connection open, no answers) by
// PINGs that fail at the command timeout — two in a row, since one slow answer under load is not
// an outage, and calling it one would turn a busy moment into refused requests. For the same reason
// a PING that failed while this process's own event loop was stalled does not count (loop-stall.ts).
// The reply subscriber counts as much as the command connection: while it is away no answer can
// arrive, and a worker whose reply channel has no listener for RELAY_NO_LISTENER_GRACE_MS gives up
// on the request. After a Redis failover the two reconnect separately, up to a second apart.
import { GatewayError } from "@switchboard/protocol";
import type { RedisConnection } from "@switchboard/relay";
import type { LoopStallWatch } from "./loop-stall.ts";
import type { OpenRequests } from "./open-requests.ts";

export class RedisOutageWatch {
  private downSince: number | undefined;
  private readonly timer: NodeJS.Timeout;

  /** redis: the command connection; subscriber: the reply subscriber, without which no answer arrives. */
  constructor(
    redis: RedisConnection,
    subscriber: RedisConnection,
    openRequests: OpenRequests,
    graceMs: number,
    stalls: LoopStallWatch,
    onOutage: (failed: number) => void,
  ) {
    const markDown = () => (this.downSince ??= Date.now());
    const bothReady = () => redis.status === "ready" && subscriber.status === "ready";
    for (const connection of [redis, subscriber]) {
      connection.on("close", markDown);
      connection.on("end", markDown);
      connection.on("ready", () => {
        if (bothReady()) this.downSince = undefined;
      });
    }
    let pinging = false;
    let failedSince: number | undefined;
    let failures = 0;
    this.timer = setInterval(
      () => {
        if (!pinging && redis.status === "ready") {
          pinging = true;
          const sentAt = stalls.now();
          redis.ping().then(
            () => {
              pinging = false;
              failures = 0;
              failedSince = undefined;
              if (bothReady()) this.downSince = undefined;
            },
            () => {
              pinging = false;
              if (stalls.stalledSince(sentAt)) return;
              failedSince ??= Date.now();
              if (++failures >= 2) this.downSince ??= failedSince;
            },
          );
        }
        if (this.downSince === undefined || Date.now() - this.downSince < graceMs || openRequests.size === 0) return;
        const failed = openRequests.failAll(
          new GatewayError("redis_unavailable", {
            retryAfterSeconds: 1,
            message: "The gateway lost its Redis while answering; retry after the indicated time.",
          }),
        );
        onOutage(failed);
      },
      Math.max(20, Math.min(250, graceMs / 2)),
    );
    this.timer.unref();
  }

  /** Is Redis known to be unreachable right now? */
  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
