// Step 2 of the chat route: may this request be queued now? Answered at once, before anything is
// queued: Redis reachable, the queue not full (queue-admission.ts), and the caller's per-key limits
// (key-limiter.ts) taken. A refused request has been answered when this returns undefined.
import type { Request, Response } from "express";
import { GatewayError } from "@switchboard/protocol";
import type { Logger } from "@switchboard/telemetry";
import { sendError } from "./completion-sink.ts";
import type { IngressRuntime } from "./ingress-runtime.ts";
import { clientKey } from "./key-limiter.ts";
import { requestIdsOf, type RequestIds } from "./request-id-header.ts";
import { newRequestId } from "./request-ids.ts";

export interface Admission {
  requestId: string;
  ids: RequestIds | undefined;
  /** Give the per-key limits back (once the answer has ended). */
  release: () => void;
}

export async function admitRequest(
  request: Request,
  response: Response,
  runtime: IngressRuntime,
  log: Logger,
): Promise<Admission | undefined> {
  if (runtime.redisDown) {
    sendError(response, new GatewayError("redis_unavailable", { retryAfterSeconds: 1 }));
    return undefined;
  }
  const refused = runtime.admission.admit();
  if (refused) {
    sendError(response, refused);
    return undefined;
  }
  const ids = requestIdsOf(response);
  const requestId = ids?.requestId ?? newRequestId();
  let release: () => void;
  try {
    const acquired = await runtime.acquireLimits(clientKey(request, response), requestId);
    if (!acquired.ok) {
      sendError(response, acquired.error);
      return undefined;
    }
    release = acquired.release;
  } catch (error) {
    log.warn("rate limiter unavailable", { requestId, error });
    sendError(response, new GatewayError("redis_unavailable", { retryAfterSeconds: 1, cause: error }));
    return undefined;
  }
  // The client left while the limits were taken: nobody to answer.
  if (request.socket.destroyed) {
    release();
    return undefined;
  }
  return { requestId, ids, release };
}
