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

const limiter = (requestsPerMinute: number, concurrentStreams: number, slotSharePercent = 100, workerSlots = 0) =>
  new KeyLimiter(redis, prefix, {
    requestsPerMinute,
    concurrentStreams,
    slotSharePercent,
    workerSlots: () => workerSlots,
    leaseMs: 60_000,
  });

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

  it("holds a key to its share of the worker slots, or the configured bound if lower", async () => {
    const shared = limiter(0, 0, 50, 8);
    const held = [];
    for (let index = 0; index < 4; index++) held.push(await shared.acquire("key:e", `share-${index}`));
    expect(held.every((acquired) => acquired.ok)).toBe(true);
    const over = await shared.acquire("key:e", "share-4");
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.message).toMatch(/share .*4 concurrent requests/);
    // Another key has its own share.
    expect((await shared.acquire("key:f", "share-other")).ok).toBe(true);
    // A slot given back is the key's again.
    if (held[0]?.ok) held[0].release();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await shared.acquire("key:e", "share-5")).ok).toBe(true);
    // The configured bound, when lower, is the one that holds.
    const lower = limiter(0, 1, 50, 8);
    expect((await lower.acquire("key:g", "lower-1")).ok).toBe(true);
    const second = await lower.acquire("key:g", "lower-2");
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error.message).toMatch(/More than 1 concurrent/);
    // No workers known yet: no share.
    const unknown = limiter(0, 0, 50, 0);
    for (let index = 0; index < 5; index++) expect((await unknown.acquire("key:h", `unknown-${index}`)).ok).toBe(true);
  });

  it("keeps each key's limits apart", async () => {
    const limits = limiter(1, 1);
    expect((await limits.acquire("key:c", "request-1")).ok).toBe(true);
    expect((await limits.acquire("key:d", "request-2")).ok).toBe(true);
    expect((await limits.acquire("key:c", "request-3")).ok).toBe(false);
  });
});
