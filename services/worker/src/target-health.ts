// The health of each upstream target (provider key and model), shared by every worker through Redis:
// a moving estimate (EWMA) of its first-token time and error rate, and a circuit breaker that opens
// after N consecutive failures (or first-token timeouts), or until a 429's Retry-After, lets one
// half-open probe through after its cool-down, and closes on a success. One small script updates a
// target's hash when a call ends; the hot path reads a local copy, refreshed from Redis at most
// every refreshMs for the targets this worker used recently, so a request never waits for Redis to
// pick its target (only the one probe of a half-open breaker does).
import type { Result } from "ioredis";
import type { RedisConnection } from "@switchboard/relay";

/** Smoothing of the moving estimates: the weight of the newest call. */
const alpha = 0.2;
/** How long a target's hash lives without calls. */
const healthTtlMs = 24 * 3600_000;
/** A target not used for this long is no longer refreshed (its hash stays in Redis). */
const forgetAfterMs = 60_000;

export type BreakerState = "closed" | "open" | "half-open";

export interface TargetHealthSnapshot {
  /** EWMA of the first-token time, ms (undefined before the first answer). */
  firstTokenMs: number | undefined;
  /** EWMA of failures among calls, 0–1. */
  errorRate: number;
  consecutiveFailures: number;
  state: BreakerState;
  /** Epoch ms the breaker stays open until. */
  openUntil: number;
}

// KEYS: the target's hash. ARGV: ok|fail, first-token ms ("" if none), now, failures to open,
// cool-down ms, alpha, open-until from a Retry-After (0 if none), ttl.
const recordScript = `
local now = tonumber(ARGV[3])
local a = tonumber(ARGV[6])
local err = tonumber(redis.call('HGET', KEYS[1], 'errorRate') or '0')
if ARGV[1] == 'ok' then
  local ft = tonumber(ARGV[2])
  if ft then
    local old = tonumber(redis.call('HGET', KEYS[1], 'firstTokenMs') or '')
    if old then ft = old + a * (ft - old) end
    redis.call('HSET', KEYS[1], 'firstTokenMs', tostring(ft))
  end
  redis.call('HSET', KEYS[1], 'errorRate', tostring(err * (1 - a)), 'failures', 0, 'state', 'closed', 'openUntil', 0, 'probeUntil', 0, 'updatedAt', now)
else
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  local openUntil = tonumber(ARGV[7])
  if failures >= tonumber(ARGV[4]) or redis.call('HGET', KEYS[1], 'state') == 'open' then
    openUntil = math.max(openUntil, now + tonumber(ARGV[5]))
  end
  if openUntil > now then redis.call('HSET', KEYS[1], 'state', 'open', 'openUntil', openUntil, 'probeUntil', 0) end
  redis.call('HSET', KEYS[1], 'errorRate', tostring(err + a * (1 - err)), 'updatedAt', now)
end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return redis.call('HGETALL', KEYS[1])`;

// KEYS: the target's hash. ARGV: now, how long a probe may take. 1: call it (this caller is the
// half-open breaker's one probe, or another worker's probe has closed it meanwhile); 0: it is
// still open, or another caller probes.
const probeScript = `
local now = tonumber(ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 1 end
if tonumber(redis.call('HGET', KEYS[1], 'openUntil') or '0') > now then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'probeUntil') or '0') > now then return 0 end
redis.call('HSET', KEYS[1], 'probeUntil', now + tonumber(ARGV[2]))
return 1`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    targetHealthRecord(key: string, ...args: Array<string | number>): Result<string[], Context>;
    targetHealthProbe(key: string, now: number, probeMs: number): Result<number, Context>;
  }
}

export function defineTargetHealthCommands(redis: RedisConnection): void {
  redis.defineCommand("targetHealthRecord", { numberOfKeys: 1, lua: recordScript });
  redis.defineCommand("targetHealthProbe", { numberOfKeys: 1, lua: probeScript });
}

/** The Redis key of a target's health (the target is the hash tag: one slot on a Cluster). */
function targetHealthKey(prefix: string, target: string): string {
  return `${prefix}:health:{${target}}`;
}

/** A target's hash as Redis holds it, read into a snapshot (an empty hash: a healthy target). */
function parseTargetHealth(hash: Record<string, string>, now = Date.now()): TargetHealthSnapshot {
  const openUntil = Number(hash.openUntil ?? 0);
  const state: BreakerState = hash.state !== "open" ? "closed" : openUntil > now ? "open" : "half-open";
  return {
    firstTokenMs: hash.firstTokenMs === undefined ? undefined : Number(hash.firstTokenMs),
    errorRate: Number(hash.errorRate ?? 0),
    consecutiveFailures: Number(hash.failures ?? 0),
    state,
    openUntil,
  };
}

/** An open breaker turns half-open at its time, between two refreshes too. */
function current(snapshot: TargetHealthSnapshot, now: number): TargetHealthSnapshot {
  return snapshot.state === "open" && snapshot.openUntil <= now ? { ...snapshot, state: "half-open" } : snapshot;
}

