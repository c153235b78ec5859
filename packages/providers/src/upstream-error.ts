// Turns whatever an upstream call threw into one of the gateway's error codes, so retry and
// fallback decisions are made on a closed set.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { GatewayError } from "@switchboard/protocol";

export function toUpstreamError(error: unknown, providerName: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof APIUserAbortError)
    return new GatewayError("deadline_exceeded", { message: "The upstream call was aborted.", cause: error });
  if (error instanceof APIConnectionTimeoutError)
    return new GatewayError("upstream_timeout", { message: `${providerName} did not answer in time.`, cause: error });
  if (error instanceof APIConnectionError)
    return new GatewayError("upstream_unavailable", { message: `${providerName} could not be reached.`, cause: error });
  if (error instanceof APIError) {
    const detail = upstreamMessage(error);
    const status = error.status;
    if (status === undefined)
      return new GatewayError("upstream_unavailable", {
        message: `${providerName} reported an error in its answer: ${detail}`,
        cause: error,
      });
    if (status === 429) {
      const retryAfterSeconds = retryAfter(error.headers);
      return new GatewayError("upstream_rate_limited", {
        message: `${providerName} is rate limiting: ${detail}`,
        cause: error,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    }
    if (status === 401 || status === 403)
      return new GatewayError("upstream_auth_failed", {
        message: `${providerName} rejected the gateway's credentials (HTTP ${status}).`,
        cause: error,
      });
    if (status === 404)
      return new GatewayError("model_not_found", {
        message: `${providerName}: ${detail}`,
        cause: error,
        param: "model",
      });
    if (status === 408 || status >= 500)
      return new GatewayError("upstream_unavailable", {
        message: `${providerName} failed with HTTP ${status}: ${detail}`,
        cause: error,
      });
    return new GatewayError("upstream_bad_request", {
      message: `${providerName} rejected the request (HTTP ${status}): ${detail}`,
      cause: error,
    });
  }
  return new GatewayError("upstream_unavailable", {
    message: `${providerName} failed: ${(error as Error)?.message ?? String(error)}`,
    cause: error,
  });
}

function upstreamMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  return typeof body?.message === "string" ? body.message : error.message;
}

function retryAfter(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}
