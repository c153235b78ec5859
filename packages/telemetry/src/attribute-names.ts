// The one list of span/metric attribute names and metric names the gateway uses. The OpenTelemetry
// GenAI conventions moved out of @opentelemetry/semantic-conventions (its ATTR_GEN_AI_* constants
// are deprecated), so the names are owned here; where no convention exists, the name is ours
// (`switchboard.*`). Durations are in seconds, as OpenTelemetry asks.

/** Attribute names on spans and metric points. */
export const attributeNames = {
  // GenAI semantic conventions (Development status).
  genAiOperationName: "gen_ai.operation.name",
  genAiProviderName: "gen_ai.provider.name",
  genAiRequestModel: "gen_ai.request.model",
  genAiRequestStream: "gen_ai.request.stream",
  genAiResponseModel: "gen_ai.response.model",
  genAiUsageInputTokens: "gen_ai.usage.input_tokens",
  genAiUsageOutputTokens: "gen_ai.usage.output_tokens",
  genAiResponseFinishReasons: "gen_ai.response.finish_reasons",
  genAiResponseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  genAiTokenType: "gen_ai.token.type",
  /** Opt-in only (SWITCHBOARD_CAPTURE_CONTENT): message content. */
  genAiInputMessages: "gen_ai.input.messages",
  genAiOutputMessages: "gen_ai.output.messages",
  // General conventions.
  errorType: "error.type",
  httpRequestMethod: "http.request.method",
  httpRoute: "http.route",
  httpResponseStatusCode: "http.response.status_code",
  urlPath: "url.path",
  messagingSystem: "messaging.system",
  messagingOperationName: "messaging.operation.name",
  messagingOperationType: "messaging.operation.type",
  messagingDestinationName: "messaging.destination.name",
  messagingMessageId: "messaging.message.id",
  // The gateway's own.
  requestId: "switchboard.request_id",
  /** The caller's own x-request-id header (length- and charset-limited), next to the gateway's id. */
  callerRequestId: "switchboard.caller_request_id",
  /** Seconds between the ingress enqueueing the job and a worker starting it. */
  queueWait: "switchboard.queue.wait",
  queueState: "switchboard.queue.state",
  /** Seconds from receiving the request (ingress) to the first token relayed to the client. */
  timeToFirstToken: "switchboard.time_to_first_token",
  /** Deltas relayed (ingress: written to the client; worker: received from the upstream). */
  chunkCount: "switchboard.chunk.count",
  cancelled: "switchboard.cancelled",
  /** Why a request was refused authentication: missing or invalid. */
  authenticationReason: "switchboard.authentication.reason",
  cancelReason: "switchboard.cancel.reason",
  /** Why the ingress closed a client connection: limit, write_timeout, idle_timeout, dropped. */
  connectionCloseReason: "switchboard.connection.close_reason",
  /** BullMQ's attempt number of the job (1 unless a worker died holding it). */
  attempt: "switchboard.attempt",
  /** 0 for the route's first target, 1 for its first fallback, … */
  fallbackIndex: "switchboard.fallback.index",
  /** 0 for a target's first call, 1 for its first retry (UPSTREAM_RETRIES), … */
  upstreamRetry: "switchboard.upstream.retry",
  /** What a failed upstream call's provider said, scrubbed of secrets (never sent to clients). */
  upstreamErrorMessage: "switchboard.upstream.error_message",
  /** The gateway error code the request or call ended with (error.type carries the same value). */
  errorCode: "switchboard.error.code",
  /** The routing table's provider key (e.g. "primary"), next to the GenAI provider name. */
  provider: "switchboard.provider",
  outcome: "switchboard.outcome",
  /** The conversation a request is a turn of (GenAI conventions). */
  genAiConversationId: "gen_ai.conversation.id",
  /** A newer turn of the same conversation replaced this request. */
  superseded: "switchboard.superseded",
  /** The routing table's key that served a request: a model id it lists, or "*" (pass-through). */
  route: "switchboard.route",
  /** The upstream model of that route's first target: its configured model, else the route's key. */
  routeModel: "switchboard.route.model",
  stream: "switchboard.stream",
  /** The upstream call is a hedge: started because the route's previous target was slow to its first token. */
  upstreamHedge: "switchboard.upstream.hedge",
  /** How a hedged request's call fared: won (its answer was relayed) or lost (closed unheard). */
  hedgeOutcome: "switchboard.hedge.outcome",
  /** Which call of a hedged request won: primary (the target hedged against) or hedge. */
  hedgeRole: "switchboard.hedge.role",
  /** An upstream target of the routing table: `<provider key>/<model>`. */
  target: "switchboard.target",
} as const;

/** Span event names. */
export const eventNames = {
  firstChunk: "switchboard.first_chunk",
  fallback: "switchboard.fallback",
  cancelled: "switchboard.cancelled",
} as const;

/** Metric names (OpenTelemetry style; the Prometheus exporter turns dots into underscores). */
export const metricNames = {
  serverTimeToFirstToken: "gen_ai.server.time_to_first_token",
  serverRequestDuration: "gen_ai.server.request.duration",
  clientOperationDuration: "gen_ai.client.operation.duration",
  clientTimeToFirstChunk: "gen_ai.client.operation.time_to_first_chunk",
  clientTokenUsage: "gen_ai.client.token.usage",
  queueWait: "switchboard.queue.wait",
  queueDepth: "switchboard.queue.depth",
  activeStreams: "switchboard.streams.active",
  activeJobs: "switchboard.jobs.active",
  cancellations: "switchboard.cancellations",
  errors: "switchboard.errors",
  authenticationFailures: "switchboard.authentication.failures",
  openConnections: "switchboard.connections.open",
  closedConnections: "switchboard.connections.closed",
  fallbacks: "switchboard.fallbacks",
  retries: "switchboard.retries",
  superseded: "switchboard.superseded",
  hedgesStarted: "switchboard.hedges.started",
  hedgeWins: "switchboard.hedges.wins",
  hedgeBudgetRefusals: "switchboard.hedges.budget_refusals",
  targetBreakerState: "switchboard.target.breaker_state",
  targetFirstTokenEstimate: "switchboard.target.first_token_estimate",
  targetErrorRate: "switchboard.target.error_rate",
} as const;

/** Histogram buckets in seconds: the GenAI recommendation (0.01 … 81.92) plus finer low ones. */
export const durationBucketsSeconds = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** Token-count buckets recommended by the GenAI conventions. */
export const tokenBuckets = [
  1, 4, 16, 64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
];
