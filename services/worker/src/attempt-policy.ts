// What the worker does after an upstream attempt failed: retry the same target after a wait, try
// the route's next target, or give up. A pure function of the failure and the attempt's state, so
// every branch is tested without an upstream (attempt-policy.test.ts); the handler only carries
// the decision out.
import { GatewayError, isRetryable } from "@switchboard/protocol";

/** Longest wait before retrying the same target; a voice user is waiting. */
export const maxRetryWaitMs = 1000;

export interface AttemptState {
  /** The failed attempt's target: 0 for the route's own, 1 for its first fallback, … */
  targetIndex: number;
  /** The route's targets, its own and its fallbacks. */
  targetCount: number;
  /** 0 for the first call to this target, 1 for its first retry, … */
  retry: number;
  /** Deltas already relayed to the client by this job. */
  deltasSent: number;
  /** Milliseconds left until the request's deadline. */
  timeLeftMs: number;
  /** UPSTREAM_RETRIES: retries of the same target. */
  retries: number;
  /** UPSTREAM_RETRY_BACKOFF_MS: the first retry's base wait, doubled per retry. */
  backoffMs: number;
  /** A number in [0, 1) for the jitter (Math.random() in the handler, fixed in tests). */
  random: number;
}

export type AttemptDecision =
  /** Call the same target again after waitMs. */
  | { action: "retry"; waitMs: number }
  /** Call the route's target at targetIndex (the next one). */
  | { action: "next-target"; targetIndex: number }
  /** Output already reached the client: end with this error, never a second answer. */
  | { action: "fail"; error: GatewayError }
  /** Nothing reached the client: end with this error, or the route's fallback sentence. */
  | { action: "fail-before-output"; error: GatewayError };

export function decideAfterFailure(error: GatewayError, state: AttemptState): AttemptDecision {
  // Never a truncated answer dressed as success, never a second answer glued to the first.
  if (state.deltasSent > 0)
    return {
      action: "fail",
      error: new GatewayError("upstream_interrupted", {
        message: `The answer was interrupted after it had started: ${error.message}`,
        cause: error,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
      }),
    };
  if (!isRetryable(error.code)) return { action: "fail-before-output", error };
  const waitMs = backoffMs(state.backoffMs, state.retry, error.retryAfterSeconds, state.random);
  // A long Retry-After is better spent on a fallback target, or told to the client.
  const canRetry = state.retry < state.retries && waitMs <= maxRetryWaitMs && waitMs < state.timeLeftMs;
  if (canRetry) return { action: "retry", waitMs };
  if (state.targetIndex + 1 < state.targetCount) return { action: "next-target", targetIndex: state.targetIndex + 1 };
  return { action: "fail-before-output", error };
}

/** Exponential backoff with jitter (half to all of base·2^retry); an upstream's Retry-After wins when it is longer. */
export function backoffMs(
  baseMs: number,
  retry: number,
  retryAfterSeconds: number | undefined,
  random: number,
): number {
  const exponential = baseMs * 2 ** retry;
  const jittered = exponential / 2 + random * (exponential / 2);
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}