export interface BreakerSettings {
  /** Consecutive failures (or first-token timeouts) that open the breaker. */
  failures: number;
  /** How long it stays open before one half-open probe. */
  coolDownMs: number;
}

export interface TargetHealthOptions {
  redis: RedisConnection;
  prefix: string;
  refreshMs: number;
  /** Longest a half-open probe may run before another caller may probe (the first-token timeout). */
  probeMs: number;
}

export class TargetHealth {
  private readonly options: TargetHealthOptions;
  private readonly cache = new Map<string, { snapshot: TargetHealthSnapshot; usedAt: number }>();
  private readonly timer: NodeJS.Timeout;
  private refreshing = false;
  private readonly followed = new Set<string>();

  constructor(options: TargetHealthOptions) {
    this.options = options;
    this.timer = setInterval(() => void this.refresh(), options.refreshMs);
    this.timer.unref();
  }

  /**
   * Follow these targets for as long as the worker runs (the routing table's, for routes with
   * `health`), so /metrics shows them before this worker called them; then read them once.
   */
  follow(targets: string[]): Promise<void> {
    for (const target of targets) {
      this.followed.add(target);
      if (!this.cache.has(target)) this.cache.set(target, { snapshot: parseTargetHealth({}), usedAt: Date.now() });
    }
    return this.refresh();
  }

  /** The local copy of a target's health (a target not read yet counts as healthy). */
  snapshot(target: string): TargetHealthSnapshot {
    const now = Date.now();
    const entry = this.cache.get(target);
    if (!entry) {
      const healthy = parseTargetHealth({}, now);
      this.cache.set(target, { snapshot: healthy, usedAt: now });
      return healthy;
    }
    entry.usedAt = now;
    entry.snapshot = current(entry.snapshot, now);
    return entry.snapshot;
  }

  /** Every target this worker follows, for /metrics. */
  snapshots(): Array<[string, TargetHealthSnapshot]> {
    const now = Date.now();
    return [...this.cache].map(([target, entry]) => [target, current(entry.snapshot, now)]);
  }

  /**
   * May a call go to this target now? Closed: yes, at once. Open: no, at once. Half-open: yes for
   * the one caller (across all workers) that claims the probe, a Redis round trip.
   */
  async admits(target: string): Promise<boolean> {
    const { state } = this.snapshot(target);
    if (state === "closed") return true;
    if (state === "open") return false;
    try {
      const key = targetHealthKey(this.options.prefix, target);
      return (await this.options.redis.targetHealthProbe(key, Date.now(), this.options.probeMs)) === 1;
    } catch {
      return false;
    }
  }

  /** A call ended: a success (with its first-token time) or a failure (with a 429's Retry-After). */
  record(
    target: string,
    outcome: { ok: true; firstTokenMs?: number } | { ok: false; retryAfterSeconds?: number },
    breaker: BreakerSettings,
  ): void {
    const now = Date.now();
    const key = targetHealthKey(this.options.prefix, target);
    const firstTokenMs = outcome.ok && outcome.firstTokenMs !== undefined ? Math.round(outcome.firstTokenMs) : "";
    const openUntil = !outcome.ok && outcome.retryAfterSeconds ? now + outcome.retryAfterSeconds * 1000 : 0;
    this.options.redis
      .targetHealthRecord(
        key,
        outcome.ok ? "ok" : "fail",
        firstTokenMs,
        now,
        breaker.failures,
        breaker.coolDownMs,
        alpha,
        openUntil,
        healthTtlMs,
      )
      .then((fields) => {
        // The script answers with the hash it wrote: this worker knows at once, without a read.
        const hash: Record<string, string> = {};
        for (let index = 0; index + 1 < fields.length; index += 2)
          hash[fields[index] as string] = fields[index + 1] as string;
        this.cache.set(target, { snapshot: parseTargetHealth(hash), usedAt: this.cache.get(target)?.usedAt ?? now });
      })
      .catch(() => {});
  }

  /** Read the targets used recently (or the ones given) from Redis into the local copy. */
  async refresh(targets?: string[]): Promise<void> {
    if (!targets && this.refreshing) return;
    const now = Date.now();
    const recent = (target: string, usedAt: number) => this.followed.has(target) || now - usedAt < forgetAfterMs;
    const wanted =
      targets ?? [...this.cache].filter(([target, entry]) => recent(target, entry.usedAt)).map(([target]) => target);
    for (const [target, entry] of this.cache) if (!recent(target, entry.usedAt)) this.cache.delete(target);
    if (wanted.length === 0) return;
    if (!targets) this.refreshing = true;
    try {
      const hashes = await Promise.all(
        wanted.map((target) => this.options.redis.hgetall(targetHealthKey(this.options.prefix, target))),
      );
      const readAt = Date.now();
      wanted.forEach((target, index) => {
        const snapshot = parseTargetHealth(hashes[index] ?? {}, readAt);
        this.cache.set(target, { snapshot, usedAt: this.cache.get(target)?.usedAt ?? readAt });
      });
    } catch {
      // Redis unreachable: keep the last copy; the next refresh tries again.
    } finally {
      if (!targets) this.refreshing = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
