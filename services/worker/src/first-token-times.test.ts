// The adaptive hedge delay follows a target's recent first-token times (a percentile, clamped),
// falls back to the fixed delay until there are enough samples, and what counts as an answer.
import { describe, expect, it } from "vitest";
import { Hedge } from "@switchboard/config";
import { FirstTokenTimes, minSamples } from "./first-token-times.ts";
import { isUseful } from "./upstream-attempt.ts";

const adaptive = Hedge.parse({ afterMs: 400, adaptive: { percentile: 90, minMs: 100, maxMs: 1500 } });

describe("FirstTokenTimes.hedgeDelayMs", () => {
  it("uses the fixed delay of a route without adaptive", () => {
    expect(new FirstTokenTimes().hedgeDelayMs("a/m", Hedge.parse({ afterMs: 250 }))).toBe(250);
  });

  it("uses afterMs, else maxMs, until the target has enough samples", () => {
    const times = new FirstTokenTimes();
    for (let sample = 1; sample < minSamples; sample++) times.record("a/m", 200);
    expect(times.hedgeDelayMs("a/m", adaptive)).toBe(400);
    expect(times.hedgeDelayMs("a/m", Hedge.parse({ adaptive: { maxMs: 900 } }))).toBe(900);
  });

  it("follows the percentile as the target's first-token time changes, within minMs and maxMs", () => {
    const times = new FirstTokenTimes();
    for (let sample = 0; sample < 100; sample++) times.record("a/m", 200 + (sample % 10));
    expect(times.hedgeDelayMs("a/m", adaptive)).toBe(208);
    // The target slows down: the window fills with the new times, and the delay follows.
    for (let sample = 0; sample < 100; sample++) times.record("a/m", 800 + (sample % 10));
    expect(times.hedgeDelayMs("a/m", adaptive)).toBe(808);
    for (let sample = 0; sample < 100; sample++) times.record("a/m", 5000);
    expect(times.hedgeDelayMs("a/m", adaptive)).toBe(1500);
    for (let sample = 0; sample < 100; sample++) times.record("a/m", 10);
    expect(times.hedgeDelayMs("a/m", adaptive)).toBe(100);
    // Another target has its own window.
    expect(times.hedgeDelayMs("b/m", adaptive)).toBe(400);
  });
});

describe("isUseful", () => {
  it("counts text, a refusal or a tool call; not role-only, empty, reasoning or missing deltas", () => {
    expect(isUseful({ content: "Hi" })).toBe(true);
    expect(isUseful({ refusal: "No." })).toBe(true);
    expect(isUseful({ tool_calls: [{ index: 0, function: { name: "f" } }] })).toBe(true);
    expect(isUseful({ content: "" })).toBe(false);
    expect(isUseful({ content: null, tool_calls: [] })).toBe(false);
    expect(isUseful({ reasoning_content: "thinking" })).toBe(false);
    expect(isUseful(undefined)).toBe(false);
  });
});
