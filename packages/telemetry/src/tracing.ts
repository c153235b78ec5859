// The tracing seam: every span the gateway makes goes through here. When tracing is off (no
// exporter configured, OTEL_SDK_DISABLED, or OTEL_TRACES_EXPORTER=none) every helper returns at
// once with a shared no-op span: no allocation, no context switch, no attribute work.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";

export { SpanKind, type Attributes, type Context, type Span };

const tracerName = "switchboard";
const noopSpan: Span = trace.wrapSpanContext({
  traceId: "00000000000000000000000000000000",
  spanId: "0000000000000000",
  traceFlags: 0,
});
let enabled = false;

/** Called by startTelemetry once a tracer provider is registered. */
export function setTracingEnabled(value: boolean): void {
  enabled = value;
}

export function isTracingEnabled(): boolean {
  return enabled;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; default: the active one. */
  parent?: Context;
  links?: Link[];
  startTime?: number;
}

/** Start a span (remember to end it). A shared no-op span when tracing is off. */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  if (!enabled) return noopSpan;
  const { parent, ...spanOptions } = options;
  return trace.getTracer(tracerName).startSpan(name, spanOptions, parent ?? context.active());
}

/**
 * Run fn inside a new span that ends when fn settles; a thrown error marks it failed. The usual
 * way to trace a block of work: `await traceSpan("name", { kind }, (span) => work(span))`.
 */
export async function traceSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!enabled) return fn(noopSpan);
  const span = startSpan(name, options);
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), () => fn(span));
  } catch (error) {
    markFailed(span, (error as { code?: string }).code ?? (error as Error).name ?? "Error", (error as Error).message);
    throw error;
  } finally {
    span.end();
  }
}

/** Run fn with span as the active span (so logs and child spans see it). */
export function withSpan<T>(span: Span, fn: () => T): T {
  if (!enabled) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** The active context with span set in it: the explicit parent for child spans started later. */
export function contextWithSpan(span: Span): Context {
  if (!enabled) return ROOT_CONTEXT;
  return trace.setSpan(context.active(), span);
}

/** Run fn with tracing suppressed: for the per-token Redis writes, which must never become spans. */
export function withoutTracing<T>(fn: () => T): T {
  if (!enabled) return fn();
  return context.with(suppressTracing(context.active()), fn);
}

/** Mark a span as failed with a gateway error code (error.type) and a short description. */
export function markFailed(span: Span, code: string, description?: string): void {
  if (!span.isRecording()) return;
  span.setAttribute("error.type", code);
  span.setAttribute("switchboard.error.code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: description ?? code });
}

/** The W3C trace context of the active span (or of `from`), to carry inside a job. */
export function injectTraceContext(from?: Context): Record<string, string> | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(from ?? context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** The context a job (or an HTTP request's headers) carried; a root context when it carried none. */
export function extractTraceContext(carrier: Record<string, string | string[] | undefined> | undefined): Context {
  if (!enabled || !carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** Where a span serving an outside caller starts: its parent context and links. */
export interface CallerTraceContext {
  parent: Context;
  links: Link[];
}

/**
 * The parent of a span that serves an outside caller (the ingress's SERVER span), from the
 * caller's headers. By default the caller's context is only a link: the span starts a new trace,
 * so the configured sampler decides as for any root and a caller cannot switch sampling on (or
 * off) with its traceparent's flag, nor pick the trace id that traceidratio samples by. The link
 * keeps the caller's trace and span ids (not its tracestate), so the two traces lead to each other.
 * trustCaller: join the caller's trace as its child instead (a parentbased_* sampler then follows
 * the caller's flag) — for callers the operator trusts.
 */
export function callerTraceContext(
  headers: Record<string, string | string[] | undefined>,
  trustCaller: boolean,
): CallerTraceContext {
  if (!enabled) return { parent: ROOT_CONTEXT, links: [] };
  const callerContext = propagation.extract(ROOT_CONTEXT, headers);
  if (trustCaller) return { parent: callerContext, links: [] };
  const caller = trace.getSpanContext(callerContext);
  if (!caller || !isSpanContextValid(caller)) return { parent: ROOT_CONTEXT, links: [] };
  return {
    parent: ROOT_CONTEXT,
    links: [
      { context: { traceId: caller.traceId, spanId: caller.spanId, traceFlags: caller.traceFlags, isRemote: true } },
    ],
  };
}

/** trace_id and span_id of the active span, for log lines; undefined outside any sampled span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined;
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return traceId === "00000000000000000000000000000000" ? undefined : { trace_id: traceId, span_id: spanId };
}

/** trace_id and span_id of a given span, for a logger child bound to it. */
export function traceIdsOf(span: Span): { trace_id: string; span_id: string } | Record<string, never> {
  if (!enabled || !span.isRecording()) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
