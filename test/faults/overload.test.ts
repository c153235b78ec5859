// Overload (behaviour; the figures come from `npm run faults`): overload is answered
// with 429/503 and Retry-After, accepted requests complete in time, and per-key limits hold across
// ingress replicas.
import { describe, expect, it } from "vitest";
import { measureKeyLimits, measureOverload } from "./scenarios/overload.ts";

describe("overload", () => {
  it("rejects the excess with Retry-After and still completes what it accepts, in time", async () => {
    const figures = await measureOverload(1500);
    expect(figures.unexplained).toBe(0);
    expect(figures.rejectionsWithoutRetryAfter).toBe(0);
    expect(figures.outcomes.completed).toBeGreaterThan(0);
    expect(
      (figures.outcomes["http-error:overloaded"] ?? 0) + (figures.outcomes["http-error:queue_timeout"] ?? 0),
    ).toBeGreaterThan(0);
    // Every request either completed or was refused up front: none ran past its deadline.
    // (How long the accepted ones took is a figure of `npm run faults`, not a test.)
    expect(Object.keys(figures.outcomes).sort()).toEqual(expect.arrayContaining(["completed"]));
    for (const outcome of Object.keys(figures.outcomes))
      expect(["completed", "http-error:overloaded", "http-error:queue_timeout"]).toContain(outcome);
  }, 60_000);

  it("holds per-key limits across two ingresses", async () => {
    const figures = await measureKeyLimits(3, 10, 20);
    expect(figures.concurrentAccepted).toBe(3);
    expect(figures.concurrentRejected).toBe(6);
    expect(figures.burstAccepted).toBeGreaterThanOrEqual(10);
    // The bucket refills 10/min while the burst runs: a request or two more may pass.
    expect(figures.burstAccepted).toBeLessThanOrEqual(12);
    expect(figures.burstRejected).toBe(20 - figures.burstAccepted);
    expect(figures.rejectionsWithoutRetryAfter).toBe(0);
  }, 60_000);
});
