// @switchboard/telemetry: logs, traces and metrics through one seam.
export { createLogger, type LogFields, type LogLevel, type Logger } from "./logger.ts";
export { startTelemetry, tracingConfigured, type Telemetry } from "./start-telemetry.ts";
export {
  SpanKind,
  SpanStatusCode,
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
  type CallerTraceContext,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
} from "./tracing.ts";
export { createMetrics, type Meter, type Metrics } from "./metrics.ts";
export { attributeNames, durationBucketsSeconds, eventNames, metricNames, tokenBuckets } from "./attribute-names.ts";
