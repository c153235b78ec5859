// Starts OpenTelemetry tracing for one service process, configured only by the standard OTEL_*
// variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
// OTEL_TRACES_SAMPLER(_ARG), OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*, OTEL_SDK_DISABLED,
// OTEL_TRACES_EXPORTER). Tracing is on only when an exporter is configured: an OTLP endpoint, or
// an explicit OTEL_TRACES_EXPORTER. Spans leave in background batches, so a collector that is down
// or absent costs nothing on the request path; shutdown waits for the last batch at most briefly.
//
// No auto-instrumentation is loaded: the spans are the gateway's own (see tracing.ts), which works
// the same under ESM, type stripping and vitest, and keeps Redis commands and tokens out of traces.
import { context, propagation, trace } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { setTracingEnabled } from "./tracing.ts";

export interface Telemetry {
  tracing: boolean;
  /** Flush and stop; resolves within timeoutMs even if the collector does not answer. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Reads process.env, as the OpenTelemetry SDK itself does. */
export function startTelemetry(service: string): Telemetry {
  const env = process.env;
  if (!tracingConfigured(env)) return { tracing: false, shutdown: async () => {} };
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME (read by the env detector) wins over this default.
    serviceName: env.OTEL_SERVICE_NAME ?? service,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  setTracingEnabled(true);
  return {
    tracing: true,
    async shutdown(timeoutMs = 2000) {
      setTracingEnabled(false);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        sdk.shutdown().catch(() => {}),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
      // Unregister, so a later startTelemetry in the same process starts clean.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Is there anywhere to send spans? Exported for the configuration docs' tests. */
export function tracingConfigured(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (exporters[0] === "none") return false;
  if (exporters.length > 0) return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}
