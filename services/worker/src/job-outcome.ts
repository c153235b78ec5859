// How a chat job ended, as one closed type: the handler returns it, and the telemetry sorts it
// (answered, cancelled, taken over, failed) in one exhaustive switch, so a new outcome must be
// placed before the worker compiles.
import { isErrorCode, type errorCodes, type FinishReason } from "@switchboard/protocol";

type ErrorCode = keyof typeof errorCodes;

/**
 * Nobody listens any more: the client left before the start, while waiting, or its ingress went;
 * or a newer turn of its conversation replaced the request (superseded).
 */
type CancelOutcome = "cancelled" | "client-gone" | "no-listener" | "superseded";

export type JobOutcome =
  /** The upstream's answer ended with this finish reason. */
  | FinishReason
  /** Every target failed before any token: the route's fallback sentence was the answer. */
  | "fallback-sentence"
  | CancelOutcome
  /** Another worker took the job over (this one's lock was lost): it answers, not this one. */
  | "lock-lost"
  /** The client was told this error. */
  | ErrorCode;

export type OutcomeKind = "answered" | "cancelled" | "taken-over" | "failed";

export function outcomeKind(outcome: JobOutcome): OutcomeKind {
  if (isErrorCode(outcome)) return "failed";
  switch (outcome) {
    case "stop":
    case "length":
    case "tool_calls":
    case "content_filter":
    case "function_call":
    case "fallback-sentence":
      return "answered";
    case "cancelled":
    case "client-gone":
    case "no-listener":
    case "superseded":
      return "cancelled";
    case "lock-lost":
      return "taken-over";
    default:
      return unreachable(outcome);
  }
}

function unreachable(outcome: never): never {
  throw new Error(`unknown job outcome ${String(outcome)}`);
}
