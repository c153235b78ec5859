// Hands a dead worker's jobs back to the queue within about a second, without short BullMQ locks.
// From outside, a worker whose event loop lags looks like a dead one to BullMQ (its lock is not
// renewed in time), and a lock short enough for a fast takeover makes a busy moment cost healthy
// streams (a second attempt takes the job over and the answer ends upstream_interrupted). A
// SIGKILLed process differs in one way that lag cannot fake: the kernel closes its sockets, so
// Redis drops its subscriptions at once. Each worker subscribes to its own channel; every
// interval, a reaper in each worker asks `PUBSUB NUMSUB` for the channels of the workers in the
// presence set; one silent for longer than the grace (a reconnecting subscriber is back well
// within it) is dead. Its running jobs (a set it keeps in Redis) get their BullMQ lock deleted,
// so the next stalled-job check (every WORKER_STALLED_INTERVAL_MS) moves them back to the queue.
// The lock key is BullMQ's `<queue prefix>:<queue>:<jobId>:lock`; the worker-kill fault test breaks if
// that ever changes.
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
      const counts = await countSubscribersOf(redis, others.map((id) => keys.workerChannel(id)));
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
    const jobsKey = keys.workerJobs(deadWorkerId);
    const jobIds = (await redis.smembers(jobsKey)) as string[];
    // Separate commands, not one MULTI: on a Redis Cluster these keys live in different slots.
    await Promise.all([...jobIds.map((jobId) => redis.del(`${keys.queuePrefix}:${queueName}:${jobId}:lock`)), redis.del(jobsKey), redis.zrem(keys.workers, deadWorkerId)]);
    this.silentSince.delete(deadWorkerId);
    this.options.log.warn("worker gone: its jobs go back to the queue", { deadWorkerId, jobs: jobIds.length });
  }
}
