// Every branch of the retry/fallback decision: after output, not retryable, retry (with backoff
// and Retry-After), next target when retries are spent, when Retry-After is too long or the
// deadline too near, and giving up on the last target.
import { describe, expect, it } from "vitest";
import { GatewayError } from "@switchboard/protocol";
import { backoffMs, decideAfterFailure, maxRetryWaitMs, type AttemptState } from "./attempt-policy.ts";

const state: AttemptState = {
  targetIndex: 0,
  targetCount: 2,
  retry: 0,
  deltasSent: 0,
  timeLeftMs: 10_000,
  retries: 1,
  backoffMs: 100,
  random: 0.5,
};
const unavailable = new GatewayError("upstream_unavailable", { detail: "upstream said no" });

describe("decideAfterFailure", () => {
  it("ends with upstream_interrupted, keeping the cause and detail, once a delta reached the client", () => {
    const decision = decideAfterFailure(unavailable, { ...state, deltasSent: 3 });
    expect(decision.action).toBe("fail");
    if (decision.action !== "fail") return;
    expect(decision.error.code).toBe("upstream_interrupted");
    expect(decision.error.message).toContain(unavailable.message);
    expect(decision.error.detail).toBe("upstream said no");
    expect(decision.error.cause).toBe(unavailable);
  });

  it("gives up before output on a failure that is not retryable, even with retries and targets left", () => {
    const error = new GatewayError("upstream_bad_request");
    expect(decideAfterFailure(error, state)).toEqual({ action: "fail-before-output", error });
  });

  it("retries the same target after the jittered backoff", () => {
    expect(decideAfterFailure(unavailable, state)).toEqual({ action: "retry", waitMs: 75 });
    expect(decideAfterFailure(unavailable, { ...state, retries: 3, retry: 2, random: 0 })).toEqual({
      action: "retry",
      waitMs: 200,
    });
  });

  it("waits for the upstream's Retry-After when it is longer than the backoff", () => {
    const limited = new GatewayError("upstream_rate_limited", { retryAfterSeconds: 1 });
    expect(decideAfterFailure(limited, state)).toEqual({ action: "retry", waitMs: 1000 });
  });

  it("tries the next target once the retries are spent", () => {
    expect(decideAfterFailure(unavailable, { ...state, retry: 1 })).toEqual({ action: "next-target", targetIndex: 1 });
  });

  it("tries the next target rather than wait out a Retry-After over the longest retry wait", () => {
    const limited = new GatewayError("upstream_rate_limited", { retryAfterSeconds: 2 });
    expect(2000).toBeGreaterThan(maxRetryWaitMs);
    expect(decideAfterFailure(limited, state)).toEqual({ action: "next-target", targetIndex: 1 });
  });

  it("tries the next target when the wait would reach the deadline", () => {
    expect(decideAfterFailure(unavailable, { ...state, timeLeftMs: 75 })).toEqual({
      action: "next-target",
      targetIndex: 1,
    });
  });

  it("gives up before output, with the last failure, when the last target cannot be retried", () => {
    const decision = decideAfterFailure(unavailable, { ...state, targetIndex: 1, retry: 1 });
    expect(decision).toEqual({ action: "fail-before-output", error: unavailable });
  });

  it("gives up with the 429 and its Retry-After when no target is left to spend it on", () => {
    const limited = new GatewayError("upstream_rate_limited", { retryAfterSeconds: 30 });
    const decision = decideAfterFailure(limited, { ...state, targetCount: 1 });
    expect(decision).toEqual({ action: "fail-before-output", error: limited });
    expect(limited.retryAfterSeconds).toBe(30);
  });
});

describe("backoffMs", () => {
  it("spans half to all of base·2^retry", () => {
    expect(backoffMs(100, 0, undefined, 0)).toBe(50);
    expect(backoffMs(100, 0, undefined, 0.999_999)).toBeCloseTo(100);
    expect(backoffMs(100, 3, undefined, 0)).toBe(400);
  });

  it("takes the Retry-After when it is longer, the backoff when it is shorter", () => {
    expect(backoffMs(100, 0, 2, 0.5)).toBe(2000);
    expect(backoffMs(4000, 0, 1, 1 - Number.EPSILON)).toBeGreaterThan(1000);
  });
});
