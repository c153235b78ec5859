// Graceful shutdown past its grace: nothing is dropped silently. (Shutdown within the
// grace, under load, is the rolling-restart test.)
import { describe, expect, it } from "vitest";
import { measureGracefulShutdown } from "./scenarios/graceful-shutdown.ts";

describe("graceful shutdown past the grace", () => {
  it("hands back unstarted jobs, ends streaming ones explicitly, and refuses new requests while stopping", async () => {
    const figures = await measureGracefulShutdown(5);
    expect(figures.workerHandedBack).toEqual({ "completed (3 tokens)": 5 });
    expect(figures.workerStreaming).toEqual({ "stream-error:shutting_down": 5 });
    expect(figures.ingressNewRequest).toBe("http-error:shutting_down");
    expect(figures.ingressReadyStatus).toBe(503);
    expect(figures.ingressStreaming).toEqual({ "stream-error:shutting_down": 5 });
  }, 60_000);
});
