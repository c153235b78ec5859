// POST /v1/chat/completions: validate, enqueue, and answer from the relayed events.
import type { Request, Response } from "express";
import { resolveRoute, type RouteTable } from "@switchboard/config";
import { ChatRequest, GatewayError, completionId, type ChatJob } from "@switchboard/protocol";
import { traceIdsOf, withSpan, type Logger } from "@switchboard/telemetry";
import { CollectedCompletion } from "./collected-completion.ts";
import { sendError } from "./completion-sink.ts";
import { bodyDefect } from "./body-guard.ts";
import type { IngressRuntime } from "./ingress-runtime.ts";
import { clientKey } from "./key-limiter.ts";
import { newRequestId } from "./request-ids.ts";
import { requestTelemetryOf } from "./request-telemetry.ts";
import { StreamingCompletion } from "./streaming-completion.ts";
import { upstreamBody } from "./upstream-body.ts";

export interface ChatRouteOptions {
  runtime: IngressRuntime;
  routes: RouteTable;
  requestTimeoutMs: number;
  /** A request no worker has started within this long is answered queue_timeout. */
  queueMaxWaitMs: number;
  jsonMaxDepth: number;
  log: Logger;
}

export function chatCompletionsRoute(options: ChatRouteOptions) {
  const { runtime, routes, log } = options;
  return async (request: Request, response: Response): Promise<void> => {
    const defect = bodyDefect(request.body, options.jsonMaxDepth);
    if (defect) return sendError(response, new GatewayError("invalid_request", { message: defect }));
    const parsed = ChatRequest.safeParse(request.body);
    if (!parsed.success) return sendError(response, validationError(parsed.error.issues));
    const body = parsed.data;
    if (body.n != null && body.n !== 1) {
      return sendError(
        response,
        new GatewayError("unsupported_parameter", {
          param: "n",
          message: "Only n = 1 is supported: one answer per request.",
        }),
      );
    }
    const route = resolveRoute(routes, body.model);
    if (!route) {
      return sendError(
        response,
        new GatewayError("model_not_found", {
          param: "model",
          message: `The model "${body.model}" is not served by this gateway. GET /v1/models lists the models it serves.`,
        }),
      );
    }

    // Admission: answered at once, before anything is queued.
    if (runtime.redisDown) return sendError(response, new GatewayError("redis_unavailable", { retryAfterSeconds: 1 }));
    const refused = runtime.admission.admit();
    if (refused) return sendError(response, refused);
    const requestId = newRequestId();
    let release = () => {};
    try {
      const acquired = await runtime.acquireLimits(clientKey(request, response), requestId);
      if (!acquired.ok) return sendError(response, acquired.error);
      release = acquired.release;
    } catch (error) {
      log.warn("rate limiter unavailable", { requestId, error });
      return sendError(response, new GatewayError("redis_unavailable", { retryAfterSeconds: 1, cause: error }));
    }
    if (request.socket.destroyed) return release();

    const startedAt = Date.now();
    const telemetry = requestTelemetryOf(response);
    telemetry?.accepted(requestId, body.model, body.stream === true);
    const requestLog = telemetry ? log.child(traceIdsOf(telemetry.span)) : log;
    let deadline: NodeJS.Timeout | undefined;
    let queueWait: NodeJS.Timeout | undefined;
    const context = {
      requestId,
      completionId: completionId(requestId),
      created: Math.floor(startedAt / 1000),
      model: body.model,
      includeUsage: body.stream_options?.include_usage === true,
      onEnd: (outcome: string) => {
        clearTimeout(deadline);
        clearTimeout(queueWait);
        runtime.hub.unregister(requestId);
        runtime.openRequests.delete(requestId);
        release();
        requestLog.debug("request ended", { requestId, outcome, durationMs: Date.now() - startedAt });
      },
      ...(telemetry ? { onDelta: () => telemetry.delta() } : {}),
    };
    const sink = body.stream ? new StreamingCompletion(response, context) : new CollectedCompletion(response, context);
    /** End the answer with an error and stop its job wherever it is. */
    const failAndCancel = (error: GatewayError) => {
      if (sink.isEnded) return;
      sink.fail(error);
      runtime.cancel(requestId);
    };

    const job: ChatJob = {
      requestId,
      model: body.model,
      request: upstreamBody(body, route.passVendorFields),
      ingressId: runtime.ingressId,
      replyChannel: runtime.hub.channel,
      deadlineAt: startedAt + options.requestTimeoutMs,
      enqueuedAt: startedAt,
      startBy: startedAt + options.queueMaxWaitMs,
    };
    // Listening before enqueueing: nothing can be published before someone listens.
    runtime.hub.register(requestId, sink);
    runtime.openRequests.add(requestId, { fail: failAndCancel });
    response.on("close", () => {
      if (sink.isEnded) return;
      sink.abandon();
      runtime.cancel(requestId);
      // Not an error: voice users interrupt all the time. The worker records the usage so far.
      requestLog.info("client went away", { requestId, started: sink.hasStarted });
    });
    deadline = setTimeout(
      () =>
        failAndCancel(
          new GatewayError("deadline_exceeded", {
            message: `No complete answer within ${options.requestTimeoutMs} ms.`,
          }),
        ),
      options.requestTimeoutMs,
    );
    queueWait = setTimeout(() => void endIfNotStarted(), options.queueMaxWaitMs);
    /**
     * The start-by time has passed: answer queue_timeout unless a worker started the request. The
     * worker's "started" event may have been lost from pub/sub (the subscriber was reconnecting),
     * so the request's log decides, read once, now. A worker refuses a first start after start-by;
     * one that passed its check just before but had not written its event yet is stopped by the
     * cancel that goes with the 503. Redis down: the read fails at once (or at the command timeout
     * if Redis hangs) and the answer is queue_timeout, as before; the deadline still holds.
     */
    async function endIfNotStarted(): Promise<void> {
      if (sink.hasStarted || sink.isEnded) return;
      if (!runtime.redisDown) {
        await runtime
          .catchUp(requestId)
          .catch((error: unknown) => requestLog.warn("queue-wait log read failed", { requestId, error }));
      }
      if (!sink.hasStarted)
        failAndCancel(
          new GatewayError("queue_timeout", {
            retryAfterSeconds: 1,
            message: `No worker started the request within ${options.queueMaxWaitMs} ms (QUEUE_MAX_WAIT_MS).`,
          }),
        );
    }

    if (sink instanceof StreamingCompletion && route.bufferWords) sink.startBufferWords(route.bufferWords);

    try {
      // Inside the request's SERVER span, so the enqueue (PRODUCER) and the worker's spans join its trace.
      await (telemetry ? withSpan(telemetry.span, () => runtime.enqueue(job)) : runtime.enqueue(job));
    } catch (error) {
      requestLog.warn("enqueue failed", { requestId, error });
      sink.fail(new GatewayError("redis_unavailable", { retryAfterSeconds: 1, cause: error }));
    }
  };
}

function validationError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): GatewayError {
  const first = issues[0];
  const param = first && first.path.length > 0 ? first.path.map(String).join(".") : null;
  const message = first ? `Invalid request${param ? ` at ${param}` : ""}: ${first.message}` : "Invalid request.";
  return new GatewayError("invalid_request", { param, message });
}
