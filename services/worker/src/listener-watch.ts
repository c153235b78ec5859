// Notices an ingress that stopped listening even when its requests publish nothing (a request
// still waiting for its first token never learns from an SPUBLISH answered with 0). Every interval
// the worker asks Redis, in one `PUBSUB SHARDNUMSUB` (per Redis node) for all reply channels it serves, how many
// subscribers each has; a channel with none for longer than the grace (a live ingress whose
// subscriber is reconnecting is back well within it) loses its requests: they are aborted, so
// upstream spend stops within about grace + interval of an ingress dying.
import { countSubscribersOf, type RedisConnection } from "@switchboard/relay";

interface WatchedChannel {
  onLost: Set<() => void>;
  silentSince: number | undefined;
}

export class ListenerWatch {
  private readonly channels = new Map<string, WatchedChannel>();
  private readonly redis: RedisConnection;
  private readonly graceMs: number;
  private readonly timer: NodeJS.Timeout;
  private checking = false;

  constructor(redis: RedisConnection, intervalMs: number, graceMs: number) {
    this.redis = redis;
    this.graceMs = graceMs;
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  /** Call onLost once if the channel loses its listener; the returned function stops watching. */
  watch(channel: string, onLost: () => void): () => void {
    let watched = this.channels.get(channel);
    if (!watched) this.channels.set(channel, (watched = { onLost: new Set(), silentSince: undefined }));
    watched.onLost.add(onLost);
    return () => {
      watched.onLost.delete(onLost);
      if (watched.onLost.size === 0 && this.channels.get(channel) === watched) this.channels.delete(channel);
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.channels.clear();
  }

  private async check(): Promise<void> {
    if (this.checking || this.channels.size === 0 || this.redis.status !== "ready") return;
    this.checking = true;
    try {
      const names = [...this.channels.keys()];
      const counts = await countSubscribersOf(this.redis, names, "sharded");
      const now = Date.now();
      for (const [channel, count] of counts) {
        const watched = this.channels.get(channel);
        if (!watched) continue;
        if (count > 0) {
          watched.silentSince = undefined;
          continue;
        }
        watched.silentSince ??= now;
        if (now - watched.silentSince < this.graceMs) continue;
        this.channels.delete(channel);
        for (const onLost of watched.onLost) onLost();
      }
    } catch {
      // Redis unreachable: the relay's own writes fail and stop the requests.
    } finally {
      this.checking = false;
    }
  }
}
