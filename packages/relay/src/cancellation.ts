// Cancellation across processes. BullMQ can only cancel a job inside the worker process that holds
// it, so the ingress broadcasts the request id to every worker, and leaves a short-lived flag for a
// job that has not started yet.
//
// Callers hang up together (a voice platform drops many answers at once when its users barge in, a
// load balancer drains), and every broadcast costs each worker a pub/sub message: the cancels an
// ingress sends in one event-loop turn go as one script (the flags, then one message naming every
// request), which the workers split. A lone cancel waits for nothing: the turn ends with it.
import type { Redis, Result } from "ioredis";
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";
import { corksTurns } from "./turn-cork.ts";

const cancelFlagTtlMs = 120_000;

/** Separates the request ids in one cancel message (a request id never holds a space). */
const idSeparator = " ";
/**
 * The reason a client went away is the message's default; any other (superseded: a newer turn of
 * its conversation replaced it) leads the message as `@<reason>` (a request id never starts with @).
 */
const defaultReason = "client-gone";
const reasonMark = "@";

function cancelMessage(reason: string, requestIds: string[]): string {
  const ids = requestIds.join(idSeparator);
  return reason === defaultReason ? ids : `${reasonMark}${reason}${idSeparator}${ids}`;
}

// KEYS: the cancel flags. ARGV: the reason, the flags' time to live, the cancel channel, the message.
const cancelScript = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end
return redis.call('PUBLISH', ARGV[3], ARGV[4])`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    cancelRequests(...arguments_: Array<string | number>): Result<number, Context>;
  }
}

/**
 * Sends an ingress's cancels, those of one event-loop turn together. On a single Redis (or a
 * Sentinel's primary) one script sets every flag and publishes one message; the flags are set
 * before the message leaves, so a worker that starts a job after hearing nothing still finds its
 * flag. On a Cluster the flags live in their requests' own slots: each cancel is sent alone, its
 * flag and its message in one transaction on the flag's node.
 */
export class CancelBroadcaster {
  private readonly redis: RedisConnection;
  private readonly keys: RelayKeys;
  private readonly batches: boolean;
  private pending: Array<{ requestId: string; reason: string }> = [];

  constructor(redis: RedisConnection, keys: RelayKeys) {
    this.redis = redis;
    this.keys = keys;
    this.batches = corksTurns(redis);
    if (this.batches) redis.defineCommand("cancelRequests", { lua: cancelScript });
  }

  /** Cancel the request wherever it is; rejects when the cancel could not be sent. */
  cancel(requestId: string, reason: string): Promise<void> {
    if (!this.batches) return broadcastOne(this.redis, this.keys, requestId, reason);
    const sent = Promise.withResolvers<void>();
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push({ requestId, reason, ...sent });
    return sent.promise;
  }

  private readonly flush = (): void => {
    const pending = this.pending as Array<{ requestId: string; reason: string } & PromiseWithResolvers<void>>;
    this.pending = [];
    // One script per reason (in practice there is one: the client went away).
    const byReason = new Map<string, typeof pending>();
    for (const cancel of pending) {
      const same = byReason.get(cancel.reason);
      if (same) same.push(cancel);
      else byReason.set(cancel.reason, [cancel]);
    }
    for (const [reason, cancels] of byReason) {
      const flags = cancels.map((cancel) => this.keys.cancelFlag(cancel.requestId));
      const message = cancelMessage(
        reason,
        cancels.map((cancel) => cancel.requestId),
      );
      (this.redis as Redis)
        .cancelRequests(flags.length, ...flags, reason, cancelFlagTtlMs, this.keys.cancelChannel, message)
        .then(
          () => {
            for (const cancel of cancels) cancel.resolve();
          },
          (error: unknown) => {
            for (const cancel of cancels) cancel.reject(error);
          },
        );
    }
  };
}

async function broadcastOne(redis: RedisConnection, keys: RelayKeys, requestId: string, reason: string): Promise<void> {
  await redis
    .multi()
    .set(keys.cancelFlag(requestId), reason, "PX", cancelFlagTtlMs)
    .publish(keys.cancelChannel, cancelMessage(reason, [requestId]))
    .exec();
}

/** Why the request was cancelled (its flag: client-gone, superseded), or undefined when it was not. */
export async function cancelReason(
  redis: RedisConnection,
  keys: RelayKeys,
  requestId: string,
): Promise<string | undefined> {
  return (await redis.get(keys.cancelFlag(requestId))) ?? undefined;
}

/**
 * Subscribe a (dedicated) connection to cancel broadcasts; onCancel is called once per request
 * named, with the reason (client-gone, or superseded).
 */
export async function listenForCancels(
  subscriber: RedisConnection,
  keys: RelayKeys,
  onCancel: (requestId: string, reason: string) => void,
): Promise<void> {
  subscriber.on("message", (channel: string, message: string) => {
    if (channel !== keys.cancelChannel) return;
    if (!message.includes(idSeparator)) return onCancel(message, defaultReason);
    const words = message.split(idSeparator);
    const reason = (words[0] as string).startsWith(reasonMark) ? (words.shift() as string).slice(1) : defaultReason;
    for (const requestId of words) onCancel(requestId, reason);
  });
  await subscriber.subscribe(keys.cancelChannel);
}
