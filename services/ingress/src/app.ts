// The Express application: routes, body parsing, and the error handler that keeps every failure
// in the OpenAI error shape.
import type { Socket } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { listModelIds, type RouteTable } from "@switchboard/config";
import { GatewayError } from "@switchboard/protocol";
import { attributeNames, metricsAuthorizer, type Logger, type Metrics } from "@switchboard/telemetry";
import { adminRoutes } from "./admin-routes.ts";
import { authentication, type AuthenticationOptions } from "./authentication.ts";
import { bodyVerifier, invalidUtf8Type, tooDeepType, tooManyValuesType } from "./body-guard.ts";
import { chatCompletionsRoute } from "./chat-completions-route.ts";
import { sendError } from "./completion-sink.ts";
import type { IngressRuntime } from "./ingress-runtime.ts";
import type { IngressMetrics } from "./ingress-metrics.ts";
import { requestIdMiddleware } from "./request-id-header.ts";
import { requestTelemetryMiddleware } from "./request-telemetry.ts";
import { responsesApi } from "./responses-api.ts";

export interface AppOptions {
  runtime: IngressRuntime;
  routes: RouteTable;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  queueMaxWaitMs: number;
  jsonMaxDepth: number;
  /** JSON_MAX_VALUES: a body with more values is refused before it is parsed. */
  jsonMaxValues: number;
  log: Logger;
  /** API keys and the optional custom key header; absent or no keys: open. */
  authentication?: AuthenticationOptions;
  metrics: Metrics;
  ingressMetrics: IngressMetrics;
  /** TRUST_INCOMING_TRACEPARENT: a caller's traceparent joins its trace and sampling decision. */
  trustIncomingTraceparent: boolean;
  /** TRUST_PROXY, as Express's `trust proxy` (false: the socket's address is the client's). */
  trustProxy?: boolean | number | string;
  /** METRICS_TOKEN: this port serves GET /metrics too, to scrapes that send it as a Bearer token. */
  metricsToken?: string;
  /** MAX_CONNECTIONS: is this connection one too many (counted when it says so)? Its requests get 503 connection_limit. */
  refusesConnection?: (socket: Socket) => boolean;
}

/** /v1/chat/completions, /chat/completions, and the doubled or missing slashes users type. */
const chatPath = /^(?:\/v1)*\/+chat\/completions\/?$/;
/** /v1/responses and /responses, with the same slack as the chat path: one base URL serves both APIs. */
const responsesPath = /^(?:\/v1)*\/+responses\/?$/;
const modelsPath = /^(?:\/v1)*\/+models\/?$/;

