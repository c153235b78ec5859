// The shared target health as this worker last read it, on /metrics: per target, the breaker's
// state (0 closed, 1 half-open, 2 open), the first-token estimate and the error rate. Gauges read
// at each scrape from the local copy (target-health.ts); a scrape never reaches Redis.
import { attributeNames, metricNames, type Meter } from "@switchboard/telemetry";
import type { BreakerState, TargetHealth } from "./target-health.ts";

const stateValues: Record<BreakerState, number> = { closed: 0, "half-open": 1, open: 2 };

export function observeTargetHealth(meter: Meter, health: TargetHealth): void {
  const state = meter.createObservableGauge(metricNames.targetBreakerState, {
    description: "Each upstream target's circuit breaker, shared by the workers: 0 closed, 1 half-open, 2 open.",
  });
  const firstToken = meter.createObservableGauge(metricNames.targetFirstTokenEstimate, {
    description: "Each upstream target's moving estimate (EWMA) of its first-token time, shared by the workers.",
    unit: "s",
  });
  const errorRate = meter.createObservableGauge(metricNames.targetErrorRate, {
    description: "Each upstream target's moving estimate (EWMA) of the share of its calls that fail.",
  });
  state.addCallback((result) => {
    for (const [target, snapshot] of health.snapshots())
      result.observe(stateValues[snapshot.state], { [attributeNames.target]: target });
  });
  firstToken.addCallback((result) => {
    for (const [target, snapshot] of health.snapshots())
      if (snapshot.firstTokenMs !== undefined)
        result.observe(snapshot.firstTokenMs / 1000, { [attributeNames.target]: target });
  });
  errorRate.addCallback((result) => {
    for (const [target, snapshot] of health.snapshots())
      result.observe(snapshot.errorRate, { [attributeNames.target]: target });
  });
}
