// Every response names its request: the gateway's own id goes out in the x-request-id header
// (the openai SDK reads it into error.requestID and response._request_id) and in error bodies, so a
// caller can quote it and an operator can find the request's logs and trace. It is made before
// anything else runs, so refusals (401, 404, 413…) carry one too.
//
// A caller's own x-request-id is never used as the gateway's id (ids double as job ids and Redis
// hash tags, and a caller could pick colliding ones); it is recorded next to it, in the request's
// logs and its SERVER span, when it is short and plain enough to be safe in both.
import type { NextFunction, Request, Response } from "express";
import { newRequestId } from "./request-ids.ts";

const requestIdHeader = "x-request-id";

const callerRequestIdPattern = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

/** The caller's x-request-id if it is 1–128 characters of letters, digits and ._:/+=@-; else undefined. */
function callerRequestIdOf(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" && callerRequestIdPattern.test(value) ? value : undefined;
}

export interface RequestIds {
  requestId: string;
  callerRequestId: string | undefined;
}

const localsKey = "requestIds";

export function requestIdMiddleware(request: Request, response: Response, next: NextFunction): void {
  const requestId = newRequestId();
  response.setHeader(requestIdHeader, requestId);
  const ids: RequestIds = { requestId, callerRequestId: callerRequestIdOf(request.headers[requestIdHeader]) };
  response.locals[localsKey] = ids;
  next();
}

/** The ids of the request this response answers (undefined only outside the middleware). */
export function requestIdsOf(response: Response): RequestIds | undefined {
  return response.locals[localsKey] as RequestIds | undefined;
}
