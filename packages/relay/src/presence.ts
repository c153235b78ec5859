// Which workers are alive: each worker scores itself in a sorted set every interval, and readiness
// counts the members heard from recently.
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";

export function startHeartbeat(
  redis: RedisConnection,
  keys: RelayKeys,
  workerId: string,
  intervalMs: number,
  onError: (error: unknown) => void,
): () => Promise<void> {
  const beat = () => redis.zadd(keys.workers, Date.now(), workerId).catch(onError);
  void beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await redis.zrem(keys.workers, workerId).catch(onError);
  };
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
