// One error type for the whole gateway, and the one place that turns it into the OpenAI error body.
import { errorCodes, type ErrorCode } from "./error-codes.ts";

export interface ErrorBody {
  /**
   * The OpenAI error fields, plus request_id: the gateway's id of the request (also its
   * x-request-id header), for support. Clients ignore fields they do not know.
   */
  error: { message: string; type: string; param: string | null; code: string; request_id?: string };
}

export interface GatewayErrorOptions {
  message?: string;
  param?: string | null;
  cause?: unknown;
  requestId?: string;
  /** Seconds a client should wait before retrying (429/503). */
  retryAfterSeconds?: number;
  /** What an upstream said, scrubbed of secrets: for logs and spans, never for an error body. */
  detail?: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, options: GatewayErrorOptions = {}) {
    super(options.message ?? errorCodes[code].message, { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.status = errorCodes[code].status;
    this.param = options.param ?? null;
    this.requestId = options.requestId;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.detail = options.detail;
  }
}

function errorBody(
  code: ErrorCode,
  message: string = errorCodes[code].message,
  param: string | null = null,
  requestId?: string,
): ErrorBody {
  const type = errorCodes[code].type;
  return { error: requestId ? { message, type, param, code, request_id: requestId } : { message, type, param, code } };
}

/** The error body; requestId: the request's id when the error was made without it. */
export function toErrorBody(error: GatewayError, requestId: string | undefined = error.requestId): ErrorBody {
  return errorBody(error.code, error.message, error.param, requestId);
}
