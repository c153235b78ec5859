// The telemetry seam: when tracing is on and off, what a job carries, what log lines carry, and
// that an absent collector never breaks or blocks the process.
import { createServer } from "node:http";
import { once } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startTelemetry, tracingConfigured, type Telemetry } from "./start-telemetry.ts";
import { createLogger } from "./logger.ts";
import {
  SpanKind,
  extractTraceContext,
  injectTraceContext,
  isTracingEnabled,
  startSpan,
  traceSpan,
  withSpan,
  withoutTracing,
} from "./tracing.ts";

let telemetry: Telemetry | undefined;

/** The SDK reads process.env itself: set exactly these OTEL_* variables for one test. */
function stubEnv(variables: Record<string, string>): void {
  for (const name of Object.keys(process.env)) if (name.startsWith("OTEL_")) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);
}
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("tracingConfigured", () => {
  it("is on only when there is somewhere to send spans", () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318" })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://jaeger:4318/v1/traces" })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: "console" })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318", OTEL_TRACES_EXPORTER: "none" })).toBe(
      false,
    );
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318", OTEL_SDK_DISABLED: "true" })).toBe(
      false,
    );
  });
});

describe("tracing off", () => {
  it("hands out a shared no-op span and carries no context", async () => {
    stubEnv({});
    telemetry = startTelemetry("test");
    expect(telemetry.tracing).toBe(false);
    expect(isTracingEnabled()).toBe(false);
    const span = startSpan("anything", { kind: SpanKind.SERVER });
    expect(span.isRecording()).toBe(false);
    expect(startSpan("other")).toBe(span);
    expect(injectTraceContext()).toBeUndefined();
    expect(await traceSpan("work", {}, async (inner) => (inner === span ? "noop" : "real"))).toBe("noop");
    expect(withoutTracing(() => 42)).toBe(42);
  });
});

describe("tracing on", () => {
  it("keeps working when no collector listens, and shuts down within its deadline", async () => {
    // A port nothing listens on: every export fails; nothing may throw or hang.
    const probe = createServer();
    probe.listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as { port: number }).port;
    probe.close();
    stubEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: "1" });
    telemetry = startTelemetry("test");
    expect(telemetry.tracing).toBe(true);
    for (let index = 0; index < 50; index++) startSpan(`span ${index}`).end();
    const startedAt = performance.now();
    await telemetry.shutdown(500);
    telemetry = undefined;
    expect(performance.now() - startedAt).toBeLessThan(2000);
  });

  it("follows OTEL_TRACES_SAMPLER: always_off records nothing but still carries the context", async () => {
    stubEnv({ OTEL_TRACES_EXPORTER: "console", OTEL_TRACES_SAMPLER: "always_off" });
    telemetry = startTelemetry("test");
    const span = startSpan("not sampled", { kind: SpanKind.SERVER });
    expect(span.isRecording()).toBe(false);
    expect(withSpan(span, () => injectTraceContext())?.traceparent).toMatch(/-00$/);
  });

  it("carries the context through a job's carrier and stamps log lines with trace and span ids", async () => {
    // The console exporter prints only ended spans; these are never ended.
    stubEnv({ OTEL_TRACES_EXPORTER: "console" });
    telemetry = startTelemetry("test");
    const lines: string[] = [];
    const producer = startSpan("send chat", { kind: SpanKind.PRODUCER });
    const carrier = withSpan(producer, () => injectTraceContext());
    expect(carrier?.traceparent).toMatch(
      new RegExp(`^00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01$`),
    );
    const consumer = startSpan("process chat", { kind: SpanKind.CONSUMER, parent: extractTraceContext(carrier) });
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);

    const log = createLogger("test", "info", {}, { write: (line) => void lines.push(line) });
    withSpan(consumer, () => log.info("inside"));
    log.info("outside");
    const [inside, outside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(inside).toMatchObject({
      msg: "inside",
      trace_id: consumer.spanContext().traceId,
      span_id: consumer.spanContext().spanId,
    });
    expect(outside!.trace_id).toBeUndefined();
  });
});
