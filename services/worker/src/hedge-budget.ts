// The share of a route's requests that may be hedged, shared by every worker: one Redis hash per
// route per 10 s window (requests, hedges, refused), written by two small scripts. A request
// counts itself without waiting for the answer; only a hedge waits, for the script that admits or
// refuses it, at most once per request, after the hedge delay.
import type { Result } from "ioredis";
import type { RedisConnection } from "@switchboard/relay";

/** Length of a budget window: the budget is a share of the requests of this window and the previous one. */
const hedgeWindowMs = 10_000;

const countScript = `
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS: this window's hash, the previous one's. ARGV: budget percent, ttl. The budget is a share of
// the requests of both windows (10 to 20 s), so a window's start does not refuse every hedge.
// 1: the hedge is admitted (and counted), 0: refused.
const admitScript = `
local requests = tonumber(redis.call('HGET', KEYS[1], 'requests') or '0') + tonumber(redis.call('HGET', KEYS[2], 'requests') or '0')
local hedges = tonumber(redis.call('HGET', KEYS[1], 'hedges') or '0') + tonumber(redis.call('HGET', KEYS[2], 'hedges') or '0')
if (hedges + 1) * 100 > requests * tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], 'refused', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('HINCRBY', KEYS[1], 'hedges', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    hedgeCountRequest(key: string, ttlMs: number): Result<number, Context>;
    hedgeAdmit(key: string, previousKey: string, budgetPercent: number, ttlMs: number): Result<number, Context>;
  }
}

export function defineHedgeCommands(redis: RedisConnection): void {
  redis.defineCommand("hedgeCountRequest", { numberOfKeys: 1, lua: countScript });
  redis.defineCommand("hedgeAdmit", { numberOfKeys: 2, lua: admitScript });
}

export class HedgeBudget {
  private readonly redis: RedisConnection;
  private readonly prefix: string;

  constructor(redis: RedisConnection, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  /**
   * The key of a route's window (its routing-table key, "*" for the pass-through route; windows
   * back from now). The route is the hash tag: on a Cluster a window and the previous one share a slot.
   */
  key(routeKey: string, windowsBack = 0): string {
    return `${this.prefix}:hedge:{${routeKey}}:${Math.floor(Date.now() / hedgeWindowMs) - windowsBack}`;
  }

  /** Count one request of a hedged route; never awaited, and a failure only loses a count. */
  countRequest(routeKey: string): void {
    this.redis.hedgeCountRequest(this.key(routeKey), hedgeWindowMs * 2).catch(() => {});
  }

  /** May this request be hedged? False beyond the budget, and when Redis cannot say. */
  async admit(routeKey: string, budgetPercent: number): Promise<boolean> {
    try {
      const admitted = await this.redis.hedgeAdmit(
        this.key(routeKey),
        this.key(routeKey, 1),
        budgetPercent,
        hedgeWindowMs * 2,
      );
      return admitted === 1;
    } catch {
      return false;
    }
  }
}
