// Percentile summaries for the benchmark. A percentile is the sample at that rank (no interpolation),
// so p99 of 100 samples is the 99th slowest: honest about the tail of small runs.
export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** Gateway minus direct, percentile by percentile: the time Switchboard adds. */
export function added(gateway: Summary, direct: Summary): Omit<Summary, "count" | "max"> {
  return { p50: gateway.p50 - direct.p50, p90: gateway.p90 - direct.p90, p99: gateway.p99 - direct.p99 };
}