export function createApp(options: AppOptions): express.Express {
  const { runtime, routes, log } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // First: every response, whatever answers it, carries the request's id.
  app.use(requestIdMiddleware);
  app.set("trust proxy", options.trustProxy ?? false);
  // A connection above MAX_CONNECTIONS: every request on it is refused before anything is read,
  // and the connection closed with the answer.
  const refusesConnection = options.refusesConnection;
  if (refusesConnection)
    app.use((request: Request, response: Response, next: NextFunction) => {
      if (!refusesConnection(request.socket)) return next();
      response.setHeader("Connection", "close");
      sendError(response, new GatewayError("connection_limit", { retryAfterSeconds: 1 }));
    });

  app.get("/health", (_request, response) => {
    response.json({ status: "ok" });
  });
  app.get("/ready", async (_request, response) => {
    const readiness = await runtime.readiness();
    response.status(readiness.ready ? 200 : 503).json(readiness);
  });
  // Metrics have their own port (METRICS_PORT); here only with a token, since this port is public.
  const authorizeScrape = metricsAuthorizer(options.metricsToken);
  if (authorizeScrape)
    app.get("/metrics", (request, response) => {
      if (!authorizeScrape(request))
        return sendError(response, new GatewayError("invalid_api_key", { message: "Send the metrics token." }));
      options.metrics.handle(request, response);
    });
  // Operators' endpoints, with keys of their own (ADMIN_API_KEYS), so before the API keys' check.
  app.use(adminRoutes(runtime, log));
  // Everything below /health and /ready needs a key (when keys are configured), checked before
  // any body is read. A refusal is logged (the key's digest prefix, never the key) and counted.
  app.use(
    authentication({
      ...(options.authentication ?? { keys: [] }),
      onFailure: (failure, request) => {
        options.ingressMetrics.authenticationFailures.add(1, { [attributeNames.authenticationReason]: failure.reason });
        log.warn("authentication failed", {
          reason: failure.reason,
          ...(failure.keyDigestPrefix ? { keyDigestPrefix: failure.keyDigestPrefix } : {}),
          client: request.ip,
          method: request.method,
          path: request.path,
        });
      },
    }),
  );
  app.get(modelsPath, (_request, response) => {
    const created = 0;
    response.json({
      object: "list",
      data: listModelIds(routes).map((id) => ({ id, object: "model", created, owned_by: "switchboard" })),
    });
  });
  // Shutting down: refuse new work at once (before reading the body), so a load balancer or
  // client retries on another instance; the connection is not kept for reuse.
  app.post([chatPath, responsesPath], (_request: Request, response: Response, next: NextFunction) => {
    if (!runtime.shuttingDown) return next();
    response.setHeader("Connection", "close");
    sendError(response, new GatewayError("shutting_down", { retryAfterSeconds: 1 }));
  });
  // Any content type is read as JSON: curl users often forget the header. JSON is UTF-8 (RFC 8259);
  // a body declared in another charset is refused before it is read, since the guards below count
  // its structure on the raw bytes, which in UTF-16 or a legacy charset mean something else.
  const jsonBody = express.json({
    limit: options.bodyLimitBytes,
    type: () => true,
    strict: false,
    verify: bodyVerifier({ maxDepth: options.jsonMaxDepth, maxValues: options.jsonMaxValues }),
  });
  app.post(
    chatPath,
    requestTelemetryMiddleware(options.ingressMetrics, options.trustIncomingTraceparent),
    utf8Only,
    jsonBody,
    chatCompletionsRoute(options),
  );
  // The Responses API: translated into the same chat-completions job, answered in its own shapes.
  app.post(
    responsesPath,
    requestTelemetryMiddleware(options.ingressMetrics, options.trustIncomingTraceparent, "/v1/responses"),
    utf8Only,
    jsonBody,
    chatCompletionsRoute(options, responsesApi),
  );

  app.use((request: Request, response: Response) => {
    log.info("no such route", { method: request.method, path: request.path });
    sendError(
      response,
      new GatewayError("not_found", {
        message: `No route for ${request.method} ${request.path}. The endpoints are POST /v1/chat/completions and POST /v1/responses.`,
      }),
    );
  });
  app.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) return next(error);
    sendError(response, toGatewayError(error, log));
  });
  return app;
}

/** A charset parameter other than UTF-8 gets 415 before the body is read; none means UTF-8. */
function utf8Only(request: Request, response: Response, next: NextFunction): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers["content-type"] ?? "")?.[1];
  if (charset === undefined || /^utf-?8$/i.test(charset)) return next();
  response.setHeader("Connection", "close");
  sendError(
    response,
    new GatewayError("unsupported_media_type", {
      message: "Send the request body as application/json in UTF-8 (charset=utf-8, or no charset).",
    }),
  );
}

function toGatewayError(error: unknown, log: Logger): GatewayError {
  if (error instanceof GatewayError) return error;
  const type = (error as { type?: string }).type;
  switch (type) {
    case invalidUtf8Type:
      return new GatewayError("invalid_json", { message: (error as Error).message });
    case tooDeepType:
      return new GatewayError("invalid_request", { message: (error as Error).message });
    case tooManyValuesType:
      return new GatewayError("request_too_large", { message: (error as Error).message });
    case "entity.parse.failed":
      return new GatewayError("invalid_json", {
        message: `The request body is not valid JSON: ${(error as Error).message}`,
      });
    case "entity.too.large":
      return new GatewayError("request_too_large", {
        message: `The request body is larger than ${(error as { limit?: number }).limit ?? "the configured"} bytes (BODY_LIMIT_BYTES).`,
      });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new GatewayError("unsupported_media_type", { message: (error as Error).message });
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return new GatewayError("invalid_request", { message: (error as Error).message });
    default: {
      // A body that could not be decompressed (Content-Encoding: gzip, deflate, br, zstd) or read:
      // the client's fault, answered 400 without the decompressor's own words.
      const code = String((error as { code?: unknown }).code ?? "");
      if (code.startsWith("Z_") || code.startsWith("ERR_ZSTD") || code.startsWith("ERR__ERROR_FORMAT"))
        return new GatewayError("invalid_request", {
          message: "The request body could not be decompressed: it does not match its Content-Encoding.",
        });
      const status = (error as { status?: unknown }).status;
      if (typeof status === "number" && status >= 400 && status < 500)
        return new GatewayError("invalid_request", { message: "The request body could not be read." });
      log.error("unhandled error", { error });
      return new GatewayError("internal_error");
    }
  }
}
