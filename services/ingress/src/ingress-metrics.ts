// The ingress's metrics: what the caller experiences (time to first token, request duration,
// open streams, cancellations, errors by code), the queue depth the workers have to drain, and the
// client connections (open, and closed by the ingress: over the limit, idle, not reading).
// Attributes stay low-cardinality on purpose: no model id a caller sent (a "*" route accepts any
// string); the routing table's own keys and configured models only.
import {
  attributeNames,
  durationBucketsSeconds,
  metricNames,
  type Counter,
  type Histogram,
  type Meter,
  type UpDownCounter,
} from "@switchboard/telemetry";

export interface IngressMetrics {
  timeToFirstToken: Histogram;
  requestDuration: Histogram;
  activeStreams: UpDownCounter;
  cancellations: Counter;
  superseded: Counter;
  errors: Counter;
  authenticationFailures: Counter;
  closedConnections: Counter;
}

/**
 * queueDepth: job counts by state, read from Redis when Prometheus scrapes; openConnections: the
 * client connections open on this ingress now.
 */
export function createIngressMetrics(
  meter: Meter,
  queueDepth: () => Promise<Record<string, number>>,
  openConnections: () => number,
): IngressMetrics {
  const advice = { explicitBucketBoundaries: durationBucketsSeconds };
  meter
    .createObservableGauge(metricNames.openConnections, {
      description: "Client connections open on this ingress.",
      unit: "{connection}",
    })
    .addCallback((result) => result.observe(openConnections()));
  meter
    .createObservableGauge(metricNames.queueDepth, { description: "Chat jobs in the queue, by state.", unit: "{job}" })
    .addCallback(async (result) => {
      try {
        for (const [state, count] of Object.entries(await queueDepth()))
          result.observe(count, { [attributeNames.queueState]: state });
      } catch {
        // Redis unreachable: report nothing rather than a wrong zero.
      }
    });
  return {
    timeToFirstToken: meter.createHistogram(metricNames.serverTimeToFirstToken, {
      description:
        "From receiving a chat request to the first token relayed to the client (queueing plus upstream prefill).",
      unit: "s",
      advice,
    }),
    requestDuration: meter.createHistogram(metricNames.serverRequestDuration, {
      description: "From receiving a chat request to its end, however it ended.",
      unit: "s",
      advice,
    }),
    activeStreams: meter.createUpDownCounter(metricNames.activeStreams, {
      description: "Chat requests open on this ingress right now.",
      unit: "{request}",
    }),
    cancellations: meter.createCounter(metricNames.cancellations, {
      description: "Chat requests the client abandoned before the end.",
      unit: "{request}",
    }),
    superseded: meter.createCounter(metricNames.superseded, {
      description: "Chat requests ended because a newer turn of their conversation arrived (not errors).",
      unit: "{request}",
    }),
    errors: meter.createCounter(metricNames.errors, {
      description: "Chat requests that ended with a gateway error, by code (error.type).",
      unit: "{request}",
    }),
    authenticationFailures: meter.createCounter(metricNames.authenticationFailures, {
      description: "Requests refused for a missing or wrong API key, by reason (missing, invalid).",
      unit: "{request}",
    }),
    closedConnections: meter.createCounter(metricNames.closedConnections, {
      description: "Client connections the ingress closed, by reason (limit, dropped, idle_timeout, write_timeout).",
      unit: "{connection}",
    }),
  };
}
