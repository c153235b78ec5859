// Rolling restart (behaviour; the figures come from `npm run faults`): replacing every worker
// and every ingress with SIGTERM under load loses nothing and leaves nothing hanging.
import { describe, expect, it } from "vitest";
import { measureRollingRestart } from "./scenarios/rolling-restart.ts";

describe("rolling restart", () => {
  it("replaces every worker and ingress under a streaming load with every request completed", async () => {
    const figures = await measureRollingRestart(40);
    expect(figures.lostOrHung).toBe(0);
    expect(figures.outcomes).toEqual({ completed: figures.requests });
  }, 90_000);
});
