// When memory may answer for Redis's cancel flag, and when it must not.
import { describe, expect, it } from "vitest";
import { RecentCancels } from "./recent-cancels.ts";

describe("RecentCancels", () => {
  it("cannot tell anything before the subscription is live", () => {
    expect(new RecentCancels(1000).knows("a", Date.now(), 1)).toBeUndefined();
  });

  it("answers for first attempts of jobs enqueued while it listened", () => {
    const cancels = new RecentCancels(60_000);
    cancels.listening(10_000);
    cancels.add("gone", 20_000);
    expect(cancels.knows("gone", 15_000, 1)).toBe(true);
    expect(cancels.knows("live", 15_000, 1)).toBe(false);
    // Older than the subscription (within the clock slack), or a later attempt: ask Redis.
    expect(cancels.knows("live", 10_500, 1)).toBeUndefined();
    expect(cancels.knows("live", 15_000, 2)).toBeUndefined();
  });

  it("forgets cancels older than keepMs", () => {
    const cancels = new RecentCancels(1000);
    cancels.listening(0);
    cancels.add("old", 5000);
    cancels.add("new", 7000);
    expect(cancels.knows("old", 6000, 1)).toBe(false);
    expect(cancels.knows("new", 6000, 1)).toBe(true);
  });
});
