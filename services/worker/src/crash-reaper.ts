// Hands a dead worker's jobs back to the queue within about a second, without short BullMQ locks.
// From outside, a worker whose event loop lags looks like a dead one to BullMQ (its lock is not
// renewed in time), and a lock short enough for a fast takeover makes a busy moment cost healthy
// streams (a second attempt takes the job over and the answer ends upstream_interrupted). A
// SIGKILLed process differs in one way that lag cannot fake: the kernel closes its sockets, so
// Redis drops its subscriptions at once. Each worker subscribes to its own channel; every
// interval, a reaper in each worker asks `PUBSUB NUMSUB` for the channels of the workers in the
// presence set; one silent for longer than the grace (a reconnecting subscriber is back well
// within it) is dead. Its running jobs get their BullMQ lock deleted, so the next stalled-job
// check (every WORKER_STALLED_INTERVAL_MS) moves them back to the queue. Which jobs are its: those
// in the queue's active list whose hash names it as their taker (BullMQ writes the worker's name,
// field `pb`, "processed by", as it hands the job over, in the same script that takes the lock),
// so a running job costs nothing extra per request and a job another worker has taken since is
// never touched. Keys and field are BullMQ's (`<queue prefix>:<queue>:active`, `…:<jobId>` field
// `pb`, `…:<jobId>:lock`); the worker-kill fault tests break if they ever change.
import { countSubscribersOf, type RedisConnection, type RelayKeys } from "@switchboard/relay";
import type { Logger } from "@switchboard/telemetry";

export interface CrashReaperOptions {
  redis: RedisConnection;
  keys: RelayKeys;
  queueName: string;
  workerId: string;
  intervalMs: number;
  graceMs: number;
  log: Logger;
}

export class CrashReaper {
  private readonly options: CrashReaperOptions;
  private readonly silentSince = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(options: CrashReaperOptions) {
    this.options = options;
    this.timer = setInterval(() => void this.check(), options.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    const { redis, keys, workerId } = this.options;
    if (this.running || redis.status !== "ready") return;
    this.running = true;
    try {
      const others = ((await redis.zrange(keys.workers, "0", "-1")) as string[]).filter((id) => id !== workerId);
      if (others.length === 0) return;
      const counts = await countSubscribersOf(
        redis,
        others.map((id) => keys.workerChannel(id)),
      );
      const now = Date.now();
      for (const id of others) {
        if ((counts.get(keys.workerChannel(id)) ?? 0) > 0) {
          this.silentSince.delete(id);
          continue;
        }
        const since = this.silentSince.get(id) ?? now;
        this.silentSince.set(id, since);
        if (now - since >= this.options.graceMs) await this.reap(id);
      }
      for (const id of this.silentSince.keys()) if (!others.includes(id)) this.silentSince.delete(id);
    } catch (error) {
      this.options.log.debug("crash check failed", { error });
    } finally {
      this.running = false;
    }
  }

  private async reap(deadWorkerId: string): Promise<void> {
    const { redis, keys, queueName } = this.options;
    const queue = `${keys.queuePrefix}:${queueName}`;
    const active = (await redis.lrange(`${queue}:active`, 0, -1)) as string[];
    const takers = await Promise.all(active.map((jobId) => redis.hget(`${queue}:${jobId}`, "pb")));
    const held = active.filter((_, index) => takenBy(takers[index], deadWorkerId));
    // Separate commands, not one MULTI: on a Redis Cluster the presence set lives in another slot.
    await Promise.all([
      ...held.map((jobId) => redis.del(`${queue}:${jobId}:lock`)),
      redis.zrem(keys.workers, deadWorkerId),
    ]);
    this.silentSince.delete(deadWorkerId);
    this.options.log.warn("worker gone: its jobs go back to the queue", { deadWorkerId, jobs: held.length });
  }
}

/**
 * Did this worker process take the job? Its first BullMQ consumer bears its id, the others
 * `<id>-<n>` (queue-consumers.ts); ids are `worker-` and 8 random characters, so no other
 * process's name looks like that.
 */
function takenBy(taker: string | null | undefined, workerId: string): boolean {
  if (!taker?.startsWith(workerId)) return false;
  const rest = taker.slice(workerId.length);
  return rest === "" || /^-\d+$/.test(rest);
}
