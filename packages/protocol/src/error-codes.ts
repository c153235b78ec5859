// Every error the gateway can answer with, in one closed registry. The README's error table is
// kept in step with this file by a test; adding a code means deciding its status, type and
// whether an upstream failure of that kind may be retried.

export interface ErrorCodeSpec {
  status: number;
  type: string;
  /** The default message, written for the person who has to fix it. */
  message: string;
}

export const errorCodes = {
  invalid_json: { status: 400, type: "invalid_request_error", message: "The request body is not valid JSON." },
  invalid_request: {
    status: 400,
    type: "invalid_request_error",
    message: "The request body does not match the chat completions schema.",
  },
  unsupported_parameter: {
    status: 400,
    type: "invalid_request_error",
    message: "A parameter has a value this gateway does not support.",
  },
  request_too_large: {
    status: 413,
    type: "invalid_request_error",
    message: "The request body is larger than the configured limit.",
  },
  unsupported_media_type: {
    status: 415,
    type: "invalid_request_error",
    message: "Send the request body as application/json.",
  },
  invalid_api_key: { status: 401, type: "authentication_error", message: "Missing or invalid API key." },
  model_not_found: {
    status: 404,
    type: "invalid_request_error",
    message: "The model does not exist or is not served by this gateway.",
  },
  not_found: { status: 404, type: "invalid_request_error", message: "No such route." },
  rate_limited: {
    status: 429,
    type: "rate_limit_error",
    message: "Too many requests for this API key; retry after the indicated time.",
  },
  overloaded: {
    status: 503,
    type: "service_unavailable_error",
    message: "The gateway is at capacity; retry after the indicated time.",
  },
  connection_limit: {
    status: 503,
    type: "service_unavailable_error",
    message: "This gateway instance has as many connections open as it allows; retry after the indicated time.",
  },
  queue_timeout: {
    status: 503,
    type: "service_unavailable_error",
    message: "No worker started the request before its queue deadline.",
  },
  redis_unavailable: { status: 503, type: "service_unavailable_error", message: "The gateway's Redis is unreachable." },
  shutting_down: {
    status: 503,
    type: "service_unavailable_error",
    message: "This gateway instance is shutting down; retry on another.",
  },
  upstream_rate_limited: {
    status: 429,
    type: "rate_limit_error",
    message: "The upstream model provider is rate limiting; retry after the indicated time.",
  },
  upstream_unavailable: {
    status: 502,
    type: "server_error",
    message: "The upstream model provider could not be reached or failed.",
  },
  upstream_timeout: {
    status: 504,
    type: "server_error",
    message: "The upstream model provider did not answer in time.",
  },
  upstream_bad_request: {
    status: 400,
    type: "invalid_request_error",
    message: "The upstream model provider rejected the request.",
  },
  upstream_auth_failed: {
    status: 502,
    type: "server_error",
    message: "The gateway's credentials were rejected by the upstream provider.",
  },
  upstream_interrupted: {
    status: 502,
    type: "server_error",
    message: "The answer was interrupted after it had started; it cannot be resumed.",
  },
  deadline_exceeded: { status: 504, type: "server_error", message: "The request did not finish within its deadline." },
  internal_error: { status: 500, type: "server_error", message: "Internal gateway error." },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(errorCodes, value);
}

/**
 * May the worker try the request again (another attempt or a fallback target) after this failure,
 * provided nothing has reached the client yet? Exhaustive on purpose: a new code must decide.
 */
export function isRetryable(code: ErrorCode): boolean {
  switch (code) {
    case "upstream_rate_limited":
    case "upstream_unavailable":
    case "upstream_timeout":
      return true;
    case "invalid_json":
    case "invalid_request":
    case "unsupported_parameter":
    case "request_too_large":
    case "unsupported_media_type":
    case "invalid_api_key":
    case "model_not_found":
    case "not_found":
    case "rate_limited":
    case "overloaded":
    case "connection_limit":
    case "queue_timeout":
    case "redis_unavailable":
    case "shutting_down":
    case "upstream_bad_request":
    case "upstream_auth_failed":
    case "upstream_interrupted":
    case "deadline_exceeded":
    case "internal_error":
      return false;
  }
}

/**
 * Will the same request fail the same way again? The client must not retry it (the ingress says
 * `x-should-retry: false`), and a route's fallback sentence does not paper over it.
 */
export function isDeterministic(code: ErrorCode): boolean {
  if (code === "upstream_auth_failed") return true;
  const { status } = errorCodes[code];
  return status < 500 && status !== 429 && !isRetryable(code);
}
