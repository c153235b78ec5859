// One chat request as the ingress sees it: the HTTP SERVER span (the root of the request's trace)
// and the caller-side metrics. It is made before the body is read, so malformed requests are seen
// too, and ends when the response closes, however it ended. Per token it only counts.
// The sampling decision is the gateway's own: a caller's traceparent is a link, not the parent,
// unless the operator trusts its callers (TRUST_INCOMING_TRACEPARENT); see callerTraceContext.
import type { NextFunction, Request, Response } from "express";
import {
  SpanKind,
  attributeNames,
  callerTraceContext,
  eventNames,
  markFailed,
  startSpan,
  type Span,
} from "@switchboard/telemetry";
import type { IngressMetrics } from "./ingress-metrics.ts";
import { requestIdsOf, type RequestIds } from "./request-id-header.ts";

const localsKey = "requestTelemetry";

export class RequestTelemetry {
  readonly span: Span;
  private readonly metrics: IngressMetrics;
  private readonly startedAt = performance.now();
  private chunks = 0;
  private firstTokenAt: number | undefined;
  private errorCode: string | undefined;
  private cancelReason: string | undefined;
  private wasSuperseded = false;
  private streamed = false;
  private route: { key: string; model: string } | undefined;
  private ended = false;

  /** headers: a caller's W3C traceparent, linked to (or, with trustCaller, joined). */
  constructor(
    metrics: IngressMetrics,
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    trustCaller: boolean,
    ids: RequestIds | undefined,
    route = "/v1/chat/completions",
  ) {
    this.metrics = metrics;
    const { parent, links } = callerTraceContext(headers, trustCaller);
    this.span = startSpan(`${method} ${route}`, {
      kind: SpanKind.SERVER,
      parent,
      links,
      attributes: {
        [attributeNames.httpRequestMethod]: method,
        [attributeNames.httpRoute]: route,
        [attributeNames.urlPath]: path,
        [attributeNames.genAiOperationName]: "chat",
        ...(ids ? { [attributeNames.requestId]: ids.requestId } : {}),
        ...(ids?.callerRequestId ? { [attributeNames.callerRequestId]: ids.callerRequestId } : {}),
      },
    });
    metrics.activeStreams.add(1);
  }

  /** The request was valid and is about to be queued. */
  accepted(model: string, stream: boolean, route: { key: string; model: string }): void {
    this.streamed = stream;
    this.route = route;
    if (!this.span.isRecording()) return;
    this.span.setAttribute(attributeNames.genAiRequestModel, model);
    this.span.setAttribute(attributeNames.genAiRequestStream, stream);
  }

  /** The request is a turn of this conversation (conversation-id.ts). */
  conversation(conversationId: string): void {
    if (this.span.isRecording()) this.span.setAttribute(attributeNames.genAiConversationId, conversationId);
  }

  /** A newer turn of its conversation replaced the request: a clean end, not an error. */
  superseded(): void {
    this.wasSuperseded = true;
  }

  /** A delta reached the client (or the collected answer). Called per token: only counts; the rest waits for end(). */
  delta(): void {
    if (this.chunks++ === 0) this.firstTokenAt = performance.now();
  }

  /** The request ends with this gateway error (the first one recorded wins). */
  error(code: string): void {
    this.errorCode ??= code;
  }

  /** The client went away before the end. */
  cancelled(reason: string): void {
    this.cancelReason ??= reason;
  }

  end(statusCode: number): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.metrics.activeStreams.add(-1);
    const attributes: Record<string, string | boolean> = {
      [attributeNames.genAiOperationName]: "chat",
      [attributeNames.stream]: this.streamed,
    };
    // Bounded: the routing table's keys and configured models, never the model id a caller sent.
    if (this.route) {
      attributes[attributeNames.route] = this.route.key;
      attributes[attributeNames.routeModel] = this.route.model;
    }
    const timeToFirstToken = this.firstTokenAt === undefined ? undefined : (this.firstTokenAt - this.startedAt) / 1000;
    if (timeToFirstToken !== undefined) this.metrics.timeToFirstToken.record(timeToFirstToken, { ...attributes });
    if (this.wasSuperseded) {
      this.metrics.superseded.add(1, { ...attributes });
      attributes[attributeNames.outcome] = "superseded";
    } else if (this.cancelReason) {
      this.metrics.cancellations.add(1, { [attributeNames.cancelReason]: this.cancelReason });
      attributes[attributeNames.outcome] = "cancelled";
    } else if (this.errorCode) {
      this.metrics.errors.add(1, { [attributeNames.errorType]: this.errorCode });
      attributes[attributeNames.errorType] = this.errorCode;
      attributes[attributeNames.outcome] = "error";
    } else {
      attributes[attributeNames.outcome] = "finish";
    }
    this.metrics.requestDuration.record(seconds, attributes);
    if (this.span.isRecording()) {
      this.span.setAttribute(attributeNames.httpResponseStatusCode, statusCode);
      this.span.setAttribute(attributeNames.chunkCount, this.chunks);
      if (timeToFirstToken !== undefined) {
        this.span.setAttribute(attributeNames.timeToFirstToken, timeToFirstToken);
        this.span.addEvent(eventNames.firstChunk, performance.timeOrigin + (this.firstTokenAt as number));
      }
      this.span.setAttribute(attributeNames.cancelled, this.cancelReason !== undefined);
      if (this.wasSuperseded) this.span.setAttribute(attributeNames.superseded, true);
      if (this.cancelReason)
        this.span.addEvent(eventNames.cancelled, { [attributeNames.cancelReason]: this.cancelReason });
      if (this.errorCode) markFailed(this.span, this.errorCode);
      this.span.end();
    }
  }
}

/**
 * Express middleware for a completion route: opens the request's telemetry before the body is read.
 * route: the span's http.route (the route's canonical path).
 */
export function requestTelemetryMiddleware(metrics: IngressMetrics, trustCaller: boolean, route?: string) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const telemetry = new RequestTelemetry(
      metrics,
      request.method,
      request.path,
      request.headers,
      trustCaller,
      requestIdsOf(response),
      route,
    );
    response.locals[localsKey] = telemetry;
    response.on("close", () => {
      // Closed before the last byte was written: the client went away.
      if (!response.writableFinished) telemetry.cancelled("client-gone");
      telemetry.end(response.statusCode);
    });
    next();
  };
}

export function requestTelemetryOf(response: Response): RequestTelemetry | undefined {
  return response.locals[localsKey] as RequestTelemetry | undefined;
}
