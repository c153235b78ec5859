// The worker's metrics: how long jobs waited in the queue, how the upstreams behave per provider
// (latency, time to first chunk, tokens in and out, errors by code), fallbacks, hedges, cancellations
// and jobs in flight. Attributes stay low-cardinality: provider names and codes, never model ids.
import {
  durationBucketsSeconds,
  metricNames,
  tokenBuckets,
  type Counter,
  type Histogram,
  type Meter,
  type UpDownCounter,
} from "@switchboard/telemetry";

export interface WorkerMetrics {
  queueWait: Histogram;
  operationDuration: Histogram;
  timeToFirstChunk: Histogram;
  tokenUsage: Histogram;
  activeJobs: UpDownCounter;
  cancellations: Counter;
  errors: Counter;
  fallbacks: Counter;
  retries: Counter;
  hedgesStarted: Counter;
  hedgeWins: Counter;
  hedgeBudgetRefusals: Counter;
}

export function createWorkerMetrics(meter: Meter): WorkerMetrics {
  const advice = { explicitBucketBoundaries: durationBucketsSeconds };
  return {
    queueWait: meter.createHistogram(metricNames.queueWait, {
      description: "From the ingress enqueueing a chat job to a worker starting it.",
      unit: "s",
      advice,
    }),
    operationDuration: meter.createHistogram(metricNames.clientOperationDuration, {
      description: "Upstream chat call duration, by provider and outcome.",
      unit: "s",
      advice,
    }),
    timeToFirstChunk: meter.createHistogram(metricNames.clientTimeToFirstChunk, {
      description: "From starting the upstream call to its first chunk, by provider.",
      unit: "s",
      advice,
    }),
    tokenUsage: meter.createHistogram(metricNames.clientTokenUsage, {
      description: "Tokens per upstream call, by gen_ai.token.type (input, output).",
      unit: "{token}",
      advice: { explicitBucketBoundaries: tokenBuckets },
    }),
    activeJobs: meter.createUpDownCounter(metricNames.activeJobs, {
      description: "Chat jobs this worker is running right now.",
      unit: "{job}",
    }),
    cancellations: meter.createCounter(metricNames.cancellations, {
      description: "Chat jobs stopped early because nobody listens any more, by reason.",
      unit: "{job}",
    }),
    errors: meter.createCounter(metricNames.errors, {
      description: "Chat jobs that ended with a gateway error, by code (error.type).",
      unit: "{job}",
    }),
    fallbacks: meter.createCounter(metricNames.fallbacks, {
      description: "Upstream calls that failed over to the route's next target, by provider and code.",
      unit: "{call}",
    }),
    retries: meter.createCounter(metricNames.retries, {
      description:
        "Upstream calls that failed before the first token and are tried again on the same target (UPSTREAM_RETRIES), by provider and code.",
      unit: "{call}",
    }),
    hedgesStarted: meter.createCounter(metricNames.hedgesStarted, {
      description:
        "Hedged calls started because the route's target had sent no useful token after the hedge delay, by the hedged target's provider.",
      unit: "{call}",
    }),
    hedgeWins: meter.createCounter(metricNames.hedgeWins, {
      description: "Hedged requests by the target whose first useful token won (provider, role: primary or hedge).",
      unit: "{request}",
    }),
    hedgeBudgetRefusals: meter.createCounter(metricNames.hedgeBudgetRefusals, {
      description:
        "Hedges not started because the route's hedge budget (budgetPercent, across workers) was spent, by provider.",
      unit: "{request}",
    }),
  };
}
