// Process crashes (behaviour; the figures come from `npm run faults`): a killed ingress
// stops its upstream calls; a killed worker's requests complete elsewhere or end with an
// explicit error, and none hangs.
import { describe, expect, it } from "vitest";
import { measureIngressKill } from "./scenarios/ingress-kill.ts";
import { measureWorkerKill } from "./scenarios/worker-kill.ts";

describe("process crashes", () => {
  it("aborts every upstream call of a SIGKILLed ingress, streaming or waiting for its first token", async () => {
    const figures = await measureIngressKill(10);
    expect(figures.stillOpen).toBe(0);
    expect(figures.streamingAbortLatency.n).toBe(5);
    expect(figures.waitingAbortLatency.n).toBe(5);
  }, 60_000);

  it("completes a SIGKILLed worker's unstarted requests on another worker and fails its streaming ones explicitly", async () => {
    const figures = await measureWorkerKill(10);
    expect(figures.beforeFirstToken).toEqual({ completed: 5 });
    expect(figures.afterFirstToken).toEqual({ "stream-error:upstream_interrupted": 5 });
    expect(figures.hung).toBe(0);
  }, 60_000);
});
