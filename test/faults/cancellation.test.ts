// Client disconnects (behaviour; the figures come from `npm run faults`): cancelled streams
// close their upstream call, and cancelled queued requests never reach the upstream.
import { describe, expect, it } from "vitest";
import { measureActiveCancellation, measureQueuedCancellation } from "./scenarios/cancellation.ts";

describe("client disconnect", () => {
  it("closes the upstream call of every cancelled stream", async () => {
    const figures = await measureActiveCancellation(40);
    expect(figures.upstreamLeftOpen).toBe(0);
    expect(figures.notClosed).toBe(0);
    expect(figures.closeLatency.n + figures.finishedFirst).toBe(40);
  }, 60_000);

  it("closes them too when every stream is cancelled after all are streaming", async () => {
    const figures = await measureActiveCancellation(20, "all-streaming");
    expect(figures.outcomes).toEqual({ aborted: 20 });
    expect(figures.upstreamLeftOpen).toBe(0);
    expect(figures.notClosed).toBe(0);
    expect(figures.closeLatency.n).toBe(20);
  }, 60_000);

  it("never calls the upstream for requests cancelled while queued", async () => {
    const figures = await measureQueuedCancellation(10);
    expect(figures.upstreamCalls).toBe(0);
  }, 60_000);
});
