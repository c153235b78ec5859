// @switchboard/telemetry: logs, traces and metrics through one seam.
export { abandonStandardOutput, createLogger, type Logger } from "./logger.ts";
export { startTelemetry } from "./start-telemetry.ts";
export {
  SpanKind,
  callerTraceContext,
  contextWithSpan,
  extractTraceContext,
  injectTraceContext,
  isTracingEnabled,
  markFailed,
  startSpan,
  traceIdsOf,
  traceSpan,
  withSpan,
  withoutTracing,
  type Attributes,
  type Context,
  type Span,
} from "./tracing.ts";
export {
  createMetrics,
  type Counter,
  type Histogram,
  type Meter,
  type Metrics,
  type UpDownCounter,
} from "./metrics.ts";
export { metricsAuthorizer } from "./metrics-token.ts";
export { attributeNames, durationBucketsSeconds, eventNames, metricNames, tokenBuckets } from "./attribute-names.ts";
