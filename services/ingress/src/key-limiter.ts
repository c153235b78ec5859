// Per-key limits held in Redis, so they hold across every ingress replica: requests per minute (a
// token bucket refilled continuously, so no double burst at a window's edge) and concurrent streams
// (a sorted set of leases, so a crashed ingress's streams expire instead of counting forever). The
// concurrency bound is the configured one or the key's share of the deployment's worker slots,
// whichever is lower: without a share, one key holding slow requests filled every worker slot and
// the other keys' requests timed out in the queue. Streams cannot be pre-empted, so the share is
// kept whether or not others wait at the moment: a key that filled every slot first would make the
// next key's first requests wait for its streams to end.
// One script, one round trip per request. Sent twice for one request (a resend after a timeout),
// it charges once: the request's lease, or the bucket's record of the last request it charged,
// says the request was already admitted.
// The key is whatever string the route passes in (see clientKey): the caller's authenticated API
// key (as a digest), else the client's IP.
import type { Request, Response } from "express";
import type { Result } from "ioredis";
import { GatewayError } from "@switchboard/protocol";
import type { RedisConnection } from "@switchboard/relay";

const acquireScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local perMinute = tonumber(ARGV[1])
local concurrent = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[4])
if concurrent > 0 and redis.call('ZSCORE', KEYS[2], ARGV[3]) then return {0, 0} end
if concurrent == 0 and perMinute > 0 and redis.call('HGET', KEYS[1], 'last') == ARGV[3] then return {0, 0} end
if concurrent > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= concurrent then return {2, 1000} end
end
if perMinute > 0 then
  local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
  local tokens = tonumber(bucket[1]) or perMinute
  local at = tonumber(bucket[2]) or now
  tokens = math.min(perMinute, tokens + (now - at) * perMinute / 60000)
  if tokens < 1 then return {1, math.ceil((1 - tokens) * 60000 / perMinute)} end
  redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'at', now, 'last', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], 60000)
end
if concurrent > 0 then
  redis.call('ZADD', KEYS[2], now + leaseMs, ARGV[3])
  redis.call('PEXPIRE', KEYS[2], leaseMs)
end
return {0, 0}`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    keyLimitAcquire(
      rateKey: string,
      streamsKey: string,
      perMinute: number,
      concurrent: number,
      member: string,
      leaseMs: number,
    ): Result<[number, number], Context>;
  }
}

export interface KeyLimits {
  requestsPerMinute: number;
  concurrentStreams: number;
  /** The most a key may hold of the deployment's worker slots, in per cent (100: no share limit). */
  slotSharePercent: number;
  /** The deployment's worker slots now (0: not known, no share limit). */
  workerSlots: () => number;
  /** How long a concurrency slot is held at most (the request's own deadline, plus a margin). */
  leaseMs: number;
}

export type Acquired = { ok: true; release: () => void } | { ok: false; error: GatewayError };

export class KeyLimiter {
  private readonly redis: RedisConnection;
  private readonly prefix: string;
  private readonly limits: KeyLimits;

  constructor(redis: RedisConnection, prefix: string, limits: KeyLimits) {
    this.redis = redis;
    this.prefix = prefix;
    this.limits = limits;
    redis.defineCommand("keyLimitAcquire", { numberOfKeys: 2, lua: acquireScript });
  }

  get enabled(): boolean {
    return this.limits.requestsPerMinute > 0 || this.limits.concurrentStreams > 0 || this.limits.slotSharePercent < 100;
  }

  /** The concurrency bound now: the configured one, or the key's share of the worker slots if lower; 0: none. */
  private concurrencyBound(): { concurrent: number; share: boolean } {
    const configured = this.limits.concurrentStreams;
    const slots = this.limits.workerSlots();
    if (this.limits.slotSharePercent >= 100 || slots === 0) return { concurrent: configured, share: false };
    const share = Math.max(1, Math.floor((slots * this.limits.slotSharePercent) / 100));
    return configured > 0 && configured <= share
      ? { concurrent: configured, share: false }
      : { concurrent: share, share: true };
  }

  /** Take one request (and one stream slot) for key; rejects with rate_limited when over a limit. */
  async acquire(key: string, requestId: string): Promise<Acquired> {
    const noop = { ok: true as const, release: () => {} };
    if (!this.enabled) return noop;
    const base = `${this.prefix}:limit:{${key}}`;
    const streamsKey = `${base}:streams`;
    const bound = this.concurrencyBound();
    const [verdict, waitMs] = await this.redis.keyLimitAcquire(
      `${base}:rpm`,
      streamsKey,
      this.limits.requestsPerMinute,
      bound.concurrent,
      requestId,
      this.limits.leaseMs,
    );
    if (verdict === 1) {
      return {
        ok: false,
        error: new GatewayError("rate_limited", {
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          message: `More than ${this.limits.requestsPerMinute} requests per minute for this key; retry after the indicated time.`,
        }),
      };
    }
    if (verdict === 2) {
      return {
        ok: false,
        error: new GatewayError("rate_limited", {
          retryAfterSeconds: 1,
          message: bound.share
            ? `This key holds its share of the gateway's capacity (${bound.concurrent} concurrent requests, KEY_SLOT_SHARE_PERCENT); retry after the indicated time.`
            : `More than ${bound.concurrent} concurrent requests for this key; retry after the indicated time.`,
        }),
      };
    }
    if (bound.concurrent === 0) return noop;
    return {
      ok: true,
      release: () => {
        // If Redis is down the lease simply expires.
        this.redis.zrem(streamsKey, requestId).catch(() => {});
      },
    };
  }
}

/**
 * The limiter key of a request: the caller's authenticated API key (its digest, set by
 * authentication.ts), else — on an open gateway, where any token would be accepted and rotating
 * tokens would dodge the limits — the client's IP.
 */
export function clientKey(request: Request, response: Response): string {
  const apiKeyId: unknown = response.locals.apiKeyId;
  if (typeof apiKeyId === "string") return `key:${apiKeyId}`;
  return `ip:${request.ip ?? request.socket.remoteAddress ?? "unknown"}`;
}
