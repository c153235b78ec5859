import { afterEach, describe, expect, it } from "vitest";
import { LoopStallWatch } from "./loop-stall.ts";

let watch: LoopStallWatch | undefined;
afterEach(() => watch?.close());

/** Resolves after the watch's heartbeat has had the chance to run (two timer turns). */
const heartbeat = () => new Promise((resolve) => setTimeout(resolve, 45));

describe("LoopStallWatch", () => {
  it("reports no stall while the loop turns freely", async () => {
    watch = new LoopStallWatch(250);
    const since = watch.now();
    await heartbeat();
    expect(watch.stalledSince(since)).toBe(false);
  });

  it("reports a stall that happened since a time, during and after it, but not for a later time", async () => {
    watch = new LoopStallWatch(250);
    const before = watch.now();
    await heartbeat();
    const blockedUntil = performance.now() + 400;
    while (performance.now() < blockedUntil) {
      // a synchronous burst of work: the loop cannot turn
    }
    expect(watch.stalledSince(before)).toBe(true); // in the stall: no heartbeat yet
    await heartbeat();
    expect(watch.stalledSince(before)).toBe(true); // the stall ended after `before`
    const after = watch.now();
    await heartbeat();
    expect(watch.stalledSince(after)).toBe(false);
  });
});
