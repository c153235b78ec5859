// Which workers are alive: each worker scores itself in a sorted set every interval, and readiness
// counts the members heard from recently. Each also writes its job slots, so an ingress knows how
// many requests the deployment can run at once (a key's fair share is a share of that).
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";

export function startHeartbeat(
  redis: RedisConnection,
  keys: RelayKeys,
  workerId: string,
  intervalMs: number,
  onError: (error: unknown) => void,
  slots = 0,
): () => Promise<void> {
  // The slots are written with every beat too: a Redis that lost them (a failover) has them back.
  const beat = () =>
    Promise.all([
      redis.zadd(keys.workers, Date.now(), workerId),
      slots > 0 ? redis.hset(keys.workerSlots, workerId, slots) : undefined,
    ]).catch(onError);
  void beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await Promise.all([redis.zrem(keys.workers, workerId), redis.hdel(keys.workerSlots, workerId)]).catch(onError);
  };
}

/** The job slots of the workers heard from within maxAgeMs, summed (a worker that wrote none counts 0). */
export async function countWorkerSlots(redis: RedisConnection, keys: RelayKeys, maxAgeMs: number): Promise<number> {
  const live = await redis.zrangebyscore(keys.workers, Date.now() - maxAgeMs, "+inf");
  if (live.length === 0) return 0;
  const slots = await redis.hmget(keys.workerSlots, ...live);
  return slots.reduce((sum, value) => sum + (Number(value) || 0), 0);
}

export async function countLiveWorkers(redis: RedisConnection, keys: RelayKeys, maxAgeMs: number): Promise<number> {
  const cutoff = Date.now() - maxAgeMs;
  const [, count] =
    (await redis
      .multi()
      .zremrangebyscore(keys.workers, "-inf", cutoff - 60_000)
      .zcount(keys.workers, cutoff, "+inf")
      .exec()) ?? [];
  return Number(count?.[1] ?? 0);
}
