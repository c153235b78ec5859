// One error type for the whole gateway, and the one place that turns it into the OpenAI error body.
import { errorCodes, type ErrorCode } from "./error-codes.ts";

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export interface GatewayErrorOptions {
  message?: string;
  param?: string | null;
  cause?: unknown;
  requestId?: string;
  /** Seconds a client should wait before retrying (429/503). */
  retryAfterSeconds?: number;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: GatewayErrorOptions = {}) {
    super(options.message ?? errorCodes[code].message, { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.status = errorCodes[code].status;
    this.param = options.param ?? null;
    this.requestId = options.requestId;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

function errorBody(
  code: ErrorCode,
  message: string = errorCodes[code].message,
  param: string | null = null,
): ErrorBody {
  return { error: { message, type: errorCodes[code].type, param, code } };
}

export function toErrorBody(error: GatewayError): ErrorBody {
  return errorBody(error.code, error.message, error.param);
}
