// Recent first-token times per upstream target (provider and model), in this worker: the adaptive
// hedge delay is a percentile of them. A call that lost a hedge race never showed its first token;
// its time until it was closed is kept as a sample all the same (a lower bound), or the slow calls
// that get hedged would vanish from the window and the delay would sink to its minimum.
import type { Hedge } from "@switchboard/config";

/** Samples kept per target. */
const windowSize = 100;
/** Fewer samples than this: the route's fixed delay (afterMs, else maxMs) is used. */
export const minSamples = 10;

export class FirstTokenTimes {
  private readonly samples = new Map<string, number[]>();

  record(targetKey: string, ms: number): void {
    let window = this.samples.get(targetKey);
    if (!window) {
      window = [];
      this.samples.set(targetKey, window);
    }
    window.push(ms);
    if (window.length > windowSize) window.shift();
  }

  /** The p-th percentile (nearest rank) of a target's samples, or undefined with too few. */
  percentile(targetKey: string, p: number): number | undefined {
    const window = this.samples.get(targetKey);
    if (!window || window.length < minSamples) return undefined;
    const sorted = [...window].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  }

  /** The hedge delay for a call to this target under the route's hedge settings. */
  hedgeDelayMs(targetKey: string, hedge: Hedge): number {
    const { adaptive } = hedge;
    if (!adaptive) return hedge.afterMs ?? 0;
    const observed = this.percentile(targetKey, adaptive.percentile);
    if (observed === undefined) return hedge.afterMs ?? adaptive.maxMs;
    return Math.min(adaptive.maxMs, Math.max(adaptive.minMs, Math.round(observed)));
  }
}
