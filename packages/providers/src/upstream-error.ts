// Turns whatever an upstream call threw into one of the gateway's error codes, so retry and
// fallback decisions are made on a closed set. The message a client gets is the gateway's own: the
// code's meaning, the upstream's HTTP status and a short category from a fixed list — never the
// upstream's text, which may quote an organisation id, a key, an internal address or the request.
// That text rides along as `detail`, scrubbed, for the worker's log and span.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { GatewayError, scrubSecrets } from "@switchboard/protocol";

/**
 * Error codes and types upstreams use that are worth telling a caller (they say what to fix), as
 * the category; anything else an upstream sends is replaced by a category named after the status.
 */
const knownCategories = new Set([
  "invalid_request_error",
  "context_length_exceeded",
  "string_above_max_length",
  "unsupported_parameter",
  "unsupported_value",
  "invalid_value",
  "invalid_type",
  "rate_limit_exceeded",
  "rate_limit_error",
  "tokens_exceeded",
  "insufficient_quota",
  "model_not_found",
  "not_found_error",
  "content_filter",
  "content_policy_violation",
  "server_error",
  "api_error",
  "overloaded_error",
  "service_unavailable",
  "timeout",
]);

export function toUpstreamError(error: unknown, providerName: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const detail = detailOf(error, providerName);
  if (error instanceof APIUserAbortError)
    return new GatewayError("deadline_exceeded", { message: "The upstream call was aborted.", cause: error, detail });
  if (error instanceof APIConnectionTimeoutError)
    return new GatewayError("upstream_timeout", {
      message: "The upstream model provider did not answer in time.",
      cause: error,
      detail,
    });
  if (error instanceof APIConnectionError)
    return new GatewayError("upstream_unavailable", {
      message: "The upstream model provider could not be reached.",
      cause: error,
      detail,
    });
  if (error instanceof APIError) {
    const status = error.status;
    const category = categoryOf(error);
    if (status === undefined)
      return new GatewayError("upstream_unavailable", {
        message: `The upstream model provider reported an error in its answer (${category}).`,
        cause: error,
        detail,
      });
    const said = `(HTTP ${status}, ${category})`;
    if (status === 429) {
      const retryAfterSeconds = retryAfter(error.headers);
      return new GatewayError("upstream_rate_limited", {
        message: `The upstream model provider is rate limiting ${said}; retry after the indicated time.`,
        cause: error,
        detail,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    }
    if (status === 401 || status === 403)
      return new GatewayError("upstream_auth_failed", {
        message: `The upstream model provider rejected the gateway's credentials (HTTP ${status}).`,
        cause: error,
        detail,
      });
    if (status === 404)
      return new GatewayError("model_not_found", {
        message: `The upstream model provider does not serve this model ${said}.`,
        cause: error,
        param: "model",
        detail,
      });
    if (status === 408 || status >= 500)
      return new GatewayError("upstream_unavailable", {
        message: `The upstream model provider failed ${said}.`,
        cause: error,
        detail,
      });
    return new GatewayError("upstream_bad_request", {
      message: `The upstream model provider rejected the request ${said}.`,
      cause: error,
      detail,
    });
  }
  return new GatewayError("upstream_unavailable", {
    message: "The upstream model provider failed.",
    cause: error,
    detail,
  });
}

/** The upstream's own words (its error body's message, else the error's), scrubbed, with the provider's name. */
function detailOf(error: unknown, providerName: string): string {
  let text: string;
  if (error instanceof APIError) {
    const body = error.error as { message?: unknown } | undefined;
    text = typeof body?.message === "string" ? body.message : error.message;
  } else text = error instanceof Error ? error.message : String(error);
  return `${providerName}: ${scrubSecrets(text)}`;
}

/** The upstream's error code or type when it is a known one, else a word for the status. */
function categoryOf(error: APIError): string {
  const body = (typeof error.error === "object" && error.error !== null ? error.error : {}) as {
    code?: unknown;
    type?: unknown;
  };
  for (const candidate of [body.code, body.type])
    if (typeof candidate === "string" && knownCategories.has(candidate)) return candidate;
  const status = error.status;
  if (status === undefined) return "error";
  if (status === 429) return "rate_limited";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 413) return "too_large";
  if (status === 422) return "unprocessable";
  if (status >= 500) return "server_error";
  return "bad_request";
}

/** Retry-After in seconds as the upstream sent it; the worker caps what it passes on. */
function retryAfter(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}
