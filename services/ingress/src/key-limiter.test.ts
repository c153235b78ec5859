// The per-key limits against a real Redis: what one request takes, and that sending the same
// request's script twice (a resend after a timeout) charges it once.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { KeyLimiter } from "./key-limiter.ts";
import { removeKeys } from "@switchboard/testing";

const prefix = `sbtest-limiter-${process.pid}-${Date.now()}`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});
afterAll(async () => {
  redis.disconnect();
  await removeKeys(inject("redisUrl"), prefix);
});

const limiter = (requestsPerMinute: number, concurrentStreams: number) =>
  new KeyLimiter(redis, prefix, { requestsPerMinute, concurrentStreams, leaseMs: 60_000 });

describe("KeyLimiter", () => {
  it("holds one stream slot per request, and a resend of the same request takes no second one", async () => {
    const limits = limiter(0, 1);
    const first = await limits.acquire("key:a", "request-1");
    const resent = await limits.acquire("key:a", "request-1");
    expect(first.ok && resent.ok).toBe(true);
    const other = await limits.acquire("key:a", "request-2");
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.error.code).toBe("rate_limited");
    if (first.ok) first.release();
    expect((await limits.acquire("key:a", "request-3")).ok).toBe(true);
  });

  it("charges one request per minute once, however often its script is sent", async () => {
    const limits = limiter(2, 0);
    expect((await limits.acquire("key:b", "request-1")).ok).toBe(true);
    expect((await limits.acquire("key:b", "request-1")).ok).toBe(true);
    expect((await limits.acquire("key:b", "request-2")).ok).toBe(true);
    const third = await limits.acquire("key:b", "request-3");
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it("keeps each key's limits apart", async () => {
    const limits = limiter(1, 1);
    expect((await limits.acquire("key:c", "request-1")).ok).toBe(true);
    expect((await limits.acquire("key:d", "request-2")).ok).toBe(true);
    expect((await limits.acquire("key:c", "request-3")).ok).toBe(false);
  });
});
