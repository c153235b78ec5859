// Cancellation across processes. BullMQ can only cancel a job inside the worker process that holds
// it, so the ingress broadcasts the request id to every worker, and leaves a short-lived flag for a
// job that has not started yet.
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";

const cancelFlagTtlMs = 120_000;

export async function broadcastCancel(
  redis: RedisConnection,
  keys: RelayKeys,
  requestId: string,
  reason: string,
): Promise<void> {
  await redis
    .multi()
    .set(keys.cancelFlag(requestId), reason, "PX", cancelFlagTtlMs)
    .publish(keys.cancelChannel, requestId)
    .exec();
}

export async function isCancelled(redis: RedisConnection, keys: RelayKeys, requestId: string): Promise<boolean> {
  return (await redis.exists(keys.cancelFlag(requestId))) === 1;
}

/** Why the request was cancelled (client-gone, superseded, …), while its flag lasts; null if it was not. */
export async function cancelReason(redis: RedisConnection, keys: RelayKeys, requestId: string): Promise<string | null> {
  return redis.get(keys.cancelFlag(requestId));
}

/** Subscribe a (dedicated) connection to cancel broadcasts. */
export async function listenForCancels(
  subscriber: RedisConnection,
  keys: RelayKeys,
  onCancel: (requestId: string) => void,
): Promise<void> {
  subscriber.on("message", (channel: string, requestId: string) => {
    if (channel === keys.cancelChannel) onCancel(requestId);
  });
  await subscriber.subscribe(keys.cancelChannel);
}
