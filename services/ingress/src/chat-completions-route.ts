// POST /v1/chat/completions: validate, enqueue, and answer from the relayed events. The same path
// serves POST /v1/responses, whose API (responses-api.ts) translates its body into a chat request
// and writes the answer as Responses events.
import type { Request, Response } from "express";
import { resolveRoute, type RouteTable } from "@switchboard/config";
import { GatewayError, completionId, type ChatJob } from "@switchboard/protocol";
import { traceIdsOf, withSpan, type Logger } from "@switchboard/telemetry";
import { chatCompletionsApi } from "./chat-completions-api.ts";
import type { CompletionApi } from "./completion-api.ts";
import { sendError } from "./completion-sink.ts";
import { bodyDefect } from "./body-guard.ts";
import type { IngressRuntime } from "./ingress-runtime.ts";
import { clientKey } from "./key-limiter.ts";
import { requestIdsOf } from "./request-id-header.ts";
import { newRequestId } from "./request-ids.ts";
import { requestTelemetryOf } from "./request-telemetry.ts";
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

/** api: the completion API whose body and answer shapes the route speaks (chat completions unless given). */
export function chatCompletionsRoute(options: ChatRouteOptions, api: CompletionApi = chatCompletionsApi) {
  const { runtime, routes, log } = options;
  return async (request: Request, response: Response): Promise<void> => {
    const defect = bodyDefect(request.body, options.jsonMaxDepth);
    if (defect) return sendError(response, new GatewayError("invalid_request", { message: defect }));
    const accepted = api(request.body);
    if (accepted instanceof GatewayError) return sendError(response, accepted);
    const body = accepted.request;
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
    const ids = requestIdsOf(response);
    const requestId = ids?.requestId ?? newRequestId();
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
    const routeKey = Object.hasOwn(routes.routes, body.model) ? body.model : "*";
    telemetry?.accepted(body.model, body.stream === true, { key: routeKey, model: route.model ?? routeKey });
    // Every line about this request names it (and the caller's own id, if it sent one).
    const requestLog = log.child({
      ...(telemetry ? traceIdsOf(telemetry.span) : {}),
      requestId,
      ...(ids?.callerRequestId ? { callerRequestId: ids.callerRequestId } : {}),
    });
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
        requestLog.debug("request ended", { outcome, durationMs: Date.now() - startedAt });
      },
      ...(telemetry ? { onDelta: () => telemetry.delta() } : {}),
    };
    const sink = accepted.createSink(response, context);
    /** End the answer with an error and stop its job wherever it is. */
    const failAndCancel = (error: GatewayError) => {
      if (sink.isEnded) return;
      sink.fail(error);
      runtime.cancel(requestId);
    };

    const forwarded = upstreamBody(body, route);
    if (forwarded.dropped.length > 0) requestLog.debug("fields not passed upstream", { fields: forwarded.dropped });
    const job: ChatJob = {
      requestId,
      model: body.model,
      request: forwarded.body,
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
      // The cancel first: it asks the reply hub whether the worker was heard from, before the end
      // of the request unregisters it there.
      runtime.cancel(requestId);
      sink.abandon();
      // Not an error: voice users interrupt all the time. The worker records the usage so far.
      requestLog.info("client went away", { started: sink.hasStarted });
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
          .catch((error: unknown) => requestLog.warn("queue-wait log read failed", { error }));
      }
      if (!sink.hasStarted)
        failAndCancel(
          new GatewayError("queue_timeout", {
            retryAfterSeconds: 1,
            message: `No worker started the request within ${options.queueMaxWaitMs} ms (QUEUE_MAX_WAIT_MS).`,
          }),
        );
    }

    if (route.bufferWords && sink.startBufferWords) sink.startBufferWords(route.bufferWords);

    try {
      // Inside the request's SERVER span, so the enqueue (PRODUCER) and the worker's spans join its trace.
      await (telemetry ? withSpan(telemetry.span, () => runtime.enqueue(job)) : runtime.enqueue(job));
    } catch (error) {
      // The add may have reached Redis even so (a reply lost, a command timed out): the cancel
      // that goes with the 503 removes or stops that job, now or once Redis is back.
      requestLog.warn("enqueue failed", { error });
      if (sink.isEnded) return;
      // The cancel first, then the answer: the cancel's commands leave before the client hears.
      runtime.cancel(requestId);
      sink.fail(new GatewayError("redis_unavailable", { retryAfterSeconds: 1, cause: error }));
    }
  };
}
