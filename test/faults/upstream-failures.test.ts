// Upstream failures (behaviour; the figures come from `npm run faults`): each upstream failure
// ends the documented way, at the documented upstream cost.
import { describe, expect, it } from "vitest";
import { failureCases, measureUpstreamFailures } from "./scenarios/upstream-failures.ts";

describe("upstream failures", () => {
  it("retries, falls back, or ends explicitly, as documented for each failure", async () => {
    const figures = await measureUpstreamFailures(2);
    expect(figures.map((entry) => ({ name: entry.name, outcomes: entry.outcomes, calls: entry.calls }))).toEqual(
      failureCases.map((failure) => ({
        name: failure.name,
        outcomes: { [failure.expected]: 2 },
        calls: [failure.expectedCalls],
      })),
    );
  }, 90_000);
});
