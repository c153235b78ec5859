// Prometheus names for OpenTelemetry instruments. The instruments keep their OpenTelemetry names and
// UCUM units (`gen_ai.server.request.duration`, unit `s`); on the way out to Prometheus the unit
// becomes a name suffix (`gen_ai_server_request_duration_seconds`), as Prometheus' naming
// conventions and OpenTelemetry's "Prometheus and OpenMetrics compatibility" rules ask. The
// exporter (@opentelemetry/exporter-prometheus 0.301) turns dots into underscores and adds `_total`
// to counters, but does not add unit suffixes, so this does it first.
import type { MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics";

/** OpenTelemetry (UCUM) unit -> the Prometheus base-unit word used as the name's suffix. */
const unitSuffixes: Record<string, string> = { s: "seconds", ms: "milliseconds", By: "bytes" };

/** The metric as Prometheus should see it: unit suffix on the name, annotation units (`{job}`) dropped. */
function withPrometheusName(metric: MetricData): MetricData {
  const { name, unit } = metric.descriptor;
  const suffix = unitSuffixes[unit];
  if (suffix !== undefined) {
    const named = name.endsWith(`_${suffix}`) || name.endsWith(`.${suffix}`) ? name : `${name}_${suffix}`;
    return { ...metric, descriptor: { ...metric.descriptor, name: named, unit: suffix } };
  }
  // `{request}`, `{token}`: counted things, not units; OpenMetrics would require them as a suffix.
  if (/^\{[^}]*\}$/.test(unit)) return { ...metric, descriptor: { ...metric.descriptor, unit: "" } };
  return metric;
}

export function withPrometheusNames(resourceMetrics: ResourceMetrics): ResourceMetrics {
  return {
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map(withPrometheusName),
    })),
  };
}
